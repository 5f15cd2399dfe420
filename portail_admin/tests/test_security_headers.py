"""Security headers on every response, a CSP that real pages satisfy (nonced scripts, no inline handlers)."""
import re

from portail_admin import create_app

from .test_security_matrix import requests_for, rules

INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def assert_secure_headers(response, personal=True):
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    if personal:
        assert headers["Cache-Control"] == "no-store"


def test_headers_on_pages_api_errors_and_static(client, auth, demo_data):
    assert_secure_headers(client.get("/login"))
    assert_secure_headers(client.get("/admin/"))
    assert_secure_headers(client.get("/api/v1/openapi.json"))
    assert_secure_headers(client.get("/api/v1/inconnue"))
    assert_secure_headers(client.get("/healthz"))
    auth.login()
    assert_secure_headers(client.get("/admin/citoyens/"))
    assert_secure_headers(client.get("/admin/agents/"))
    static = client.get("/static/portail-securite.js")
    assert_secure_headers(static, personal=False)
    assert static.headers.get("Cache-Control") != "no-store"


def test_every_admin_page_runs_under_the_csp(app, client, auth, demo_data):
    """Scripts carry this response's nonce; no inline event handler is left (the CSP would block it)."""
    auth.login("admin@demo.fr")
    pages = 0
    for rule, method in rules(app, "/admin"):
        if method != "GET" or "<" in rule.rule:
            continue
        url = requests_for(app, rule, method)[0][1]
        response = client.get(url, follow_redirects=True)
        if not response.mimetype == "text/html":
            continue
        body = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        handler = INLINE_HANDLER.search(body)
        assert handler is None, (rule.rule, handler and handler.group(0)[:120])
        assert "javascript:alert" not in body
        for attributes in SCRIPT.findall(body):
            # Inline scripts need this response's nonce; scripts by address come from the site itself.
            source = re.search(r'src="([^"]*)"', attributes)
            assert (source and source.group(1).startswith("/")) or f'nonce="{nonce}"' in attributes, (
                rule.rule, attributes)
        pages += 1
    assert pages > 20
    print("\npages rendues sous CSP :", pages)


def test_nonce_changes_with_every_response(client, auth, demo_data):
    auth.login()
    first = client.get("/admin/").headers["Content-Security-Policy"]
    assert "'nonce-" in first and first != client.get("/admin/").headers["Content-Security-Policy"]


def test_production_errors_are_generic(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("PORTAIL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("PORTAIL_INSTANCE", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})

    def boom():
        raise RuntimeError("détail interne : mot de passe de la base")

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/api/v1/boom", "api_boom", view_func=boom)
    client = app.test_client()
    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Une erreur interne est survenue" in page
    assert "détail interne" not in page and "Traceback" not in page
    assert_secure_headers(response)
    response = client.get("/api/v1/boom")
    assert response.status_code == 500 and response.get_json() == {
        "erreur": "Une erreur interne est survenue. L'équipe technique en a été informée."}
