"""Configuration: safe defaults for the embedded demo, everything else from the environment."""
import os
import secrets
from pathlib import Path


def _secret_key(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'portail.db'}"
    # Hosting platforms often hand out postgres:// URLs; SQLAlchemy wants the psycopg 3 driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping for an app whose instance folder is instance_path."""
    env = os.environ.get
    production = env("PORTAIL_ENV", "development") == "production"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Unset: jobs run in-process through the same RQ code path (see jobs/__init__.py).
        "REDIS_URL": env("REDIS_URL") or None,
        "RQ_QUEUES": ["default", "imports", "mails"],
        "MAIL_SERVER": env("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_USE_TLS": env("MAIL_USE_TLS", "0") == "1",
        "MAIL_USERNAME": env("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
        "MAIL_TIMEOUT": float(env("MAIL_TIMEOUT", "30")),
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "portail-famille@mairie.example"),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": env("TIMEZONE", "Europe/Paris"),
        "FLASK_ADMIN_SWATCH": "default",
        "PORTAIL_ENV": "production" if production else "development",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env("MAX_CONTENT_LENGTH", str(512 * 1024 * 1024))),
    }
