"""Authentication hardening: throttling, lockout, sessions that really end, timeouts, cookies, the Agents screen."""
import time

import sqlalchemy as sa

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.models import Agent, Audit
from portail_admin.services import agents

from .conftest import DEMO_PASSWORD, csrf_token


def agent_row(email="agent@demo.fr") -> Agent:
    db.session.expire_all()
    return db.session.scalar(sa.select(Agent).where(Agent.email == email))


def test_lockout_after_repeated_failures_refuses_even_the_right_password(app, client, auth, demo_data, caplog):
    for _ in range(agents.MAX_ECHECS):
        page = auth.login(password="mauvais-mot-de-passe").get_data(as_text=True)
        assert "Identifiants incorrects." in page
    assert agent_row().verrouille_jusqu_a is not None
    page = auth.login().get_data(as_text=True)
    assert "Identifiants incorrects." in page and "verrouill" not in page
    assert client.get("/admin/").status_code == 302
    assert "Échec de connexion pour 'agent@demo.fr'" in caplog.text
    # Once the lock has expired, the right password works again.
    db.session.execute(sa.update(Agent).where(Agent.email == "agent@demo.fr").values(
        verrouille_jusqu_a=agent_row().verrouille_jusqu_a.replace(year=2000)))
    db.session.commit()
    assert auth.login().status_code == 302
    assert client.get("/admin/").status_code == 200
    actions = [a.action for a in db.session.scalars(sa.select(Audit).order_by(Audit.id))]
    assert actions.count("login_failed") == agents.MAX_ECHECS + 1
    assert "verrouillage" in actions and actions[-1] == "login"


