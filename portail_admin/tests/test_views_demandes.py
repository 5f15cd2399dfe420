"""Menu Demandes: list with filters, search, late requests; detail with content, history, e-mails and reply."""
import datetime as dt
import re

import pytest

from portail_admin.extensions import db
from portail_admin.models import Citoyen, CompteMetier, Courriel, Demande, utcnow
from portail_admin.services import demandes as service
from portail_admin.services import parametres
from portail_admin.services.agents import create_agent

from .conftest import DEMO_PASSWORD, csrf_token

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def bureau(app):
    """Two families, their requests of every type and age, and the demo agent (lighter than the demo data)."""
    parametres.ensure_defaults()
    create_agent("agent@demo.fr", DEMO_PASSWORD)
    marie = Citoyen(email="marie.dupont@exemple.fr", nom="DUPONT", prenom="Marie", civilite="MME")
    paul = Citoyen(email="paul.martin@exemple.fr", nom="MARTIN", prenom="Paul", civilite="M")
    db.session.add_all([marie, paul, CompteMetier(emetteur="Divers", code="ENF-1", nom="DUPONT", citoyen=marie)])
    db.session.flush()
    demandes = {}
    for nom, citoyen, type_, jours, contenu in (
        ("contact", marie, "contact", 0, {"objet": f"Objet {XSS}", "message": f"Bonjour\n{XSS}"}),
        ("contact_ancien", paul, "contact", 10, {"objet": "Relance", "message": "Toujours rien"}),
        ("reservation", marie, "reservation", 3, {"activite": "Cantine", "dates": ["2026-03-10", "2026-03-12"]}),
        ("absence", paul, "absence", 1, {"activite": "Cantine", "dates": ["2026-03-11"], "motif": "Malade"}),
        ("dossier", marie, "dossier_famille", 30, {"champ": "telephone", "nouvelle_valeur": "0612345678"}),
    ):
        demande, _ = service.recevoir(citoyen.email, type_, contenu)
        demande.created_at = utcnow() - dt.timedelta(days=jours, hours=1)
        demandes[nom] = demande
    service.decider(demandes["dossier"], "acceptee", None, dt.date(2026, 3, 1))
    db.session.commit()
    return demandes


@pytest.fixture
def contact(bureau):
    return bureau["contact"]


def references(page: str) -> list[str]:
    return re.findall(r"<td class=\"col-reference\">\s*(D\d{4}-\d{6})", page)


def test_list_shows_the_seeds_columns_and_french_labels(client, auth, bureau):
    auth.login()
    page = client.get("/admin/demandes/").get_data(as_text=True)
    for header in ("Référence", "Date de la demande", "Compte citoyen", "Email", "Type", "État", "Délai"):
        assert header in page
    assert "Nous contacter" in page and "Modification du dossier famille" in page and "À transmettre" in page
    assert "DUPONT Marie" in page and re.search(r"\d{2}/\d{2}/20\d\d \d{2}:\d{2}", page)
    assert XSS not in page
    # Newest first.
    assert references(page)[0] == bureau["contact"].reference and references(page)[-1] == bureau["dossier"].reference


def test_filters_on_type_state_and_date_and_search(client, auth, bureau):
    auth.login()

    def liste(query):
        return references(client.get(f"/admin/demandes/?{query}").get_data(as_text=True))

    assert liste("flt0_type_equals=absence") == [bureau["absence"].reference]
    assert liste("flt0_etat_equals=traitee") == [bureau["dossier"].reference]
    assert sorted(liste("flt0_etat_equals=a_traiter")) == sorted([bureau["contact"].reference,
                                                                  bureau["contact_ancien"].reference])
    jour = (utcnow() - dt.timedelta(days=3, hours=1)).date()
    assert bureau["reservation"].reference in liste(
        f"flt0_date_de_la_demande_between={jour - dt.timedelta(days=1)}+to+{jour + dt.timedelta(days=1)}")
    assert liste("flt0_date_de_la_demande_between=2000-01-01+to+2000-01-02") == []
    assert liste(f"search={bureau['absence'].reference}") == [bureau["absence"].reference]
    assert sorted(liste("search=paul.martin@exemple.fr")) == sorted([bureau["contact_ancien"].reference,
                                                                     bureau["absence"].reference])


def test_late_requests_stand_out_and_can_be_listed_alone(client, auth, bureau):
    auth.login()
    retard = sorted([bureau["contact_ancien"].reference, bureau["reservation"].reference])
    page = client.get("/admin/demandes/").get_data(as_text=True)
    assert page.count("badge badge-danger delai-retard") == 2
    assert "Seulement les demandes en retard" in page and "3 j (Nous contacter)" in page

    page = client.get("/admin/demandes/?en_retard=1").get_data(as_text=True)
    assert sorted(references(page)) == retard
    assert "Toutes les demandes" in page
    # The toggle survives sorting and combines with filters.
    assert "en_retard=1" in re.search(r'href="([^"]*sort=[^"]*)"', page).group(1)
    page = client.get("/admin/demandes/?en_retard=1&flt0_type_equals=contact").get_data(as_text=True)
    assert references(page) == [bureau["contact_ancien"].reference]


