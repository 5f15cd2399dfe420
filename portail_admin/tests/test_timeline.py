"""Fiche famille: one family's file and timeline, in order, only its own, filterable, paged, with bounded queries."""
import datetime as dt
import html
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portail_admin.extensions import db
from portail_admin.models import (
    Activite,
    Citoyen,
    CompteMetier,
    Courriel,
    Demande,
    Facture,
    Individu,
    Inscription,
    Periode,
    Reglement,
    Structure,
)
from portail_admin.services import famille as famille_service
from portail_admin.services.agents import create_agent

from .conftest import DEMO_PASSWORD

SYNC = dt.datetime(2024, 6, 1, 8, 0)


@pytest.fixture
def agent(app):
    create_agent("agent@demo.fr", DEMO_PASSWORD, role="agent")
    db.session.commit()


def make_famille(code, nom="DUPONT", factures=0, reglements=0, citoyen=True, start=dt.date(2023, 1, 1)):
    """A family account with two members, one registration, a request with its e-mail, and n invoices/payments.

    Invoice k is issued on start + 2k days, payment k on start + 2k + 1 days, so they alternate in time.
    """
    cit = Citoyen(email=f"{code.lower()}@exemple.fr", nom=nom, prenom="Anne") if citoyen else None
    compte = CompteMetier(univers="enfance", emetteur="Divers", code=code, nom=nom, prenom="Anne",
                          email=f"{code.lower()}@exemple.fr", citoyen=cit, synchronise_le=SYNC)
    parent = Individu(reference=f"{code}-1", compte=compte, nom=nom, prenom="Anne", role="responsable",
                      synchronise_le=SYNC)
    enfant = Individu(reference=f"{code}-2", compte=compte, nom=nom, prenom="Léo", role="enfant",
                      synchronise_le=SYNC)
    db.session.add_all([compte, parent, enfant])
    structure = db.session.scalar(sa.select(Structure).where(Structure.reference == "S1"))
    if structure is None:
        structure = Structure(reference="S1", nom="École Jules Ferry")
        activite = Activite(reference="A1", nom="Restauration scolaire", structure=structure)
        periode = Periode(reference="P1", nom="Année 2024", activite=activite, date_debut=dt.date(2024, 1, 8),
                          date_fin=dt.date(2099, 7, 5))
        db.session.add_all([structure, activite, periode])
    periode = db.session.scalar(sa.select(Periode).where(Periode.reference == "P1"))
    db.session.add(Inscription(reference=f"I-{code}", individu=enfant, activite=periode.activite, periode=periode,
                               date_debut=dt.date(2024, 1, 8), date_fin=dt.date(2099, 7, 5)))
    for k in range(factures):
        day = start + dt.timedelta(days=2 * k)
        db.session.add(Facture(numero=f"F-{code}-{k}", numero_ordre=k, compte=compte, date_emission=day,
                               montant=Decimal("10.10"), restant_du=Decimal("10.10") if k % 2 else Decimal("0"),
                               date_depot=day))
    for k in range(reglements):
        day = start + dt.timedelta(days=2 * k + 1)
        db.session.add(Reglement(numero=f"R-{code}-{k}", numero_ordre=k, compte=compte, regle_le=day, mode="cheque",
                                 encaisse=Decimal("10.10"), ventile=Decimal("10.10"), date_depot=day,
                                 payeur=f"Anne {nom}"))
    db.session.flush()
    if cit is not None:
        demande = Demande(reference=f"D-{code}", created_at=dt.datetime(2024, 3, 1, 9, 30), citoyen=cit,
                          compte=compte, email=cit.email, type="contact", etat="a_traiter")
        db.session.add(demande)
        db.session.flush()
        db.session.add(Courriel(created_at=dt.datetime(2024, 3, 1, 9, 31), type="accuse_reception",
                                destinataire=cit.email, sujet=f"Votre demande D-{code} a bien été reçue",
                                corps="...", etat="envoye", demande_id=demande.id, compte_id=compte.id,
                                citoyen_id=cit.id))
    db.session.commit()
    return compte


def rows(page: str) -> list[tuple[str, str, str]]:
    """The timeline's rows: (kind, date cell, title cell text)."""
    found = re.findall(r'<tr class="evenement evenement-(\w+)">\s*<td>([^<]*)</td>\s*<td>[^<]*</td>\s*<td>(.*?)</td>',
                       page, re.S)
    return [(kind, date, html.unescape(re.sub(r"<[^>]+>", "", title)).strip()) for kind, date, title in found]


