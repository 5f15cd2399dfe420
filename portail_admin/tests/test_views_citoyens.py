"""Menu Citoyens as an agent uses it: lists, search, create, edit, delete, unsubscribe, associate, navigation."""
import datetime as dt
import html
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest

from portail_admin.extensions import db
from portail_admin.models import Citoyen, CompteMetier, Demande, Facture, Individu
from portail_admin.services.agents import create_agent
from portail_admin.tests.conftest import DEMO_PASSWORD, csrf_token

ENFANCE = "/admin/comptes_metier/?flt0_univers=enfance"
CREATE = "/admin/citoyens/new/"


@pytest.fixture
def donnees(app):
    """An agent and an admin, four citizens, five accounts (Enfance and Eau, associated and orphan), history."""
    create_agent("agent@demo.fr", DEMO_PASSWORD)
    create_agent("admin@demo.fr", DEMO_PASSWORD, role="admin")
    paul = Citoyen(email="paul.martin@exemple.fr", nom="MARTIN", prenom="Paul", partenaire=True)
    lea = Citoyen(email="lea.durand@exemple.fr", nom="DURAND", prenom="Léa")
    nouveaux = [Citoyen(email=f"nouveau.{n}@exemple.fr", nom=f"BERNARD{n}", prenom="Zoé") for n in (1, 2)]
    comptes = {
        "c_paul": CompteMetier(univers="enfance", emetteur="Divers", code="C-PAUL", nom="MARTIN", prenom="Paul",
                             email="paul.martin@exemple.fr", citoyen=paul),
        "c_lea": CompteMetier(univers="enfance", emetteur="Télé-services", code="C-LEA", nom="DURAND", prenom="Léa",
                            email="lea.durand@exemple.fr", citoyen=lea),
        "c_orphelin": CompteMetier(univers="enfance", emetteur="Divers", code="C-ORPH", nom="PETIT", prenom="Jean",
                                 email="jean.petit@exemple.fr"),
        "c_eau_paul": CompteMetier(univers="eau", emetteur="Télé-services", code="EAU-1", nom="MARTIN",
                                 prenom="SERVICE EAU", email="eau.1@exemple.fr", citoyen=paul),
        "c_eau": CompteMetier(univers="eau", emetteur="Télé-services", code="EAU-2", nom="ROUX", prenom="SERVICE EAU"),
    }
    db.session.add_all([paul, lea, *nouveaux, *comptes.values()])
    db.session.add_all([
        Individu(reference="I-1", compte=comptes["c_paul"], nom="MARTIN", prenom="Paul", role="responsable"),
        Individu(reference="I-2", compte=comptes["c_paul"], nom="MARTIN", prenom="Léo", role="enfant"),
        Individu(reference="I-3", compte=comptes["c_lea"], nom="DURAND", prenom="Léa", role="responsable"),
        Facture(numero="F-1", numero_ordre=1, compte=comptes["c_paul"], date_emission=dt.date(2026, 1, 5),
                montant=Decimal("12.50"), restant_du=Decimal("0"), date_depot=dt.date(2026, 1, 6)),
        Facture(numero="F-2", numero_ordre=2, compte=comptes["c_paul"], date_emission=dt.date(2026, 2, 5),
                montant=Decimal("8.00"), restant_du=Decimal("8.00"), date_depot=dt.date(2026, 2, 6)),
    ])
    db.session.commit()
    return SimpleNamespace(paul=paul, lea=lea, nouveaux=nouveaux, **comptes)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def cells(page: str, column: str) -> list[str]:
    """The values of one column of a list page, top to bottom."""
    found = re.findall(rf'<td class="col-{column}">\s*(.*?)\s*</td>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for value in found]


def headers(page: str) -> list[str]:
    return re.findall(r'<th class="column-header[^"]*">\s*(?:<a[^>]*>)?\s*([^<]+?)\s*<', page)


def rows(page: str) -> dict[int, str]:
    """Each row's HTML, by record id (its detail link)."""
    result = {}
    for chunk in page.split("<tr>")[1:]:
        match = re.search(r'/details/\?id=(\d+)', chunk)
        if match:
            result[int(match.group(1))] = chunk
    return result


def link(chunk: str, title: str) -> str | None:
    match = re.search(rf'<a class="icon" href="([^"]+)" title="{title}">', chunk)
    return html.unescape(match.group(1)) if match else None


def post(client, url, data, token_url=None):
    """A form POST with the CSRF token read from the page the form is on."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, token_url or url)})


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


# --------------------------------------------------------------------------- access


def test_anonymous_is_sent_to_the_login_and_changes_nothing(client, donnees):
    for url in ("/admin/citoyens/", CREATE, ENFANCE, f"/admin/comptes_metier/associer/?id={donnees.c_orphelin.id}",
                f"/admin/comptes_metier/details/?id={donnees.c_paul.id}",
                "/admin/comptes_metier/ajax/lookup/?name=citoyen&query=pa"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location, url
    token = csrf_token(client, "/login")
    for url, ident in (("/admin/comptes_metier/desabonner/", donnees.c_paul.id),
                       ("/admin/citoyens/delete/", donnees.paul.id)):
        response = client.post(url, data={"id": ident, "csrf_token": token})
        assert "/login" in response.location
    assert fresh(CompteMetier, donnees.c_paul.id).citoyen_id == donnees.paul.id
    assert db.session.scalar(db.select(db.func.count()).select_from(Citoyen)) == 4


# --------------------------------------------------------------------------- Comptes citoyens


def test_citizen_list_search_and_sort(client, auth, donnees):
    auth.login()
    page = text(client.get("/admin/citoyens/"))
    assert headers(page) == ["Email", "Nom", "Prénom", "Partenaire"]
    assert '<th class="column-actions">Actions</th>' in page
    assert re.search(r'<button[^>]*type="submit">Rechercher</button>', page)
    assert '<a class="btn btn-secondary" href="/admin/citoyens/">Réinitialiser</a>' in page
    assert re.search(r'href="/admin/citoyens/new/[^"]*"[^>]*class="nav-link">Ajouter</a>', page)
    assert page.count('<span title="Partenaire">✔</span>') == 1
    assert cells(rows(page)[donnees.paul.id], "partenaire") == ["✔"]

    assert cells(text(client.get("/admin/citoyens/?search=paul.ma")), "email") == ["paul.martin@exemple.fr"]
    assert cells(text(client.get("/admin/citoyens/?search=durand")), "email") == ["lea.durand@exemple.fr"]
    assert cells(text(client.get("/admin/citoyens/?search=Zoé")), "email") == [
        "nouveau.1@exemple.fr", "nouveau.2@exemple.fr"]

    for sort, column in enumerate(("email", "nom", "prenom")):
        values = cells(text(client.get(f"/admin/citoyens/?sort={sort}")), column)
        assert values == sorted(values) and len(values) == 4
        values = cells(text(client.get(f"/admin/citoyens/?sort={sort}&desc=1")), column)
        assert values == sorted(values, reverse=True)


def test_agent_creates_a_citizen_account(client, auth, donnees):
    auth.login()
    response = post(client, CREATE, {"email": " Lea.Martin@Exemple.FR ", "nom": " MARTIN ", "prenom": " Léa ",
                                     "civilite": "MME", "partenaire": "y"})
    assert response.status_code == 302
    citoyen = db.session.scalar(db.select(Citoyen).where(Citoyen.email == "lea.martin@exemple.fr"))
    assert (citoyen.nom, citoyen.prenom, citoyen.civilite, citoyen.partenaire) == ("MARTIN", "Léa", "MME", True)


def test_a_refused_creation_says_why_and_writes_nothing(client, auth, donnees):
    auth.login()
    for email, nom, message in (
        ("PAUL.Martin@exemple.fr", "MARTIN", "Un compte citoyen existe déjà avec l'adresse paul.martin@exemple.fr."),
        ("pas-une-adresse", "MARTIN", "Adresse e-mail invalide"),
        ("autre@exemple.fr", "", "Le nom est obligatoire."),
        ("autre@exemple.fr", "   ", "Le champ Nom est obligatoire."),
    ):
        response = post(client, CREATE, {"email": email, "nom": nom, "prenom": "Léa"})
        assert response.status_code == 200
        assert message in text(response)
    response = client.post(CREATE, data={"email": "sans.jeton@exemple.fr", "nom": "A", "prenom": "B"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Citoyen)) == 4


def test_edit_a_citizen_account(client, auth, donnees):
    auth.login()
    url = f"/admin/citoyens/edit/?id={donnees.lea.id}"
    response = post(client, url, {"email": "Lea.Nouvelle@Exemple.fr", "nom": "DURAND-ROUX ", "prenom": "Léa",
                                  "civilite": "", "partenaire": "y"})
    assert response.status_code == 302
    lea = fresh(Citoyen, donnees.lea.id)
    assert (lea.email, lea.nom, lea.prenom, lea.partenaire) == ("lea.nouvelle@exemple.fr", "DURAND-ROUX", "Léa", True)
    response = post(client, url, {"email": "paul.martin@exemple.fr", "nom": "X", "prenom": "X"})
    assert "Un compte citoyen existe déjà avec l'adresse paul.martin@exemple.fr." in text(response)
    response = post(client, url, {"email": "lea@exemple.fr", "nom": "X", "prenom": "X", "civilite": "DR"})
    assert "Civilité inconnue : 'DR' (attendu : M ou MME)." in text(response)
    assert client.post(url, data={"email": "x@exemple.fr", "nom": "X", "prenom": "X"}).status_code == 400
    assert fresh(Citoyen, donnees.lea.id).email == "lea.nouvelle@exemple.fr"


def test_delete_a_citizen_leaves_its_family_accounts_orphan(client, auth, donnees):
    auth.login("admin@demo.fr")
    paul_id = donnees.paul.id
    db.session.add(Demande(reference="D-1", citoyen_id=paul_id, compte_id=donnees.c_paul.id,
                           email="paul.martin@exemple.fr", type="contact", etat="a_traiter"))
    db.session.commit()
    assert client.post("/admin/citoyens/delete/", data={"id": paul_id}).status_code == 400
    assert fresh(Citoyen, paul_id) is not None

    response = post(client, "/admin/citoyens/delete/", {"id": paul_id, "url": "/admin/citoyens/"},
                    "/admin/citoyens/")
    assert response.status_code == 302
    assert fresh(Citoyen, paul_id) is None
    assert db.session.scalar(db.select(db.func.count()).where(CompteMetier.citoyen_id.is_not(None))) == 1
    assert fresh(CompteMetier, donnees.c_paul.id).citoyen_id is None
    assert fresh(CompteMetier, donnees.c_eau_paul.id).citoyen_id is None
    assert db.session.scalar(db.select(Demande.citoyen_id).where(Demande.reference == "D-1")) is None
    for model, n in ((Individu, 3), (Facture, 2), (Demande, 1)):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)) == n
    page = text(client.get(f"{ENFANCE}&search=C-PAUL"))
    assert cells(page, "citoyen") == ["Orphelin"]


def test_bulk_delete_of_citizens(client, auth, donnees):
    auth.login("admin@demo.fr")
    ids = [donnees.paul.id, donnees.lea.id]
    data = {"action": "delete", "rowid": ids, "url": "/admin/citoyens/"}
    assert client.post("/admin/citoyens/action/", data=data).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).where(Citoyen.id.in_(ids))) == 2
    response = post(client, "/admin/citoyens/action/", data, "/admin/citoyens/")
    assert "2 compte(s) citoyen(s) supprimé(s)" in text(client.get(response.location))
    assert db.session.scalar(db.select(db.func.count()).where(Citoyen.id.in_(ids))) == 0
    assert db.session.scalar(db.select(db.func.count()).where(CompteMetier.citoyen_id.is_not(None))) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(CompteMetier)) == 5


def test_agents_cannot_delete_accounts_only_admins_can(client, auth, donnees):
    auth.login()
    for liste in ("/admin/citoyens/", ENFANCE):
        page = text(client.get(liste))
        assert "/delete/" not in page and "Supprimer" not in page
    paul_id, compte_id = donnees.paul.id, donnees.c_orphelin.id
    post(client, "/admin/citoyens/delete/", {"id": paul_id, "url": "/admin/citoyens/"}, "/admin/citoyens/")
    post(client, "/admin/citoyens/action/", {"action": "delete", "rowid": [paul_id], "url": "/admin/citoyens/"},
         "/admin/citoyens/")
    post(client, "/admin/comptes_metier/delete/", {"id": compte_id, "url": ENFANCE}, ENFANCE)
    assert fresh(Citoyen, paul_id) is not None and fresh(CompteMetier, compte_id) is not None


# --------------------------------------------------------------------------- Comptes métiers


def test_family_accounts_screen_opens_on_enfance_and_shows_other_univers(client, auth, donnees):
    auth.login()
    raw = client.get("/admin/comptes_metier/").get_data(as_text=True)
    page = html.unescape(raw)
    assert headers(page) == ["Émetteur", "Code compte", "Compte", "Email", "Associé"]
    assert sorted(cells(page, "code")) == ["C-LEA", "C-ORPH", "C-PAUL"]
    active = json.loads(html.unescape(re.search(r'id="active-filters-data" class="d-none">(.*?)</div>', raw).group(1)))
    assert active == [[0, "Univers", "enfance"]]
    assert "flt0_univers=enfance" in page  # kept by the sort links, the pager and the search form
    # EAU-1 is a MARTIN too, but of univers Eau.
    assert cells(text(client.get("/admin/comptes_metier/?search=MARTIN")), "code") == ["C-PAUL"]
    groups = json.loads(html.unescape(re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', raw).group(1)))
    assert groups["Univers"][0]["options"] == [["tous", "Tous les univers"], ["eau", "Eau"], ["enfance", "Enfance"]]
    assert groups["Émetteur"][0]["options"] == [["Divers", "Divers"], ["Télé-services", "Télé-services"]]
    assert sorted(cells(text(client.get("/admin/comptes_metier/?flt0_univers=eau")), "code")) == ["EAU-1", "EAU-2"]
    assert len(cells(text(client.get("/admin/comptes_metier/?flt0_univers=tous")), "code")) == 5
    page = text(client.get(f"{ENFANCE}&flt1_emetteur=Divers"))
    assert sorted(cells(page, "code")) == ["C-ORPH", "C-PAUL"]


def test_associe_column_and_filter(client, auth, donnees):
    auth.login()
    page = text(client.get(ENFANCE))
    assert cells(rows(page)[donnees.c_paul.id], "citoyen") == ["Associé (paul.martin@exemple.fr)"]
    assert cells(rows(page)[donnees.c_orphelin.id], "citoyen") == ["Orphelin"]
    assert cells(text(client.get(f"{ENFANCE}&flt1_associe=orphelin")), "code") == ["C-ORPH"]
    assert sorted(cells(text(client.get(f"{ENFANCE}&flt1_associe=associe")), "code")) == ["C-LEA", "C-PAUL"]


def test_search_and_sort_family_accounts(client, auth, donnees):
    auth.login()
    for term in ("C-PA", "paul.martin@", "MARTIN"):
        assert cells(text(client.get(f"{ENFANCE}&search={term}")), "code") == ["C-PAUL"], term
    for sort, column in ((0, "emetteur"), (1, "code"), (2, "libelle"), (3, "email")):
        values = cells(text(client.get(f"{ENFANCE}&sort={sort}")), column)
        assert values == sorted(values) and len(values) == 3, column


def test_unsubscribe_one_account_then_again(client, auth, donnees):
    auth.login()
    compte_id = donnees.c_paul.id
    data = {"id": compte_id, "url": ENFANCE}
    assert client.post("/admin/comptes_metier/desabonner/", data=data).status_code == 400
    assert fresh(CompteMetier, compte_id).citoyen_id == donnees.paul.id

    response = post(client, "/admin/comptes_metier/desabonner/", data, ENFANCE)
    page = text(client.get(response.location))
    assert "Le compte MARTIN Paul est désabonné : il est désormais orphelin." in page
    assert fresh(CompteMetier, compte_id).citoyen_id is None
    assert fresh(Citoyen, donnees.paul.id) is not None
    assert cells(rows(page)[compte_id], "citoyen") == ["Orphelin"]
    assert 'title="Désabonner"' not in rows(page)[compte_id]

    response = post(client, "/admin/comptes_metier/desabonner/", data, ENFANCE)
    assert "Le compte MARTIN Paul est déjà orphelin : rien à désabonner." in text(client.get(response.location))


def test_bulk_unsubscribe(client, auth, donnees):
    auth.login()
    ids = [donnees.c_paul.id, donnees.c_lea.id, donnees.c_orphelin.id]
    data = {"action": "desabonner", "rowid": ids, "url": ENFANCE}
    assert client.post("/admin/comptes_metier/action/", data=data).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).where(CompteMetier.citoyen_id.is_not(None))) == 3
    response = post(client, "/admin/comptes_metier/action/", data, ENFANCE)
    page = text(client.get(response.location))
    assert "2 compte(s) désabonné(s) : désormais orphelin(s)." in page
    assert "1 compte(s) déjà orphelin(s) : rien à désabonner." in page
    db.session.expire_all()
    assert db.session.scalar(db.select(CompteMetier.code).where(CompteMetier.citoyen_id.is_not(None))) == "EAU-1"


def test_delete_family_accounts(client, auth, donnees):
    auth.login("admin@demo.fr")
    paul = db.session.scalar(db.select(CompteMetier).where(CompteMetier.code == "C-PAUL"))
    lea_id = db.session.scalar(db.select(CompteMetier.id).where(CompteMetier.code == "C-LEA"))
    response = post(client, "/admin/comptes_metier/delete/", {"id": paul.id, "url": ENFANCE}, ENFANCE)
    assert ("Suppression refusée : le compte MARTIN Paul (C-PAUL) a encore 2 factures. "
            "Son historique doit être conservé ; désabonnez-le plutôt.") in text(client.get(response.location))
    assert fresh(CompteMetier, paul.id) is not None

    assert client.post("/admin/comptes_metier/delete/", data={"id": lea_id}).status_code == 400
    assert fresh(CompteMetier, lea_id) is not None
    response = post(client, "/admin/comptes_metier/delete/", {"id": lea_id, "url": ENFANCE}, ENFANCE)
    assert response.status_code == 302
    assert fresh(CompteMetier, lea_id) is None
    assert db.session.scalar(db.select(Individu).where(Individu.reference == "I-3")) is None
    assert fresh(Citoyen, donnees.lea.id) is not None


def test_bulk_delete_deletes_what_it_may_and_says_what_it_refused(client, auth, donnees):
    auth.login("admin@demo.fr")
    ids = dict(db.session.execute(db.select(CompteMetier.code, CompteMetier.id)).all())
    response = post(client, "/admin/comptes_metier/action/",
                    {"action": "delete", "rowid": [ids["C-ORPH"], ids["C-PAUL"]], "url": ENFANCE}, ENFANCE)
    page = text(client.get(response.location))
    assert "1 compte(s) supprimé(s)." in page
    assert "Suppression refusée : le compte MARTIN Paul (C-PAUL) a encore 2 factures." in page
    assert fresh(CompteMetier, ids["C-ORPH"]) is None
    assert fresh(CompteMetier, ids["C-PAUL"]) is not None


def test_edit_an_account_changes_names_and_email_only(client, auth, donnees):
    auth.login()
    compte = db.session.scalar(db.select(CompteMetier).where(CompteMetier.code == "C-PAUL"))
    url = f"/admin/comptes_metier/edit/?id={compte.id}"
    page = text(client.get(url))
    assert "Ces informations viennent de l'application Enfance" in page and "C-PAUL" in page
    fields = set(re.findall(r'<input[^>]*name="(\w+)"[^>]*type="(?:text|hidden)"', page))
    fields |= set(re.findall(r'<input[^>]*type="(?:text|hidden)"[^>]*name="(\w+)"', page))
    assert fields == {"csrf_token", "nom", "prenom", "email"}
    response = post(client, url, {"nom": "MARTIN-ROUX", "prenom": "Paul", "email": "Famille@Exemple.fr",
                                  "code": "PIRATE", "emetteur": "X", "citoyen": ""})
    assert response.status_code == 302
    compte = fresh(CompteMetier, compte.id)
    assert (compte.nom, compte.prenom, compte.email) == ("MARTIN-ROUX", "Paul", "famille@exemple.fr")
    assert (compte.code, compte.emetteur, compte.citoyen_id) == ("C-PAUL", "Divers", donnees.paul.id)
    response = post(client, url, {"nom": "X", "prenom": "", "email": "pas-une-adresse"})
    assert "Adresse e-mail invalide" in text(response)
    assert client.post(url, data={"nom": "SANS JETON", "prenom": "", "email": ""}).status_code == 400
    assert fresh(CompteMetier, compte.id).nom == "MARTIN-ROUX"


def test_associate_an_orphan_with_a_citizen(client, auth, donnees):
    auth.login()
    compte_id, nouveau = donnees.c_orphelin.id, donnees.nouveaux[0]
    url = link(rows(text(client.get(ENFANCE)))[compte_id], "Associer")
    assert url == f"/admin/comptes_metier/associer/?id={compte_id}"
    form = text(client.get(url))
    assert 'data-role="select2-ajax"' in form
    assert 'data-url="/admin/comptes_metier/ajax/lookup/?name=citoyen"' in form
    assert "<option" not in form  # citizens are looked up as one types, never all loaded into the page

    assert client.post(url, data={"citoyen": nouveau.id}).status_code == 400
    assert fresh(CompteMetier, compte_id).citoyen_id is None
    for crafted in ("", "abc", "99999"):
        response = post(client, url, {"citoyen": crafted})
        assert response.status_code == 200 and "Choisissez le compte citoyen à associer." in text(response)
    response = post(client, url, {"citoyen": nouveau.id})
    assert response.status_code == 302
    assert "Le compte PETIT Jean est associé à nouveau.1@exemple.fr." in text(client.get(response.location))
    assert fresh(CompteMetier, compte_id).citoyen_id == nouveau.id

    response = post(client, url, {"citoyen": donnees.nouveaux[1].id})
    assert "Le compte PETIT Jean est déjà associé à nouveau.1@exemple.fr : désabonnez-le d'abord." in text(response)
    assert fresh(CompteMetier, compte_id).citoyen_id == nouveau.id


def test_ajax_lookup_returns_matching_citizens_only(client, auth, donnees):
    auth.login()
    lookup = "/admin/comptes_metier/ajax/lookup/?name=citoyen&query="
    assert client.get(lookup + "NOUVEAU.").get_json() == [
        [c.id, f"{c.email} (BERNARD{n} Zoé)"] for n, c in ((1, donnees.nouveaux[0]), (2, donnees.nouveaux[1]))]
    assert client.get(lookup + "paul").get_json() == [[donnees.paul.id, "paul.martin@exemple.fr (MARTIN Paul)"]]
    assert client.get(lookup + "martin").get_json() == []  # the start of the e-mail, not a name inside it
    assert client.get(lookup + "%25").get_json() == []
    for n in range(15):
        db.session.add(Citoyen(email=f"serie.{n:02d}@exemple.fr", nom="SERIE", prenom=str(n)))
    db.session.commit()
    assert len(client.get(lookup + "serie&limit=500").get_json()) == 10


# --------------------------------------------------------------------------- navigation


def test_citizen_to_its_family_accounts_shows_exactly_them(client, auth, donnees):
    auth.login()
    paul_id = donnees.paul.id
    url = link(rows(text(client.get("/admin/citoyens/")))[paul_id], "Comptes familles")
    assert url == f"/admin/comptes_metier/?flt0_citoyen={paul_id}"
    target = text(client.get(url))
    assert sorted(cells(target, "code")) == ["C-PAUL", "EAU-1"]
    assert re.search(r"Comptes familles du compte citoyen\s*<a[^>]*>paul.martin@exemple.fr</a>", target)
    details = text(client.get(f"/admin/citoyens/details/?id={paul_id}"))
    assert f'href="{url}"' in details and "Comptes familles (2)" in details
    assert cells(text(client.get(f"/admin/comptes_metier/?flt0_citoyen={donnees.nouveaux[0].id}")), "code") == []


def test_family_account_to_its_citizen_and_individuals(client, auth, donnees):
    auth.login()
    page = text(client.get(ENFANCE))
    ids = dict(db.session.execute(db.select(CompteMetier.code, CompteMetier.id)).all())
    chunk = rows(page)[ids["C-PAUL"]]
    citoyen_url = link(chunk, "Compte citoyen")
    assert citoyen_url == f"/admin/citoyens/details/?id={donnees.paul.id}"
    assert "paul.martin@exemple.fr" in text(client.get(citoyen_url))
    assert link(rows(page)[ids["C-ORPH"]], "Compte citoyen") is None

    individus_url = link(chunk, "Individus")
    assert individus_url == f"/admin/individus/?compte_id={ids['C-PAUL']}"
    assert sorted(cells(text(client.get(individus_url)), "reference")) == ["I-1", "I-2"]


def test_family_account_detail_page_links(client, auth, donnees):
    auth.login()
    ids = dict(db.session.execute(db.select(CompteMetier.code, CompteMetier.id)).all())
    page = text(client.get(f"/admin/comptes_metier/details/?id={ids['C-PAUL']}"))
    assert f'href="/admin/citoyens/details/?id={donnees.paul.id}"' in page
    assert f'href="/admin/individus/?compte_id={ids["C-PAUL"]}"' in page
    assert 'action="/admin/comptes_metier/desabonner/"' in page
    assert f'href="/admin/fiche_famille/?compte_id={ids["C-PAUL"]}"' in page
    page = text(client.get(f"/admin/comptes_metier/details/?id={ids['C-ORPH']}"))
    assert "Associer à un compte citoyen" in page and "/admin/comptes_metier/desabonner/" not in page