def test_detail_shows_content_history_emails_escaped(client, auth, contact):
    auth.login()
    page = client.get(f"/admin/demandes/details/?id={contact.id}").get_data(as_text=True)
    assert contact.reference in page and "Demande reçue" in page
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Accusé de réception" in page and "Demande de contact à l&#39;agent" in page and "En attente" in page
    assert "Répondre à la famille" in page


def test_enfance_requests_are_consultation_only(client, auth, bureau):
    auth.login()
    demande = bureau["reservation"]
    page = client.get(f"/admin/demandes/details/?id={demande.id}").get_data(as_text=True)
    assert "consultation uniquement" in page and "Répondre à la famille" not in page
    token = csrf_token(client, "/admin/demandes/")
    etat = demande.etat
    response = client.post("/admin/demandes/repondre/", data={"csrf_token": token, "id": demande.id,
                                                             "reponse": "Non"}, follow_redirects=True)
    assert "Seules les demandes de contact" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Demande, demande.id).etat == etat
    assert client.post(f"/admin/demandes/edit/?id={demande.id}", data={"csrf_token": token}).status_code in (
        302, 403, 404)
    assert db.session.get(Demande, demande.id).etat == etat


def test_agent_replies_to_a_contact_request(client, auth, contact):
    auth.login()
    url = f"/admin/demandes/details/?id={contact.id}"
    token = csrf_token(client, url)
    response = client.post("/admin/demandes/repondre/", data={"csrf_token": token, "id": contact.id,
                                                             "reponse": f"Merci, c'est corrigé. {XSS}"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"la demande {contact.reference} est traitée" in page
    assert "Réponse de la collectivité" in page and "Merci, c&#39;est corrigé." in page and XSS not in page
    assert "Répondre à la famille" not in page
    db.session.expire_all()
    demande = db.session.get(Demande, contact.id)
    assert demande.etat == "traitee" and demande.historique[-1].auteur == "agent@demo.fr"
    accuse = db.session.scalar(db.select(Courriel).where(Courriel.demande_id == contact.id,
                                                        Courriel.type == "accuse_traitement"))
    assert accuse.etat == "envoye" and "Merci, c'est corrigé." in accuse.corps
    assert accuse.compte_id == demande.compte_id and accuse.citoyen_id == demande.citoyen_id

    # A second reply (double submit) is refused and sends nothing.
    response = client.post("/admin/demandes/repondre/", data={"csrf_token": token, "id": contact.id,
                                                             "reponse": "Encore"}, follow_redirects=True)
    assert "déjà été traitée" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Courriel.id)).where(
        Courriel.demande_id == contact.id, Courriel.type == "accuse_traitement")) == 1


def test_reply_needs_text_and_csrf(client, auth, contact):
    auth.login()
    response = client.post("/admin/demandes/repondre/", data={"id": contact.id, "reponse": "Sans jeton"})
    assert response.status_code == 400
    token = csrf_token(client, f"/admin/demandes/details/?id={contact.id}")
    response = client.post("/admin/demandes/repondre/", data={"csrf_token": token, "id": contact.id, "reponse": ""},
                           follow_redirects=True)
    assert "Saisissez la réponse" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Demande, contact.id).etat == "a_traiter"


def test_pending_and_failed_emails_are_visible_and_can_be_relaunched(client, auth, contact):
    courriel = db.session.scalar(db.select(Courriel).where(Courriel.demande_id == contact.id,
                                                          Courriel.type == "contact_agent"))
    courriel.etat, courriel.tentatives, courriel.derniere_erreur = "echec", 3, "ConnectionRefusedError : refusé"
    db.session.commit()
    auth.login()
    url = f"/admin/demandes/details/?id={contact.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Échec" in page and "ConnectionRefusedError : refusé" in page and "Relancer l'envoi" in page
    response = client.post("/admin/demandes/relancer-courriel/", follow_redirects=True, data={
        "csrf_token": csrf_token(client, url), "id": contact.id, "courriel_id": courriel.id})
    assert "relancé" in response.get_data(as_text=True)
    db.session.expire_all()
    courriel = db.session.get(Courriel, courriel.id)
    assert courriel.etat == "envoye" and courriel.tentatives == 4


def test_delai_counts_days_since_arrival(client, auth, contact):
    contact.created_at = utcnow() - dt.timedelta(days=10, hours=2)
    db.session.commit()
    auth.login()
    page = client.get(f"/admin/demandes/?search={contact.reference}").get_data(as_text=True)
    assert re.search(r'<span class="badge badge-danger delai-retard"[^>]*>10</span>', page)