def moment(cell: str) -> dt.datetime:
    cell = cell.strip()
    return dt.datetime.strptime(cell, "%d/%m/%Y %H:%M" if ":" in cell else "%d/%m/%Y")


def test_timeline_has_every_kind_newest_first_and_only_this_family(client, auth, agent):
    compte = make_famille("FAM1", factures=3, reglements=2)
    make_famille("AUTRE", nom="MARTIN", factures=3, reglements=2)
    auth.login()
    page = client.get(f"/admin/fiche_famille/?compte_id={compte.id}").get_data(as_text=True)
    events = rows(page)
    assert {kind for kind, _, _ in events} == set(famille_service.TYPES)
    dates = [moment(date) for _, date, _ in events]
    assert dates == sorted(dates, reverse=True)
    assert [kind for kind, _, _ in events] == [
        "synchronisations", "synchronisations", "courriels", "demandes", "inscriptions",
        "factures", "reglements", "factures", "reglements", "factures"]
    titles = [title for _, _, title in events]
    assert titles[2:5] == ["Votre demande D-FAM1 a bien été reçue", "Demande D-FAM1 : Nous contacter",
                           "Inscription de Léo DUPONT : Restauration scolaire"]
    assert titles[5:] == ["Facture n° F-FAM1-2", "Règlement n° R-FAM1-1", "Facture n° F-FAM1-1",
                          "Règlement n° R-FAM1-0", "Facture n° F-FAM1-0"]
    # UTC in the database, Paris time on screen.
    assert [date for _, date, _ in events][2:6] == ["01/03/2024 10:31", "01/03/2024 10:30", "08/01/2024",
                                                    "05/01/2023"]
    assert "AUTRE" not in page and "MARTIN" not in page


def test_page_shows_the_family_and_its_summary(client, auth, agent):
    compte = make_famille("FAM1", factures=5, reglements=1)
    auth.login()
    page = html.unescape(client.get(f"/admin/fiche_famille/?compte_id={compte.id}").get_data(as_text=True))
    # Citizen account and status, the family account, its members with roles, the current registration.
    assert "fam1@exemple.fr" in page and "Associé" in page
    assert "FAM1" in page and "DUPONT Anne" in page and "DUPONT Léo" in page
    assert re.search(r"DUPONT Léo</a></td>\s*<td>enfant</td>", page)
    assert re.search(r"Restauration scolaire</td><td>École Jules Ferry</td>\s*<td>Année 2024</td>", page)
    # Invoices 1 and 3 are unpaid: 2 × 10,10 €; one open request; last sync 01/06/2024 08:00 UTC = 10:00 Paris.
    assert re.search(r'class="h5 mb-0 restant-du">20,20\u00a0€<', page)
    assert re.search(r'class="h5 mb-0 demandes-ouvertes">1<', page)
    assert re.search(r'class="h5 mb-0 derniere-synchronisation">01/06/2024 10:00<', page)
    assert "Factures (5)" in page and "Règlements (1)" in page
    # The account and one batch of members: as many as the timeline lists under that kind.
    assert re.search(r"Synchronisations[^(<]* \(2\)", page)


def test_orphan_family_and_other_entry_points(client, auth, agent):
    orphelin = make_famille("ORPH", citoyen=False, factures=1)
    auth.login()
    page = client.get(f"/admin/fiche_famille/?compte_id={orphelin.id}").get_data(as_text=True)
    assert "Aucun compte citoyen" in page and "Orphelin" in page
    compte = make_famille("FAM1", factures=1)
    second = CompteMetier(univers="eau", emetteur="Télé-services", code="EAU-1", nom="DUPONT", prenom="Anne",
                          citoyen=compte.citoyen)
    db.session.add(second)
    db.session.flush()
    db.session.add(Facture(numero="F-EAU-1", numero_ordre=99, compte=second, date_emission=dt.date(2023, 5, 1),
                           montant=Decimal("5.00"), restant_du=Decimal("5.00"), date_depot=dt.date(2023, 5, 1)))
    db.session.commit()
    # From the citizen account: all its family accounts.
    page = client.get(f"/admin/fiche_famille/?citoyen_id={compte.citoyen_id}").get_data(as_text=True)
    assert "EAU-1" in page and "FAM1" in page and "F-EAU-1" in page and "F-FAM1-0" in page
    assert "ORPH" not in page
    # A citizen with no family account yet.
    seul = Citoyen(email="seul@exemple.fr", nom="SEUL", prenom="Paul")
    db.session.add(seul)
    db.session.commit()
    page = client.get(f"/admin/fiche_famille/?citoyen_id={seul.id}").get_data(as_text=True)
    assert "seul@exemple.fr" in page and "Aucun compte famille." in page and "Aucun événement." in page
    # From an individual: its family account only.
    enfant = db.session.scalar(sa.select(Individu).where(Individu.reference == "FAM1-2"))
    page = client.get(f"/admin/fiche_famille/?individu_id={enfant.id}").get_data(as_text=True)
    assert "F-FAM1-0" in page and "F-EAU-1" not in page


