"""Access-control matrix: every /admin and /api rule of app.url_map, as anonymous, agent and admin, every method.

Nothing here lists the screens: the rules are read from app.url_map and the views from Flask-Admin, so views other
issues add are covered by themselves. The only hand-written knowledge is the expected permission of each kind:
Administration is admin-only; an API rule /api/v1/<scope>/... needs a token of that scope.
"""
import hashlib
import re

import pytest
import sqlalchemy as sa
from flask_admin.model import BaseModelView
from flask_login import login_user

from portail_admin.extensions import db
from portail_admin.services.agents import find_by_email

from .conftest import csrf_token

ADMIN_ONLY_CATEGORY = "Administration"
PUBLIC_API = {"/api/v1/openapi.json"}
SKIP_METHODS = {"HEAD", "OPTIONS"}
#: Columns that legitimately change when someone logs in or uses a token; the audit trail grows by design.
VOLATILE = {"agents": {"derniere_connexion", "echecs_connexion", "verrouille_jusqu_a", "session_version"},
            "api_tokens": {"last_used_at"}}
#: Flask-Admin endpoints that write, and the read-only flag of the view that must refuse them.
WRITE_FLAGS = {"create_view": "can_create", "edit_view": "can_edit", "delete_view": "can_delete",
               "ajax_update": "column_editable_list"}


def snapshot() -> dict:
    """A checksum of every table but the audit trail (the volatile login columns left out)."""
    db.session.rollback()
    digest = {}
    for table in db.metadata.sorted_tables:
        if table.name == "audits":
            continue
        columns = [c for c in table.columns if c.name not in VOLATILE.get(table.name, ())]
        rows = db.session.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
        digest[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return digest


def admin_views(app) -> dict:
    """Flask-Admin views by endpoint."""
    return {view.endpoint: view for admin in app.extensions["admin"] for view in admin._views}


def concrete(rule) -> str:
    """The rule's path with its placeholders filled."""
    def fill(match):
        converter, _, name = match.group(1).rpartition(":")
        if name == "export_type" or name == "fmt":
            return "csv"
        return "1" if converter.startswith("int") else "x"
    return re.sub(r"<([^>]+)>", fill, rule.rule)


def is_model_view(view) -> bool:
    return isinstance(view, BaseModelView)


def first_pk(view):
    if not is_model_view(view):
        return None
    obj = db.session.scalar(sa.select(view.model).limit(1))
    return None if obj is None else view.get_pk_value(obj)


def offers(app, view, name, email) -> bool:
    """Whether the view offers this write to this user: a flag may depend on the role (delete: admins only)."""
    with app.test_request_context():
        login_user(find_by_email(email))
        return bool(getattr(view, WRITE_FLAGS[name]))


def requests_for(app, rule, method):
    """(method, url, form data) to try on a rule: Flask-Admin's endpoints get a real id and crafted writes."""
    views = admin_views(app)
    blueprint, _, name = rule.endpoint.partition(".")
    view = views.get(blueprint)
    url = concrete(rule)
    pk = first_pk(view) if view is not None else None
    data = {}
    if name in ("details_view", "edit_view") and pk is not None:
        url += f"?id={pk}"
    if name == "ajax_lookup":
        url += "?name=x&query=a"
    if method == "POST" and is_model_view(view):
        junk = {column.key: "pirate" for column in sa.inspect(view.model).mapper.column_attrs}
        if name == "delete_view":
            data = {"id": pk}
        elif name == "action_view":
            return [(method, url, {"action": action, "rowid": pk}) for action in view._actions_data] or [
                (method, url, {"action": "delete", "rowid": pk})]
        elif name == "ajax_update":
            data = {"list_form_pk": pk, **junk}
        elif name in ("create_view", "edit_view"):
            data = junk
        else:
            data = {"id": pk, "compte_id": pk, **junk}
    elif method == "POST":
        data = {"id": 1, "compte_id": 1}
    return [(method, url, data)]


def rules(app, prefix):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix) and not rule.endpoint.endswith(".static"):
            for method in sorted(rule.methods - SKIP_METHODS):
                yield rule, method


