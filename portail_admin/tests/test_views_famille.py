"""Menu Famille: read-only Enfance reference data, the Individus list with its filters and links, the detail page."""
import datetime as dt
import html
import re

import sqlalchemy as sa

from portail_admin.extensions import db
from portail_admin.models import (
    Activite,
    Citoyen,
    Classe,
    CompteMetier,
    Fermeture,
    Individu,
    Inscription,
    Periode,
    PieceJustificative,
    Structure,
)

from .conftest import csrf_token

#: Endpoint, model, and a form a forger would post.
READ_ONLY = [
    ("individus", Individu, {"nom": "PIRATE", "prenom": "Jack", "reference": "X1", "role": "enfant"}),
    ("activites", Activite, {"nom": "Piratage", "reference": "X1"}),
    ("structures", Structure, {"nom": "Repaire", "reference": "X1", "type": "école"}),
    ("classes", Classe, {"nom": "CP pirate", "reference": "X1"}),
    ("periodes", Periode, {"nom": "Pirate", "reference": "X1", "date_debut": "2025-01-01", "date_fin": "2025-02-01"}),
    ("fermetures", Fermeture, {"reference": "X1", "motif": "Pirate", "date_debut": "2025-01-01",
                               "date_fin": "2025-02-01"}),
    ("pieces", PieceJustificative, {"nom": "Pirate", "reference": "X1", "description": "x"}),
]


def snapshot(model) -> list:
    """Every row of a table, every column: what a forged request must leave unchanged."""
    return [tuple(r) for r in db.session.execute(sa.select(*model.__table__.columns).order_by(model.id)).all()]


