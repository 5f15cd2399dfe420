"""Portail Famille back-office: the application factory."""
import os
from pathlib import Path

from flask import Flask, g

from . import api, auth, cli, errors, formatting, health, logs, security
from .config import load_config
from .extensions import babel, csrf, db, login_manager, mail, migrate
from .services import audit
from .views import init_admin

MIGRATIONS = str(Path(__file__).parent / "migrations")


def _g_neuf() -> None:
    """Start every request with an empty g.

    g belongs to the app context, and a request reuses one already pushed (tests, commands): the previous
    request's agent, CSRF token, audit actor, CSP nonce or list state would otherwise be carried over.
    """
    for key in list(g):
        g.pop(key)


def create_app(test_config: dict | None = None) -> Flask:
    """Build a configured app; test_config overrides the environment (tests use their own database)."""
    app = Flask(__name__, instance_path=os.environ.get("PORTAIL_INSTANCE") or None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)

    app.before_request(_g_neuf)
    # First after it, so every request (even one refused by a later hook) gets its id and its log line.
    logs.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr", timezone_selector=lambda: "Europe/Paris")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder au back-office."
    login_manager.login_message_category = "info"

    formatting.init_app(app)
    security.init_app(app)
    audit.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    api.init_app(app)
    init_admin(app)
    cli.init_app(app)

    errors.init_app(app)
    return app