def test_login_is_throttled_per_address_with_a_french_429(app, client, auth, demo_data, caplog):
    statuses = [auth.login(email=f"inconnu{n}@demo.fr").status_code for n in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    response = auth.login(email="inconnu@demo.fr")
    assert "Trop de tentatives" in response.get_data(as_text=True)
    assert "trop de tentatives depuis 127.0.0.1" in caplog.text


def test_successful_logins_do_not_count_toward_the_throttle(client, auth, demo_data):
    for _ in range(12):
        assert auth.login().status_code == 302
        auth.logout()


def test_cookie_replayed_after_deactivation_or_password_change_is_refused(client, auth, demo_data):
    auth.login()
    cookie = client.get_cookie("session").value
    agents.set_password(agent_row(), "un-nouveau-mot-de-passe")
    db.session.commit()
    assert client.get("/admin/").status_code == 302
    client.set_cookie("session", cookie)
    assert client.get("/admin/").status_code == 302
    auth.login(password="un-nouveau-mot-de-passe")
    cookie = client.get_cookie("session").value
    assert client.get("/admin/").status_code == 200
    agents.deactivate(agent_row())
    db.session.commit()
    client.set_cookie("session", cookie)
    assert client.get("/admin/").status_code == 302


def test_idle_timeout_and_absolute_lifetime_end_the_session(client, auth, demo_data):
    auth.login()
    with client.session_transaction() as session:
        session["vu"] = int(time.time()) - 31 * 60
    response = client.get("/admin/citoyens/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert "Votre session a expiré" in client.get(response.location).get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    auth.login()
    with client.session_transaction() as session:
        session["debut"] = int(time.time()) - 11 * 3600
    assert client.get("/admin/").status_code == 302
    auth.login()
    assert client.get("/admin/").status_code == 200


def test_session_cookie_flags_in_production(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("PORTAIL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("PORTAIL_INSTANCE", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_admin_creates_an_agent_with_a_long_password_only(client, auth, demo_data):
    auth.login("admin@demo.fr")
    token = csrf_token(client, "/admin/agents/new/")
    form = {"csrf_token": token, "email": "nouvel.agent@demo.fr", "nom": "Petit", "prenom": "Léa", "role": "agent",
            "actif": "y", "password": "trop-court"}
    page = client.post("/admin/agents/new/", data=form).get_data(as_text=True)
    assert "au moins 12 caractères" in page
    assert agent_row("nouvel.agent@demo.fr") is None
    form["password"] = "un-mot-de-passe-solide"
    assert client.post("/admin/agents/new/", data=form).status_code == 302
    created = agent_row("nouvel.agent@demo.fr")
    assert created.password_hash.startswith("$argon2") and created.role == "agent"
    page = client.get("/admin/agents/").get_data(as_text=True)
    assert "nouvel.agent@demo.fr" in page and "$argon2" not in page
    auth.logout()
    assert auth.login("nouvel.agent@demo.fr", "un-mot-de-passe-solide").status_code == 302


def agent_cookie(client, auth) -> str:
    """The session cookie of a logged-in agent, kept aside as a stolen or forgotten browser would keep it."""
    auth.login()
    assert client.get("/admin/").status_code == 200
    cookie = client.get_cookie("session").value
    client.delete_cookie("session")
    return cookie


def test_admin_changes_a_password_and_the_agents_sessions_end(client, auth, demo_data):
    cookie = agent_cookie(client, auth)
    auth.login("admin@demo.fr")
    agent_id = agent_row().id
    url = f"/admin/agents/mot-de-passe/?id={agent_id}"
    token = csrf_token(client, url)
    page = client.post(url, data={"csrf_token": token, "password": "court", "confirmation": "court"})
    assert "au moins 12 caractères" in page.get_data(as_text=True)
    page = client.post(url, data={"csrf_token": token, "password": "nouveau-mot-de-passe",
                                       "confirmation": "autre-mot-de-passe"})
    assert "ne correspondent pas" in page.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "password": "nouveau-mot-de-passe",
                                           "confirmation": "nouveau-mot-de-passe"}, follow_redirects=True)
    assert "sessions ouvertes sont fermées" in response.get_data(as_text=True)
    client.set_cookie("session", cookie)
    assert client.get("/admin/").status_code == 302
    assert agents.check_password(agent_row(), "nouveau-mot-de-passe")
    assert db.session.scalar(sa.select(Audit.action).where(Audit.action == "mot_de_passe")) == "mot_de_passe"


def test_admin_deactivates_an_agent_who_is_logged_out_at_once(client, auth, demo_data):
    cookie = agent_cookie(client, auth)
    auth.login("admin@demo.fr")
    token = csrf_token(client, "/admin/agents/")
    response = client.post("/admin/agents/action/", data={
        "csrf_token": token, "action": "desactiver", "rowid": [agent_row().id, agent_row("admin@demo.fr").id]},
        follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "1 agent(s) désactivé(s)" in page and "votre propre compte" in page
    assert not agent_row().actif and agent_row("admin@demo.fr").actif
    client.set_cookie("session", cookie)
    assert client.get("/admin/").status_code == 302


def test_an_admin_cannot_deactivate_their_own_account_from_the_edit_form(client, auth, demo_data):
    auth.login("admin@demo.fr")
    admin = agent_row("admin@demo.fr")
    url = f"/admin/agents/edit/?id={admin.id}"
    page = client.post(url, data={"csrf_token": csrf_token(client, url), "nom": "Nouveau", "prenom": admin.prenom,
                                  "role": "admin"}, follow_redirects=True).get_data(as_text=True)
    assert "Vous ne pouvez pas désactiver votre propre compte." in page
    db.session.expire_all()
    assert agent_row("admin@demo.fr").actif and agent_row("admin@demo.fr").nom != "Nouveau"


def test_agent_cannot_reach_the_agents_screen_even_by_crafted_post(client, auth, demo_data):
    auth.login()
    token = csrf_token(client, "/admin/")
    admin_id = agent_row("admin@demo.fr").id
    for url, data in ((f"/admin/agents/mot-de-passe/?id={admin_id}", {"password": "x" * 20, "confirmation": "x" * 20}),
                      ("/admin/agents/action/", {"action": "desactiver", "rowid": admin_id}),
                      ("/admin/agents/new/", {"email": "pirate@demo.fr", "password": "x" * 20, "role": "admin"})):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert agent_row("admin@demo.fr").actif and agent_row("pirate@demo.fr") is None
    assert agents.check_password(agent_row("admin@demo.fr"), DEMO_PASSWORD)
