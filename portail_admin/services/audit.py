"""Append-only audit trail: who (agent, API token, job, CLI) did what to which record, when."""
from flask import g, has_app_context, has_request_context, request

from ..extensions import db
from ..models import Audit


def set_actor(kind: str, ident: int | None = None, label: str = "") -> None:
    """Declare who acts for the rest of this request, job or command ("agent", "api", "job", "cli")."""
    g.audit_actor = (kind, ident, label)


def current_actor() -> tuple[str, int | None, str]:
    if has_app_context() and "audit_actor" in g:
        return g.audit_actor
    return ("anonyme", None, "")


def record(action: str, objet=None, details: dict | None = None, objet_type: str | None = None,
           objet_id=None) -> Audit:
    """Add one audit entry in the current transaction (the caller commits with the change itself)."""
    kind, ident, label = current_actor()
    if objet is not None:
        objet_type = objet_type or type(objet).__name__
        objet_id = objet_id if objet_id is not None else getattr(objet, "id", None)
    entry = Audit(acteur_type=kind, acteur_id=ident, acteur=label, action=action, objet_type=objet_type,
                  objet_id=None if objet_id is None else str(objet_id), details=details or {},
                  ip=request.remote_addr if has_request_context() else None)
    db.session.add(entry)
    return entry