def send(client, method, url, data, token=None):
    if method == "GET":
        return client.get(url)
    body = dict(data)
    if token:
        body["csrf_token"] = token
    return client.open(url, method=method, data={k: v for k, v in body.items() if v is not None})


def expected_for_agent(view) -> bool:
    """True when an agent may use the view at all."""
    return view is None or view.category != ADMIN_ONLY_CATEGORY


@pytest.fixture
def figures():
    """Counts of (URL, role) pairs checked, printed at the end for the report."""
    counts = {}
    yield counts
    print("\nmatrice :", counts)


def test_anonymous_is_sent_to_login_on_every_admin_rule_and_nothing_changes(app, client, demo_data, figures):
    before = snapshot()
    token = csrf_token(client, "/login")
    checked = 0
    for rule, method in rules(app, "/admin"):
        for method_, url, data in requests_for(app, rule, method):
            response = send(client, method_, url, data, token)
            assert response.status_code == 302, (method_, url, response.status_code)
            assert response.location.startswith("/login"), (method_, url, response.location)
            checked += 1
    assert checked > 100
    assert snapshot() == before
    figures["anonyme /admin"] = checked


def test_agent_is_refused_administration_and_crafted_writes_change_nothing(app, client, auth, demo_data, figures):
    auth.login()
    views = admin_views(app)
    before = snapshot()
    refused = allowed = 0
    for rule, method in rules(app, "/admin"):
        view = views.get(rule.endpoint.partition(".")[0])
        name = rule.endpoint.partition(".")[2]
        for method_, url, data in requests_for(app, rule, method):
            if not expected_for_agent(view):
                token = csrf_token(client, "/admin/")
                response = send(client, method_, url, data, token)
                assert response.status_code == 403, (method_, url, response.status_code)
                assert "droits nécessaires" in response.get_data(as_text=True)
                refused += 1
            elif method_ == "GET":
                response = send(client, method_, url, data)
                assert response.status_code < 500 and response.status_code != 403, (url, response.status_code)
                allowed += 1
            elif view is not None and name in WRITE_FLAGS and not offers(app, view, name, "agent@demo.fr"):
                # A write the view does not offer, crafted by hand: refused, nothing changed.
                token = csrf_token(client, "/admin/")
                response = send(client, method_, url, data, token)
                assert response.status_code in (302, 400, 403, 404, 405), (url, response.status_code)
                refused += 1
    assert snapshot() == before
    assert refused > 50
    figures["agent refusé"] = refused
    figures["agent GET autorisé"] = allowed


def test_admin_reads_every_screen_and_get_never_changes_data(app, client, auth, demo_data, figures):
    auth.login("admin@demo.fr")
    views = admin_views(app)
    before = snapshot()
    checked = 0
    for rule, method in rules(app, "/admin"):
        view = views.get(rule.endpoint.partition(".")[0])
        name = rule.endpoint.partition(".")[2]
        for method_, url, data in requests_for(app, rule, method):
            if method_ == "GET":
                response = client.get(url)
                assert response.status_code < 500 and response.status_code != 403, (url, response.status_code)
                checked += 1
            elif view is not None and name in WRITE_FLAGS and not offers(app, view, name, "admin@demo.fr"):
                token = csrf_token(client, "/admin/")
                response = send(client, method_, url, data, token)
                assert response.status_code in (302, 400, 403, 404, 405), (url, response.status_code)
                checked += 1
    assert snapshot() == before
    figures["admin vérifié"] = checked


