"""The factory, the WSGI entry point and the health endpoint."""
from portail_admin import create_app


def test_factory_builds_twice_in_one_process(database_url):
    first = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    second = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    assert first is not second
    assert "admin.index" in first.view_functions and "admin.index" in second.view_functions


def test_healthz_reports_database_and_inline_jobs(client):
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "inline"}


def test_healthz_reports_real_redis(database_url, redis_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "REDIS_URL": redis_url})
    assert app.test_client().get("/healthz").get_json()["redis"] == "ok"


def test_healthz_reports_unreachable_redis(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    body = app.test_client().get("/healthz").get_json()
    assert body["redis"] == "indisponible" and body["status"] == "degrade"


def test_root_sends_anonymous_user_to_login(client):
    response = client.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Mot de passe" in page and "Adresse e-mail" in page
