"""Login through the real form, logout, deny by default, roles, safe redirects, CSRF."""
import re

import pytest

from portail_admin.auth import safe_next
from portail_admin.extensions import db
from portail_admin.models import Agent

from .conftest import DEMO_PASSWORD, csrf_token

SKIP_METHODS = {"HEAD", "OPTIONS"}


def admin_rules(app):
    """Every /admin rule with a concrete URL (placeholders filled)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.static":
            continue
        url = re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule.replace("<path:filename>", "x"))
        for method in sorted(rule.methods - SKIP_METHODS):
            yield method, url


def test_login_with_good_password_opens_back_office(client, auth, demo_data):
    response = auth.login(follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Portail Famille" in page and "agent@demo.fr" in page and "Se déconnecter" in page


@pytest.mark.parametrize("email,password", [("agent@demo.fr", "mauvais-mot-de-passe"),
                                            ("inconnu@demo.fr", DEMO_PASSWORD)])
def test_bad_login_gets_one_french_error_that_reveals_nothing(client, auth, demo_data, email, password):
    page = auth.login(email=email, password=password).get_data(as_text=True)
    assert "Identifiants incorrects." in page
    assert "inconnu" not in page.replace('value="inconnu@demo.fr"', "")
    assert client.get("/admin/").status_code == 302


def test_deactivated_agent_cannot_log_in(client, auth, demo_data):
    db.session.execute(db.update(Agent).where(Agent.email == "agent@demo.fr").values(actif=False))
    db.session.commit()
    assert "Identifiants incorrects." in auth.login().get_data(as_text=True)


def test_anonymous_user_is_refused_on_every_admin_url(app, client, demo_data):
    urls = list(admin_rules(app))
    assert len(urls) > 100
    for method, url in urls:
        response = client.open(url, method=method)
        assert response.status_code in (302, 400), (method, url, response.status_code)
        if response.status_code == 302:
            assert response.location.startswith("/login"), (method, url, response.location)


def test_agent_is_refused_on_administration_and_admin_is_not(client, auth, demo_data):
    auth.login()
    for endpoint in ("notifications", "parametres", "traitements", "agents"):
        assert client.get(f"/admin/{endpoint}/").status_code == 403
    page = client.get("/admin/").get_data(as_text=True)
    assert "Administration" not in page and "Citoyens" in page
    auth.logout()
    auth.login("admin@demo.fr")
    page = client.get("/admin/agents/").get_data(as_text=True)
    assert "agent@demo.fr" in page and "admin@demo.fr" in page


def test_login_follows_next_inside_the_site_only(client, auth, demo_data):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/admin/factures/", data={
        "email": "agent@demo.fr", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.location == "/admin/factures/"


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "javascript:alert(1)",
                                    "https://evil.example/", "/\t/evil.example", ""])
def test_safe_next_refuses_outside_targets(target):
    assert safe_next(target, "/admin/") == "/admin/"


def test_logout_is_a_post_with_csrf_and_old_cookie_stops_working(client, auth, demo_data):
    auth.login()
    cookie = client.get_cookie("session").value
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={})
    assert response.status_code == 400 and "Le formulaire a expiré" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200
    auth.logout()
    assert client.get("/admin/").status_code == 302
    # The copied cookie of the ended session is refused.
    client.set_cookie("session", cookie)
    assert client.get("/admin/").status_code == 302


def test_login_form_without_csrf_token_is_refused(client, demo_data):
    response = client.post("/login", data={"email": "agent@demo.fr", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302