def test_actions_refused_to_an_agent_change_nothing(app, client, auth, demo_data):
    """Custom actions check the role themselves: an action the view hides from agents, posted by hand, is refused."""
    auth.login()
    before = snapshot()
    tried = 0
    for view in admin_views(app).values():
        if not getattr(view, "_actions_data", None) or not expected_for_agent(view):
            continue
        with app.test_request_context():
            login_user(find_by_email("agent@demo.fr"))
            hidden = [name for name in view._actions_data if not view.is_action_allowed(name)]
        for name in hidden:
            token = csrf_token(client, "/admin/")
            client.post(f"{view.url}/action/", data={"action": name, "rowid": first_pk(view), "csrf_token": token})
            tried += 1
    assert tried >= 13 and snapshot() == before
    print("\nactions cachées aux agents essayées :", tried)


def api_scope(rule) -> str | None:
    match = re.match(r"^/api/v\d+/([a-z]+)/", rule.rule)
    return match.group(1) if match else None


def test_api_refuses_missing_and_wrong_scope_tokens_and_nothing_changes(app, client, api_headers, demo_data, figures):
    from portail_admin.models import ApiToken

    headers = {scope: api_headers(scope) for scope in ApiToken.SCOPES}
    before = snapshot()
    checked = 0
    for rule, method in rules(app, "/api"):
        url = concrete(rule)
        if rule.rule in PUBLIC_API:
            continue
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, (method, url, response.status_code)
        assert "erreur" in response.get_json()
        response = client.open(url, method=method, json={}, headers={"Authorization": "Bearer pa_faux"})
        assert response.status_code == 401, (method, url, response.status_code)
        checked += 2
        scope = api_scope(rule)
        assert scope in ApiToken.SCOPES, f"{rule.rule}: une adresse d'API doit commencer par /api/v1/<portée>/"
        for other in ApiToken.SCOPES:
            if other != scope:
                response = client.open(url, method=method, json={}, headers=headers[other])
                assert response.status_code == 403, (method, url, other, response.status_code)
                assert "portée" in response.get_json()["erreur"]
                checked += 1
    assert snapshot() == before
    figures["api refus"] = checked


BAD_BODIES = [
    ("text/plain", b"pas du json"),
    ("application/json", b"{"),
    ("application/json", b"[]"),
    ("application/json", b"null"),
    ("application/json", b'"texte"'),
    ("application/json", b'{"a": ' * 50 + b"1" + b"}" * 50),
    ("application/json", b'{"email": 12, "type": [], "contenu": "x", "lignes": {"a": null}}'),
    ("application/json", b'{"\\u0000": "\\u0000", "email": "<img src=x onerror=alert(1)>"}'),
    ("application/x-www-form-urlencoded", b"a=1&b=2"),
]


def test_api_bad_inputs_get_a_json_4xx_and_change_nothing(app, client, api_headers, demo_data, figures):
    from portail_admin.models import ApiToken

    headers = {scope: api_headers(scope) for scope in ApiToken.SCOPES}
    before = snapshot()
    tried = {}
    for rule, method in rules(app, "/api"):
        scope = api_scope(rule)
        if method == "GET" or scope not in headers:
            continue
        url = concrete(rule)
        for content_type, body in BAD_BODIES:
            response = client.open(url, method=method, data=body, content_type=content_type, headers=headers[scope])
            assert 400 <= response.status_code < 500, (url, body[:40], response.status_code)
            assert "erreur" in response.get_json(), (url, body[:40])
            tried[rule.rule] = tried.get(rule.rule, 0) + 1
    assert snapshot() == before
    figures["api entrées invalides"] = tried


def test_every_post_without_csrf_token_is_refused(app, client, auth, demo_data, figures):
    """Forms, actions, deletes, ajax updates, logout: a POST without the token is a 400 and changes nothing."""
    auth.login("admin@demo.fr")
    before = snapshot()
    checked = 0
    for rule, method in rules(app, "/admin"):
        if method != "POST":
            continue
        for method_, url, data in requests_for(app, rule, method):
            response = send(client, method_, url, data)
            assert response.status_code == 400, (url, response.status_code)
            assert "Le formulaire a expiré" in response.get_data(as_text=True)
            checked += 1
    for url in ("/logout", "/login"):
        assert client.post(url, data={}).status_code == 400
        checked += 1
    assert client.get("/admin/").status_code == 200
    assert snapshot() == before
    figures["POST sans CSRF"] = checked


