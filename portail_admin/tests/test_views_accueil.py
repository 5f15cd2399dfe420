"""Accueil: the dashboard's figures as an agent and an admin see them, each linked to the list that explains it."""
import datetime as dt
import re
from decimal import Decimal

import sqlalchemy as sa

from portail_admin.extensions import db
from portail_admin.formatting import aujourdhui, euros
from portail_admin.models import Demande, Facture, Traitement, sum_exact, utcnow
from portail_admin.services.tableau_de_bord import tableau_de_bord


def _chiffre(page: str, ident: str) -> tuple[str, str | None]:
    """The figure shown under an id, and its link."""
    match = re.search(rf'<(?:a|span) id="{ident}"([^>]*)>([^<]*)<', page)
    assert match, f"pas de chiffre {ident}"
    lien = re.search(r'href="([^"]*)"', match.group(1))
    return match.group(2).strip(), lien.group(1).replace("&amp;", "&") if lien else None


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_agent_sees_the_figures_linked_to_their_lists(client, auth, demo_data):
    compte = db.session.scalar(sa.select(Demande.compte_id).limit(1))
    db.session.add(Demande(reference="D-NOUVELLE", created_at=utcnow() - dt.timedelta(minutes=5),
                           email="x@exemple.fr", type="contact", etat="a_traiter", compte_id=compte))
    db.session.commit()
    tdb = tableau_de_bord()
    assert tdb.nouvelles_demandes >= 1 and tdb.demandes_en_retard >= 1 and tdb.echues_nombre >= 1
    auth.login()
    page = client.get("/admin/").get_data(as_text=True)

    assert "Tableau de bord" in page
    periode = f"{tdb.depuis_date.isoformat()}+to+{tdb.aujourd_hui.isoformat()}"
    nouvelles = (str(tdb.nouvelles_demandes), f"/admin/demandes/?flt0_date_de_la_demande_between={periode}")
    assert _chiffre(page, "chiffre-nouvelles") == nouvelles
    liste = client.get(nouvelles[1]).get_data(as_text=True)
    assert "D-NOUVELLE" in liste and liste.count('<td class="list-buttons-column">') == tdb.nouvelles_demandes
    assert _chiffre(page, "chiffre-retard") == (str(tdb.demandes_en_retard), "/admin/demandes/?en_retard=1")
    liste = client.get("/admin/demandes/?en_retard=1").get_data(as_text=True)
    assert liste.count('<td class="list-buttons-column">') == min(tdb.demandes_en_retard, 20)
    assert liste.count("delai-retard") == min(tdb.demandes_en_retard, 20)
    assert _chiffre(page, "chiffre-echues") == (str(tdb.echues_nombre), "/admin/factures/?echues=1")
    assert _chiffre(page, "montant-echues") == (euros(tdb.echues_total), "/admin/factures/?echues=1")
    echues = [Facture.archive.is_(False), Facture.restant_du > 0, Facture.date_echeance < aujourdhui()]
    assert tdb.echues_nombre == db.session.scalar(db.select(db.func.count(Facture.id)).where(*echues)) > 0
    assert tdb.echues_total == sum_exact(Facture.restant_du, *echues)
    assert "Nous contacter : 3 j" in page
    # This year's chart: drawn on the server, no script, with the monthly detail linked to the filtered lists.
    chart = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="graphique"'):]
    chart = chart[:chart.index("</svg>")]
    assert "<script" not in chart and chart.count("<rect") >= 24
    annee = tdb.annee
    assert f'href="/admin/factures/?depot_du={annee}-01-01&amp;depot_au={annee}-01-31"' in page
    assert f'href="/admin/reglements/?depot_du={annee}-02-01&amp;depot_au={annee}-02-{28 + (annee % 4 == 0)}"' in page
    assert _chiffre(page, "lien-depot-factures")[1] == "/admin/depot_factures/"


def test_imports_newest_first_failures_in_red_linked_for_admins_only(client, auth, demo_data):
    echec = Traitement(created_at=utcnow(), type="individus", nombre=12, resultat="erreur")
    db.session.add(echec)
    db.session.commit()
    auth.login()
    page = client.get("/admin/").get_data(as_text=True)
    premiere = page[page.index('id="carte-traitements"'):]
    premiere = premiere[premiere.index("<tbody>"):]
    premiere = premiere[:premiere.index("</tr>")]
    assert "table-danger" in premiere and "En erreur" in premiere and "Import individus en masse" in premiere
    # État des traitements is in the Administration menu: no link an agent could only get a 403 from.
    assert "/admin/traitements/" not in page

    auth.logout()
    auth.login("admin@demo.fr")
    page = client.get("/admin/").get_data(as_text=True)
    assert f'href="/admin/traitements/details/?id={echec.id}"' in page
    assert 'id="lien-traitements" href="/admin/traitements/"' in page


def test_empty_database_shows_zeros(client, auth, app):
    from portail_admin.services.agents import create_agent
    from portail_admin.services.demo import DEMO_PASSWORD

    create_agent("agent@demo.fr", DEMO_PASSWORD, role="agent", nom="Martin", prenom="Claire")
    db.session.commit()
    auth.login()
    page = client.get("/admin/").get_data(as_text=True)
    assert _chiffre(page, "chiffre-nouvelles")[0] == "0"
    assert _chiffre(page, "chiffre-echues")[0] == "0"
    assert euros(Decimal("0")) in page
    assert "Aucun import reçu." in page


def test_the_page_runs_a_bounded_number_of_queries(app, client, auth, demo_data):
    app.config["TABLEAU_DE_BORD_CACHE_SECONDES"] = 0
    auth.login()
    client.get("/admin/")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        db.session.commit()
        assert 'id="chiffre-nouvelles"' in client.get("/admin/").get_data(as_text=True)
        first = len(statements)
        for n in range(3):
            db.session.add(Facture(numero=f"X{n}", numero_ordre=90_000 + n, compte_id=1, date_emission=dt.date.today(),
                                   montant=Decimal(1), restant_du=Decimal(1), date_depot=dt.date.today()))
        db.session.commit()
        statements.clear()
        assert 'id="chiffre-nouvelles"' in client.get("/admin/").get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    # The same handful of queries whatever the volume: no query per row.
    assert len(statements) == first <= 16
