"""Health endpoints for the hosting team: /healthz (liveness) and /readyz (ready to take traffic)."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db
from .jobs import get_connection, is_inline

bp = Blueprint("health", __name__)


def _database_state() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "down"; the detail goes to the log
        current_app.logger.warning("healthz: database unreachable: %s", exc)
        return "indisponible"


def _redis_state() -> str:
    if is_inline():
        return "inline"
    try:
        get_connection().ping()
        return "ok"
    except Exception as exc:  # connection refused, timeout, auth...
        current_app.logger.warning("healthz: redis unreachable: %s", exc)
        return "indisponible"


@bp.route("/healthz")
def healthz():
    """Liveness: answers 200 with the state of the database and of Redis ("inline": jobs in-process)."""
    state = {"database": _database_state(), "redis": _redis_state()}
    ok = all(v in ("ok", "inline") for v in state.values())
    return jsonify(status="ok" if ok else "degrade", **state)


def _code_heads() -> set[str]:
    """The head revision(s) of the migrations shipped with this code (read once per process)."""
    heads = current_app.extensions.get("portail_migration_heads")
    if heads is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", current_app.extensions["migrate"].directory)
        heads = set(ScriptDirectory.from_config(config).get_heads())
        current_app.extensions["portail_migration_heads"] = heads
    return heads


def _migrations_state() -> str:
    from alembic.migration import MigrationContext

    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # unreachable database: already reported as such
        current_app.logger.warning("readyz: migrations unreadable: %s", exc)
        return "indisponible"
    if current == _code_heads():
        return "ok"
    shown = ", ".join(sorted(current)) or "aucune"
    return f"en retard (base : {shown} ; code : {', '.join(sorted(_code_heads()))})"


@bp.route("/readyz")
def readyz():
    """Readiness: 200 when the database answers, Redis answers (or jobs run inline) and migrations are at head;
    503 otherwise, so the load balancer sends no traffic to an instance that would fail."""
    state = {"database": _database_state(), "redis": _redis_state()}
    state["migrations"] = _migrations_state() if state["database"] == "ok" else "indisponible"
    ready = state["database"] == "ok" and state["redis"] in ("ok", "inline") and state["migrations"] == "ok"
    return jsonify(status="pret" if ready else "non_pret", **state), 200 if ready else 503