SECRETS = ("password_hash", "token_hash", "session_version", "$argon2")


def test_secrets_never_appear_on_any_screen_or_export(app, client, auth, demo_data, api_headers):
    from portail_admin.models import Agent, ApiToken

    api_headers("portail")
    hashes = [a.password_hash for a in db.session.scalars(sa.select(Agent))]
    hashes += [t.token_hash for t in db.session.scalars(sa.select(ApiToken))]
    auth.login("admin@demo.fr")
    pages = 0
    for rule, method in rules(app, "/admin"):
        if method != "GET":
            continue
        for _m, url, _d in requests_for(app, rule, method):
            body = client.get(url).get_data(as_text=True)
            for secret in (*SECRETS, *hashes):
                assert secret not in body, (url, secret[:20])
            pages += 1
    assert pages > 50


def test_extra_fields_posted_to_an_agent_form_change_nothing(app, client, auth, demo_data):
    from portail_admin.models import Agent

    agent = db.session.scalar(sa.select(Agent).where(Agent.email == "agent@demo.fr"))
    hash_before, version = agent.password_hash, agent.session_version
    auth.login("admin@demo.fr")
    token = csrf_token(client, f"/admin/agents/edit/?id={agent.id}")
    response = client.post(f"/admin/agents/edit/?id={agent.id}", data={
        "csrf_token": token, "nom": "Martin", "prenom": "Claire", "role": "agent", "actif": "y",
        "password_hash": "x", "session_version": "99", "email": "pirate@evil.example", "id": "999"})
    assert response.status_code == 302
    db.session.expire_all()
    agent = db.session.get(Agent, agent.id)
    assert (agent.password_hash, agent.session_version, agent.email) == (hash_before, version, "agent@demo.fr")


BAD_LIST_PARAMS = [
    "sort=999&desc=abc", "sort=abc", "page=-1", "page=abc&page_size=abc", "page=99999999", "page_size=-5",
    "page_size=1000000", "search=%25%27%3B--", "search=" + "a" * 3000, "flt0_0=2020-13-45", "flt99_99=%00",
    "flt0_0=1&flt0_0=2&flt1_3=",
]


def test_malformed_list_parameters_never_give_a_500(app, client, auth, demo_data, figures):
    auth.login("admin@demo.fr")
    tried = 0
    for view in admin_views(app).values():
        if not is_model_view(view):
            continue
        for params in BAD_LIST_PARAMS:
            response = client.get(f"{view.url}/?{params}")
            assert response.status_code < 500, (view.url, params, response.status_code)
            tried += 1
    figures["listes × paramètres invalides"] = tried


RETURN_TARGETS = ["//evil.example/", "/\\evil.example", "javascript:alert(1)", "https://evil.example/",
                  " javascript:alert(1)", "\\\\evil.example"]


def test_flask_admin_return_url_stays_inside_the_site(app, client, auth, demo_data):
    from portail_admin.models import Agent

    auth.login("admin@demo.fr")
    agent = db.session.scalar(sa.select(Agent).where(Agent.email == "agent@demo.fr"))
    for target in RETURN_TARGETS:
        page = client.get(f"/admin/agents/details/?id={agent.id}&url={target}").get_data(as_text=True)
        assert "evil.example" not in page and "javascript:alert" not in page, target
        token = csrf_token(client, f"/admin/agents/edit/?id={agent.id}")
        response = client.post(f"/admin/agents/edit/?id={agent.id}&url={target}", data={
            "csrf_token": token, "nom": "Martin", "prenom": "Claire", "role": "agent", "actif": "y"})
        assert response.status_code == 302 and response.location.startswith("/admin/agents/"), (target,
                                                                                                 response.location)
