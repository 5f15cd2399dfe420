"""The append-only audit trail: automatic create/update/delete entries with their actor, screens, retention."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portail_admin.extensions import db
from portail_admin.jobs import get_queue
from portail_admin.models import Audit, Citoyen, Parametre, utcnow
from portail_admin.services import audit, parametres

from .conftest import csrf_token


def entries(**criteria) -> list[Audit]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Audit).filter_by(**criteria).order_by(Audit.id)))


def test_orm_writes_are_recorded_with_field_changes_and_actor(app):
    with app.test_request_context():
        audit.set_actor("api", 7, "portail-citoyen")
        citoyen = Citoyen(email="a@exemple.fr", nom="DUPONT", prenom="Ana")
        db.session.add(citoyen)
        db.session.commit()
        citoyen.nom = "DURAND"
        citoyen.created_at = utcnow()
        db.session.commit()
        citoyen_id = citoyen.id
        db.session.delete(citoyen)
        db.session.commit()
    create, update, delete = entries(objet_type="Citoyen", objet_id=str(citoyen_id))
    assert (create.action, create.acteur_type, create.acteur_id, create.acteur) == ("create", "api", 7,
                                                                                   "portail-citoyen")
    assert create.details == {"libelle": "a@exemple.fr"}
    # Only the business field: the noisy timestamp is left out.
    assert update.action == "update" and update.details == {"nom": ["DUPONT", "DURAND"]}
    assert delete.action == "delete" and delete.details["valeurs"]["nom"] == "DURAND"
    assert isinstance(create.created_at, dt.datetime) and abs(create.created_at - utcnow()) < dt.timedelta(minutes=1)


def test_secret_values_are_never_written_to_the_trail(app, demo_data):
    from portail_admin.services.agents import find_by_email, set_password

    set_password(find_by_email("agent@demo.fr"), "un-autre-mot-de-passe")
    db.session.commit()
    update = entries(action="update", objet_type="Agent")[-1]
    assert update.details == {"password_hash": ["(masqué)", "(masqué)"]}
    assert "$argon2" not in str([e.details for e in entries()])


def test_ui_edit_login_logout_and_failures_are_recorded(client, auth, demo_data):
    auth.login(password="mauvais-mot-de-passe")
    auth.login()
    citoyen = db.session.scalar(sa.select(Citoyen).order_by(Citoyen.id).limit(1))
    url = f"/admin/citoyens/edit/?id={citoyen.id}"
    token = csrf_token(client, url)
    client.post(url, data={"csrf_token": token, "email": citoyen.email, "nom": "NOUVEAU", "prenom": citoyen.prenom,
                           "civilite": citoyen.civilite or "", "partenaire": ""})
    auth.logout()
    actions = [(e.action, e.acteur_type, e.acteur) for e in entries()]
    assert ("login_failed", "anonyme", "") in actions
    assert ("login", "agent", "agent@demo.fr") in actions
    edits = entries(action="update", objet_type="Citoyen", objet_id=str(citoyen.id))
    assert edits and edits[-1].acteur == "agent@demo.fr" and edits[-1].details["nom"][1] == "NOUVEAU"
    assert edits[-1].ip == "127.0.0.1"
    assert ("logout", "agent", "agent@demo.fr") in actions


def test_jobs_and_commands_are_recorded_as_such(app, runner, demo_data):
    get_queue().enqueue(_renommer_job, "Job")
    result = runner.invoke(args=["purger-journal"])
    assert result.exit_code == 0, result.output
    job_entry = entries(action="update", objet_type="Parametre")[-1]
    assert job_entry.acteur_type == "job" and job_entry.acteur.endswith("_renommer_job")
    purge = entries(action="purge_journal")[-1]
    assert (purge.acteur_type, purge.acteur) == ("cli", "flask purger-journal")


def _renommer_job(valeur):
    parametre = db.session.get(Parametre, "expediteur")
    parametre.valeur = valeur
    db.session.commit()


def test_purge_keeps_the_retention_period_of_parametres(app, runner, demo_data):
    now = utcnow()
    for months in (1, 11, 13, 30):
        db.session.add(Audit(acteur_type="cli", action="test", created_at=now - dt.timedelta(days=months * 30.5)))
    db.session.commit()
    assert audit.purger(12) == 2
    db.session.commit()
    assert len(entries(action="test")) == 2
    db.session.get(Parametre, "retention_audit_mois").valeur = "abc"
    db.session.commit()
    result = runner.invoke(args=["purger-journal"])
    assert result.exit_code != 0 and "retention_audit_mois" in result.output
    assert parametres.DEFAULTS["retention_audit_mois"] == "12"


def test_journal_screen_is_admin_only_filterable_and_read_only(client, auth, demo_data):
    auth.login("admin@demo.fr")
    page = client.get("/admin/journal/").get_data(as_text=True)
    assert "Journal" in page and "Connexion" in page and "admin@demo.fr" in page
    assert "/admin/journal/new/" not in page and "/admin/journal/edit/" not in page
    page = client.get("/admin/journal/?search=inexistant").get_data(as_text=True)
    assert "admin@demo.fr" not in page.split("model-list")[-1]
    entry = entries(action="login")[-1]
    page = client.get(f"/admin/journal/details/?id={entry.id}").get_data(as_text=True)
    assert "Connexion" in page and "127.0.0.1" in page
    count = len(entries())
    token = csrf_token(client, "/admin/journal/")
    for url, data in ((f"/admin/journal/edit/?id={entry.id}", {"action": "rien"}),
                      ("/admin/journal/new/", {"action": "faux"}),
                      ("/admin/journal/delete/", {"id": entry.id}),
                      ("/admin/journal/action/", {"action": "delete", "rowid": entry.id}),
                      ("/admin/journal/ajax/update/", {"list_form_pk": entry.id, "action": "x"})):
        assert client.post(url, data={**data, "csrf_token": token}).status_code in (302, 403, 404, 405), url
    assert entries(id=entry.id)[0].action == "login" and not entries(action="faux")
    assert len(entries()) >= count
    auth.logout()
    auth.login()
    assert client.get("/admin/journal/").status_code == 403


def test_detail_pages_show_the_records_history(client, auth, demo_data):
    auth.login("admin@demo.fr")
    url_edit = "/admin/agents/edit/?id=1"
    token = csrf_token(client, url_edit)
    client.post(url_edit, data={"csrf_token": token, "nom": "Martin-Roux", "prenom": "Claire", "role": "agent",
                                "actif": "y"})
    page = client.get("/admin/agents/details/?id=1").get_data(as_text=True)
    assert "Historique" in page and "Modification" in page and "Martin → Martin-Roux" in page


def test_every_recorded_action_has_a_french_label_in_the_journal(app, client, auth, demo_data):
    with pytest.raises(ValueError, match="sans libellé"):
        audit.record("action_inconnue")
    with app.test_request_context():
        audit.set_actor("cli", None, "flask relancer")
        audit.record("relancer", objet_type="Traitement", objet_id=3)
        db.session.commit()
    auth.login("admin@demo.fr")
    page = client.get("/admin/journal/").get_data(as_text=True)
    assert "Relance d'un import" in page or "Relance d&#39;un import" in page
    assert ">relancer<" not in page