def cells(page: str, column: str) -> list[str]:
    """The text of a list column, row by row."""
    found = re.findall(rf'<td class="col-{column}">(.*?)</td>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in found]


def row_of(page: str, text: str) -> str:
    """The HTML of the list row that contains text."""
    return next(r for r in page.split("<tr")[1:] if text in r)


def filter_arg(app, endpoint: str, name: str, value) -> str:
    """The query-string argument that applies the filter called name (Flask-Admin numbers its filters)."""
    admin = app.extensions["admin"][0]
    view = next(v for v in admin._views if v.endpoint == endpoint)
    index = next(i for i, f in enumerate(view._filters) if str(f.name) == name)
    return f"flt0_{view.get_filter_arg(index, view._filters[index])}={value}"


# One demo load per test, each test walking the seven screens: the demo load dominates the suite's time.


def test_lists_offer_no_write_control(client, auth, demo_data):
    auth.login()
    for endpoint, _model, _form in READ_ONLY:
        page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
        for forbidden in ("/new/", "/edit/", "/delete/", "/action/"):
            assert forbidden not in page, endpoint
        assert not re.search(r">\s*(Ajouter|Créer|Modifier|Supprimer)\s*<", page), endpoint
        assert "Date de synchronisation" in page
        dates = cells(page, "synchronise_le")
        assert dates and all(re.fullmatch(r"(\d{2}/\d{2}/20\d\d \d{2}:\d{2}|\d{1,2} \w+ 20\d\d)", c) for c in dates)


def test_crafted_posts_are_refused_and_change_nothing(client, auth, demo_data):
    auth.login("admin@demo.fr")
    for endpoint, model, form in READ_ONLY:
        token = csrf_token(client, f"/admin/{endpoint}/")
        row_id = db.session.scalar(sa.select(model.id).order_by(model.id))
        before = snapshot(model)
        attempts = [
            (f"/admin/{endpoint}/new/", form),
            (f"/admin/{endpoint}/edit/?id={row_id}", form),
            (f"/admin/{endpoint}/delete/", {"id": row_id}),
            (f"/admin/{endpoint}/action/", {"action": "delete", "rowid": [row_id]}),
            (f"/admin/{endpoint}/ajax/update/", {"list_form_pk": row_id, "reference": "X1"}),
        ]
        for url, data in attempts:
            response = client.post(url, data={**data, "csrf_token": token})
            assert response.status_code in (302, 400, 403, 404, 405), url
            db.session.expire_all()
            assert snapshot(model) == before, url
        # And the forms are not served either.
        for url in (f"/admin/{endpoint}/new/", f"/admin/{endpoint}/edit/?id={row_id}"):
            response = client.get(url)
            assert response.status_code == 302 and "<form" not in response.get_data(as_text=True), url


def test_reference_detail_shows_the_last_synchronisation(client, auth, demo_data):
    auth.login()
    for endpoint, model, _form in READ_ONLY[1:]:
        row = db.session.scalar(sa.select(model).order_by(model.id))
        page = client.get(f"/admin/{endpoint}/details/?id={row.id}").get_data(as_text=True)
        assert row.reference in page
        assert re.search(r"Date de synchronisation</b>\s*</td>\s*<td>\s*\d{2}/\d{2}/20\d\d \d{2}:\d{2}", page), endpoint


def test_activites_filter_by_structure_and_univers(app, client, auth, demo_data):
    auth.login()
    structure = db.session.scalar(sa.select(Structure).where(Structure.nom == "Accueil de loisirs Le Moulin"))
    expected = sorted(db.session.scalars(sa.select(Activite.nom).where(Activite.structure_id == structure.id)))
    page = client.get("/admin/activites/?" + filter_arg(app, "activites", "Structure", structure.id)
                      ).get_data(as_text=True)
    assert sorted(cells(page, "nom")) == expected and len(expected) == 3
    page = client.get("/admin/activites/?" + filter_arg(app, "activites", "Univers", "eau")).get_data(as_text=True)
    assert cells(page, "nom") == []
    page = client.get("/admin/pieces/?" + filter_arg(app, "pieces", "Obligatoire", "0")).get_data(as_text=True)
    assert sorted(cells(page, "nom")) == ["Certificat médical", "Jugement de garde"]


def test_periodes_filter_by_activity_structure_and_dates(app, client, auth, demo_data):
    auth.login()
    activite = db.session.scalar(sa.select(Activite).where(Activite.nom == "Multi-accueil"))
    page = client.get("/admin/periodes/?" + filter_arg(app, "periodes", "Activité", activite.id)
                      ).get_data(as_text=True)
    assert cells(page, "nom") == [f"Multi-accueil — trimestre {n}" for n in (3, 2, 1)]
    page = client.get("/admin/periodes/?" + filter_arg(app, "periodes", "Structure", activite.structure_id)
                      ).get_data(as_text=True)
    assert set(cells(page, "activite")) == {"Multi-accueil"}
    second = db.session.scalar(sa.select(Periode).where(Periode.reference == f"P{activite.reference}-2"))
    span = f"{second.date_debut:%Y-%m-%d} to {second.date_debut:%Y-%m-%d}"
    page = client.get("/admin/periodes/?" + filter_arg(app, "periodes", "Début", span)).get_data(as_text=True)
    assert set(cells(page, "nom")) == {n for n in db.session.scalars(
        sa.select(Periode.nom).where(Periode.date_debut == second.date_debut))}
    assert len(cells(page, "nom")) == 8


def test_individus_filters(app, client, auth, demo_data):
    auth.login()
    page = client.get("/admin/individus/?" + filter_arg(app, "individus", "Rôle", "conjoint")).get_data(as_text=True)
    assert cells(page, "role") and set(cells(page, "role")) == {"conjoint"}
    page = client.get("/admin/individus/?" + filter_arg(app, "individus", "Archive", "1")).get_data(as_text=True)
    archived = db.session.scalars(sa.select(Individu.reference).where(Individu.archive.is_(True))).all()
    assert sorted(cells(page, "reference")) == sorted(archived) and archived
    assert set(cells(page, "archive")) == {"Oui"}
    compte = db.session.scalar(sa.select(CompteMetier).where(CompteMetier.univers == "enfance")
                               .order_by(CompteMetier.id))
    members = db.session.scalars(sa.select(Individu.reference).where(Individu.compte_id == compte.id)).all()
    for name, value in (("Compte famille (code)", compte.code), ("Compte famille (n°)", compte.id)):
        page = client.get("/admin/individus/?" + filter_arg(app, "individus", name, value)).get_data(as_text=True)
        assert sorted(cells(page, "reference")) == sorted(members)


def test_individus_search_on_name_and_reference(client, auth, demo_data):
    auth.login()
    individu = db.session.scalar(sa.select(Individu).order_by(Individu.id.desc()))
    page = client.get(f"/admin/individus/?search={individu.reference}").get_data(as_text=True)
    assert cells(page, "reference") == [individu.reference]
    same_name = db.session.scalars(sa.select(Individu.reference).where(Individu.nom == individu.nom)).all()
    page = client.get(f"/admin/individus/?search={individu.nom}").get_data(as_text=True)
    assert set(same_name) <= set(cells(page, "reference"))
    assert all(c.startswith(individu.nom) for c in cells(page, "nom_prenom"))


def test_compte_id_shows_exactly_the_accounts_individuals(client, auth, demo_data):
    auth.login()
    compte = db.session.scalar(sa.select(CompteMetier).join(Individu).group_by(CompteMetier.id)
                               .having(sa.func.count(Individu.id) >= 3).order_by(CompteMetier.id))
    members = db.session.scalars(sa.select(Individu.reference).where(Individu.compte_id == compte.id)).all()
    page = client.get(f"/admin/individus/?compte_id={compte.id}").get_data(as_text=True)
    assert sorted(cells(page, "reference")) == sorted(members)
    assert f"Individus du compte famille <strong>{html.escape(compte.libelle)}</strong>" in page
    assert re.search(r'href="/admin/individus/"[^>]*>Afficher tous les individus', page)
    # The restriction survives a search and a sort (the links and forms carry compte_id).
    assert f'name="compte_id" value="{compte.id}"' in page
    page = client.get(f"/admin/individus/?compte_id={compte.id}&search={compte.nom}&sort=1").get_data(as_text=True)
    assert sorted(cells(page, "reference")) == sorted(members)
    # An unknown or malformed account shows nothing rather than everything.
    for bad in ("999999", "abc"):
        page = client.get(f"/admin/individus/?compte_id={bad}").get_data(as_text=True)
        assert cells(page, "reference") == [] and "Compte famille introuvable" in page


def test_row_buttons_land_on_exactly_the_linked_records(client, auth, demo_data):
    auth.login()
    associe = db.session.scalar(sa.select(Individu).join(CompteMetier).where(CompteMetier.citoyen_id.is_not(None))
                                .order_by(Individu.id))
    orphelin = db.session.scalar(sa.select(Individu).join(CompteMetier).where(CompteMetier.citoyen_id.is_(None))
                                 .order_by(Individu.id))
    page = client.get(f"/admin/individus/?compte_id={associe.compte_id}").get_data(as_text=True)
    row = row_of(page, associe.reference)
    compte_url = f"/admin/comptes_metier/details/?id={associe.compte_id}"
    citoyen_url = f"/admin/citoyens/details/?id={associe.compte.citoyen_id}"
    fiche_url = f"/admin/fiche_famille/?individu_id={associe.id}"
    assert compte_url in row and citoyen_url in row and fiche_url in row
    assert associe.compte.code in client.get(compte_url).get_data(as_text=True)
    assert associe.compte.citoyen.email in client.get(citoyen_url).get_data(as_text=True)
    fiche = client.get(fiche_url).get_data(as_text=True)
    assert associe.compte.code in fiche and associe.reference in fiche
    page = client.get(f"/admin/individus/?compte_id={orphelin.compte_id}").get_data(as_text=True)
    row = row_of(page, orphelin.reference)
    assert f"/admin/comptes_metier/details/?id={orphelin.compte_id}" in row
    assert "/admin/citoyens/details/" not in row


def test_detail_shows_registrations_and_links(client, auth, demo_data):
    auth.login()
    enfant = db.session.scalar(sa.select(Individu).join(Inscription, Inscription.individu_id == Individu.id)
                               .join(CompteMetier).where(CompteMetier.citoyen_id.is_not(None)).order_by(Individu.id))
    page = html.unescape(client.get(f"/admin/individus/details/?id={enfant.id}").get_data(as_text=True))
    inscriptions = db.session.scalars(sa.select(Inscription).where(Inscription.individu_id == enfant.id)).all()
    assert inscriptions
    for i in inscriptions:
        assert re.search(rf"<td>{re.escape(i.activite.nom)}</td><td>{re.escape(i.activite.structure.nom)}</td>"
                         rf"<td>{re.escape(i.periode.nom)}</td>", page)
        assert f"{i.date_debut:%d/%m/%Y}" in page
    assert f"/admin/comptes_metier/details/?id={enfant.compte_id}" in page
    assert f"/admin/citoyens/details/?id={enfant.compte.citoyen_id}" in page
    assert f"/admin/fiche_famille/?individu_id={enfant.id}" in page
    assert f"/admin/individus/?compte_id={enfant.compte_id}" in page
    assert "Date de synchronisation" in page


def test_fiche_famille_is_not_in_the_menu(client, auth, demo_data):
    auth.login()
    page = client.get("/admin/").get_data(as_text=True)
    nav = page[page.index("<nav"):page.index("</nav>")]
    assert "Fiche famille" not in nav and "fiche_famille" not in nav


def test_hostile_names_are_escaped(client, auth, demo_data):
    hostile = "<img src=x onerror=alert(1)>"
    compte = CompteMetier(univers="enfance", emetteur="Divers", code="XSS-1", nom=hostile, prenom=hostile,
                          citoyen=Citoyen(email="xss@exemple.fr", nom=hostile, prenom=hostile))
    individu = Individu(reference="XSS-1", compte=compte, nom=hostile, prenom=hostile, role="enfant",
                        synchronise_le=dt.datetime(2024, 1, 1))
    db.session.add_all([compte, individu])
    db.session.commit()
    auth.login()
    for url in (f"/admin/individus/?compte_id={compte.id}", f"/admin/individus/details/?id={individu.id}",
                f"/admin/fiche_famille/?compte_id={compte.id}", "/admin/individus/?search=XSS"):
        page = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in page, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, url