def test_filter_by_kind(client, auth, agent):
    compte = make_famille("FAM1", factures=3, reglements=3)
    auth.login()
    page = client.get(f"/admin/fiche_famille/?compte_id={compte.id}&types=factures&types=demandes"
                      ).get_data(as_text=True)
    assert {kind for kind, _, _ in rows(page)} == {"factures", "demandes"}
    assert len(rows(page)) == 4
    assert re.search(r'value="factures"[^>]*\s+checked', page)
    assert not re.search(r'value="reglements"[^>]*\s+checked', page)
    assert "Tout afficher" in page
    page = client.get(f"/admin/fiche_famille/?compte_id={compte.id}&types=inconnu").get_data(as_text=True)
    assert {kind for kind, _, _ in rows(page)} == set(famille_service.TYPES)
    # Odd page numbers are brought back in range, never a database error.
    for page_number, expected in (("-3", 11), ("abc", 11), (str(10**20), 0)):
        response = client.get(f"/admin/fiche_famille/?compte_id={compte.id}&page={page_number}")
        assert response.status_code == 200 and len(rows(response.get_data(as_text=True))) == expected


def test_long_history_is_paged_without_loss(client, auth, agent):
    compte = make_famille("LONG", factures=300, reglements=300)
    auth.login()
    first = client.get(f"/admin/fiche_famille/?compte_id={compte.id}").get_data(as_text=True)
    assert len(rows(first)) == famille_service.PAGE
    more = re.search(r'href="([^"]+)#historique">Voir plus', first)
    assert more
    seen = rows(first)
    url = html.unescape(more.group(1))
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += rows(page)
        more = re.search(r'href="([^"]+)#historique">Voir plus', page)
        url = html.unescape(more.group(1)) if more else None
    titles = [t for _, _, t in seen]
    # 300 + 300 + request + e-mail + registration + 2 synchronisations, each exactly once, in order.
    assert len(titles) == len(set(titles)) == 605
    dates = [moment(d) for _, d, _ in seen]
    assert dates == sorted(dates, reverse=True)


def count_queries(client, url) -> tuple[int, str]:
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def test_query_count_does_not_grow_with_history(client, auth, agent):
    petite = make_famille("PETITE", factures=5, reglements=5)
    grande = make_famille("GRANDE", factures=300, reglements=300, nom="GRAND")
    auth.login()
    count_queries(client, "/admin/")
    small, _ = count_queries(client, f"/admin/fiche_famille/?compte_id={petite.id}")
    big, page = count_queries(client, f"/admin/fiche_famille/?compte_id={grande.id}")
    assert small == big
    assert small <= 15
    assert len(rows(page)) == famille_service.PAGE
    by_citizen, _ = count_queries(client, f"/admin/fiche_famille/?citoyen_id={grande.citoyen_id}")
    assert by_citizen <= small + 1


@pytest.mark.parametrize("query,status,message", [
    ("", 200, "Ouvrez la fiche depuis un compte citoyen, un compte famille ou un individu."),
    ("?compte_id=abc", 400, "Identifiant invalide"),
    ("?compte_id=999999", 404, "Compte famille introuvable."),
    ("?citoyen_id=999999", 404, "Compte citoyen introuvable."),
    ("?individu_id=999999", 404, "Individu introuvable."),
])
def test_unknown_family_gets_a_french_message(client, auth, agent, query, status, message):
    auth.login()
    response = client.get(f"/admin/fiche_famille/{query}")
    assert response.status_code == status
    assert message in html.unescape(response.get_data(as_text=True))


def test_names_are_escaped(client, auth, agent):
    compte = make_famille("XSS", nom="<img src=x onerror=alert(1)>", factures=1, reglements=1)
    auth.login()
    page = client.get(f"/admin/fiche_famille/?compte_id={compte.id}").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_anonymous_is_sent_to_login(client, app):
    compte = make_famille("FAM1")
    response = client.get(f"/admin/fiche_famille/?compte_id={compte.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
