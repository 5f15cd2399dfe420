"""Administration › Notifications (templates, preview, test e-mail) and Administration › Paramètres (settings form)."""
import pytest

from portail_admin.extensions import db
from portail_admin.models import Courriel, ModeleNotification, Parametre
from portail_admin.services import parametres
from portail_admin.services.agents import create_agent

from .conftest import DEMO_PASSWORD, csrf_token


@pytest.fixture
def admin(app, auth):
    parametres.ensure_defaults()
    create_agent("admin@demo.fr", DEMO_PASSWORD, role="admin")
    create_agent("agent@demo.fr", DEMO_PASSWORD)
    db.session.commit()
    return auth


def modele(code):
    db.session.expire_all()
    return db.session.scalar(db.select(ModeleNotification).where(ModeleNotification.code == code))


def edit_url(code):
    return f"/admin/notifications/edit/?id={modele(code).id}"


def test_list_shows_both_templates(client, admin):
    admin.login("admin@demo.fr")
    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert "Accusé de réception" in page and "Accusé de traitement" in page
    assert "Votre demande [reference] a bien été reçue" in page


def test_edit_page_shows_fixed_part_read_only_and_a_preview(client, admin):
    admin.login("admin@demo.fr")
    page = client.get(edit_url("accuse_reception")).get_data(as_text=True)
    assert "Partie fixe (non modifiable)" in page and "readonly" in page
    assert "Bonjour [civilite] [nom],\nVotre demande de [type] [reference], a bien été prise en compte" in page
    assert "Bonjour Mme MARTIN,\nVotre demande de réservation D2026-000123, a bien été prise en compte" in page
    assert "Votre demande D2026-000123 a bien été reçue" in page
    page = client.get(edit_url("accuse_traitement")).get_data(as_text=True)
    assert "réalisée le 12/03/2026, a été ACCEPTÉE le 14/03/2026." in page


def test_preview_renders_the_unsaved_text_and_template_code_stays_text(client, admin):
    admin.login("admin@demo.fr")
    url = edit_url("accuse_reception")
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "action": "apercu",
                                      "sujet": "Reçu : [reference] {{ config }}",
                                      "partie_variable": "{{ config.SECRET_KEY }} <b>[nom]</b> {% print 1 %}"})
    page = response.get_data(as_text=True)
    assert "Reçu : D2026-000123 {{ config }}" in page
    assert "{{ config.SECRET_KEY }} &lt;b&gt;MARTIN&lt;/b&gt; {% print 1 %}" in page
    assert client.application.config["SECRET_KEY"] not in page
    assert modele("accuse_reception").sujet == "Votre demande [reference] a bien été reçue"  # not saved


def test_saving_changes_only_the_variable_part_and_subject(client, admin):
    admin.login("admin@demo.fr")
    url = edit_url("accuse_traitement")
    response = client.post(url, follow_redirects=True, data={
        "csrf_token": csrf_token(client, url), "action": "enregistrer", "sujet": "Demande [reference] traitée",
        "partie_variable": "Cordialement,\nLa mairie.", "code": "pirate", "partie_fixe": "pirate"})
    page = response.get_data(as_text=True)
    assert "Accusé de traitement enregistré." in page
    gabarit = modele("accuse_traitement")
    assert (gabarit.code, gabarit.sujet, gabarit.partie_variable) == (
        "accuse_traitement", "Demande [reference] traitée", "Cordialement,\nLa mairie.")
    assert "Cordialement,\nLa mairie." in page and "Votre demande [type] [reference], réalisée le [date]" in page


def test_subject_with_line_break_is_refused(client, admin):
    admin.login("admin@demo.fr")
    url = edit_url("accuse_reception")
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "action": "enregistrer",
                                      "sujet": "Objet\r\nBcc: victime@evil.example", "partie_variable": "x"})
    assert "ne doit pas contenir de retour à la ligne" in response.get_data(as_text=True)
    assert modele("accuse_reception").partie_variable != "x"


def test_send_a_test_to_the_admins_own_address(client, admin):
    admin.login("admin@demo.fr")
    url = edit_url("accuse_reception")
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "action": "test",
                                      "sujet": "Essai [reference]", "partie_variable": "Variable d'essai"})
    assert "Courriel de test envoyé à admin@demo.fr" in response.get_data(as_text=True)
    courriel = db.session.scalar(db.select(Courriel).where(Courriel.type == "test"))
    assert courriel.destinataire == "admin@demo.fr" and courriel.sujet == "[Test] Essai D2026-000123"
    assert "Variable d'essai" in courriel.corps and courriel.etat == "envoye"


def test_agents_cannot_reach_notifications_or_parametres(client, admin):
    admin.login("agent@demo.fr")
    assert client.get("/admin/notifications/").status_code == 403
    assert client.get(edit_url("accuse_reception")).status_code == 403
    assert client.get("/admin/parametres/").status_code == 403
    token = csrf_token(client, "/admin/demandes/")
    response = client.post("/admin/parametres/", data={"csrf_token": token, "agent_contact_email": "x@evil.example"})
    assert response.status_code == 403
    assert parametres.get("agent_contact_email") == "contact@mairie.example"


def formulaire(client, **valeurs):
    data = {"csrf_token": csrf_token(client, "/admin/parametres/"), "agent_contact_email": "contact@mairie.example",
            "expediteur": "portail-famille@mairie.example", "delai_dossier_famille": "5", "delai_reservation": "2",
            "delai_absence": "2", "delai_contact": "3", "retention_audit_mois": "12"}
    data.update(valeurs)
    return client.post("/admin/parametres/", data=data, follow_redirects=True).get_data(as_text=True)


def test_parametres_form_shows_and_saves_the_settings(client, admin):
    admin.login("admin@demo.fr")
    page = client.get("/admin/parametres/").get_data(as_text=True)
    assert "Adresse e-mail de l&#39;agent de contact" in page and 'value="contact@mairie.example"' in page
    assert "Délais de traitement (en jours)" in page and "Réservation" in page
    page = formulaire(client, agent_contact_email="Accueil.Famille@Mairie.example", delai_contact="7")
    assert "Paramètres enregistrés." in page and 'value="accueil.famille@mairie.example"' in page
    db.session.expire_all()
    assert db.session.get(Parametre, "agent_contact_email").valeur == "accueil.famille@mairie.example"
    assert db.session.get(Parametre, "delai_contact").valeur == "7"


@pytest.mark.parametrize("champ,valeur,message", [
    ("agent_contact_email", "pas-une-adresse", "n&#39;est pas valide"),
    ("expediteur", "portail@mairie.example\r\nBcc: x@evil.example", "retour à la ligne"),
    ("delai_reservation", "0", "entre 1 et 3650"),
    ("delai_absence", "-2", "entre 1 et 3650"),
    ("delai_contact", "trois", "entier valide"),
    ("retention_audit_mois", "", "Saisissez un nombre entier."),
])
def test_parametres_form_refuses_bad_values_and_writes_nothing(client, admin, champ, valeur, message):
    admin.login("admin@demo.fr")
    page = formulaire(client, delai_dossier_famille="9", **{champ: valeur})
    assert "Paramètres enregistrés." not in page and "invalid-feedback" in page and message in page
    db.session.expire_all()
    assert db.session.get(Parametre, "delai_dossier_famille").valeur == "5"
