"""/healthz (liveness) and /readyz (database, Redis and migrations ready) for the hosting team."""
from flask_migrate import stamp

from portail_admin import create_app


def test_healthz_stays_200_even_when_migrations_lag(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_readyz_refuses_traffic_while_migrations_are_not_at_head(client):
    # The test database is built by create_all: no alembic_version, as a database nobody migrated.
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "non_pret"
    assert body["migrations"].startswith("en retard (base : aucune ; code : ")
    assert body["database"] == "ok" and body["redis"] == "inline"


def test_readyz_is_200_once_migrations_are_at_head(app, client):
    stamp()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "pret", "database": "ok", "redis": "inline", "migrations": "ok"}


def test_readyz_with_real_redis(database_url, redis_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    with app.app_context():
        stamp()
    body = app.test_client().get("/readyz").get_json()
    assert body["redis"] == "ok" and body["status"] == "pret"


def test_readyz_is_503_when_redis_or_the_database_is_down(database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        stamp()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "indisponible"

    missing = tmp_path / "absent" / "portail.db"
    down = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}"})
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "indisponible"
    assert response.get_json()["migrations"] == "indisponible"
