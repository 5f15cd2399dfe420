"""Fixtures: a fresh app and database per test, the real login form, demo data, real PostgreSQL and Redis.

TEST_DATABASE_URL selects the database the suite runs on (SQLite files by default, or PostgreSQL).
REQUIRE_SERVICES=1 (set by CI) turns "PostgreSQL / Redis not reachable" skips into failures.
"""
import os
import re
import shutil

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.services import demo

DEMO_PASSWORD = demo.DEMO_PASSWORD
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_service(name: str, reason: str):
    """Skip with a clear reason, or fail when CI says the service must be there."""
    message = f"{name} indisponible : {reason}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (REQUIRE_SERVICES=1)")
    pytest.skip(message)


def ensure_postgres_database(url: str) -> str:
    """Create the PostgreSQL database of url if missing (so parallel runs can each use their own)."""
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    except sa.exc.OperationalError as exc:
        require_service("PostgreSQL", str(exc).splitlines()[0])
    finally:
        admin.dispose()
    return url


def base_vide(backend: str, tmp_path, request, nom: str) -> str:
    """The URL of an empty database of that backend ("sqlite" or "postgresql"), for migration tests."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / (nom + '.db')}"
    url = ensure_postgres_database(request.getfixturevalue("postgres_url") + "_" + nom)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_url():
    """A reachable PostgreSQL database URL (for tests that must run on PostgreSQL whatever the suite's DB)."""
    return ensure_postgres_database(POSTGRES_URL)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """The suite's database with the schema built once: a SQLite file to copy, or a PostgreSQL URL."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgres"):
        ensure_postgres_database(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            db.drop_all()
            db.create_all()
            db.engine.dispose()
        return url
    path = tmp_path_factory.mktemp("db") / "template.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "TESTING": True})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return path


@pytest.fixture
def database_url(database_template, tmp_path):
    """A fresh, empty database for one test."""
    if isinstance(database_template, str):
        engine = sa.create_engine(database_template)
        with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # Not a model table: a test that stamps the migrations must not leak into the next one.
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
        return database_template
    path = tmp_path / "test.db"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url, tmp_path):
    """A fresh app on a fresh database; jobs run in-process, e-mail goes nowhere."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "MAIL_SUPPRESS_SEND": True,
        "ARGON2_FAST": True,
        "SERVER_NAME": "localhost",
        # Import batches are kept per test, not in the repository's instance/ folder.
        "IMPORTS_FOLDER": str(tmp_path / "imports"),
    })
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo_data(app):
    """A small demo municipality (20 families) with the demo agents."""
    counts = demo.load(familles=20)
    db.session.commit()
    return counts


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form on a page, as a browser would read it."""
    body = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', body)
    assert match, f"pas de jeton CSRF sur {url}"
    return match.group(1)


class AuthActions:
    """Log in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, email="agent@demo.fr", password=DEMO_PASSWORD, follow_redirects=False):
        token = csrf_token(self.client, "/login")
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                                follow_redirects=follow_redirects)

    def logout(self):
        token = csrf_token(self.client, "/admin/")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def enfance(api_headers):
    """The headers of the Enfance application's API token."""
    return api_headers("enfance")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def redis_url():
    """A reachable Redis database for job tests, emptied before the test."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisConnectionError as exc:
        require_service("Redis", str(exc))
    conn.flushdb()
    yield REDIS_URL
    conn.flushdb()
    conn.close()


@pytest.fixture
def api_headers(app):
    """A factory of Authorization headers for a fresh API token of a scope."""
    from portail_admin.services.api_tokens import create_token

    def make(scope: str) -> dict:
        _token, plain = create_token(f"test-{scope}-{make.count}", scope)
        make.count += 1
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    make.count = 0
    return make
