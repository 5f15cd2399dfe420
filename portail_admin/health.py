"""Health endpoint for the hosting team: state of the database and of Redis."""
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
