"""Append-only audit trail: who (agent, API token, job, CLI) did what to which record, when."""
import calendar
import contextlib
import datetime as dt
import decimal
import enum

import click
from flask import g, has_app_context, has_request_context, request
from rq import get_current_job
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Audit, utcnow

#: Columns whose changes are technical noise (timestamps, counters) and never recorded as field changes.
NOISY_COLUMNS = {"updated_at", "created_at", "synchronise_le", "last_used_at", "derniere_connexion",
                 "echecs_connexion", "verrouille_jusqu_a", "session_version", "avancement", "journal"}
#: Secret columns: a change is recorded, its value never.
SECRET_COLUMNS = {"password_hash", "token_hash"}
MASQUE = "(masqué)"
ANONYME = ("anonyme", None, "")
#: Screen labels of the actions and of the kinds of actor.
ACTIONS = {
    "create": "Création", "update": "Modification", "delete": "Suppression", "login": "Connexion",
    "logout": "Déconnexion", "login_failed": "Échec de connexion", "verrouillage": "Verrouillage du compte",
    "mot_de_passe": "Changement de mot de passe", "export": "Export", "desabonner": "Désabonnement",
    "reponse": "Réponse", "rgpd_export": "Export RGPD", "anonymisation": "Anonymisation",
    "purge_journal": "Purge du journal", "archiver": "Archivage", "desarchiver": "Désarchivage",
    "associer": "Association à un compte citoyen", "supprimer_compte": "Suppression d'un compte métier",
    "reception": "Réception d'une demande", "transmission": "Transmission à Enfance",
    "decision": "Décision sur une demande", "import": "Import Enfance", "relancer": "Relance d'un import",
    "interrompu": "Import interrompu", "test_notification": "Envoi d'un courriel de test",
}
ACTEURS = {"agent": "Agent", "api": "Jeton d'API", "job": "Tâche", "cli": "Commande", "anonyme": "Anonyme"}
#: Audit keys in session.info.
_PENDING = "audit_pending"
_SUSPENDED = "audit_suspendu"


def set_actor(kind: str, ident: int | None = None, label: str = "") -> None:
    """Declare who acts for the rest of this request, job or command ("agent", "api", "job", "cli")."""
    g.audit_actor = (kind, ident, label)


def current_actor() -> tuple[str, int | None, str]:
    """Who acts now: the request's agent or token, else the running RQ job, else the flask command."""
    if not has_app_context():
        return ANONYME
    if has_request_context() and "audit_actor" in g:
        return g.audit_actor
    job = get_current_job()
    if job is not None:
        # A worker keeps one app context for many jobs: the job, not a previous g, is the actor.
        return ("job", None, job.func_name or "")
    if "audit_actor" in g:
        return g.audit_actor
    command = click.get_current_context(silent=True)
    if command is not None:
        return ("cli", None, f"flask {command.info_name}")
    return ANONYME


def _ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(action: str, objet=None, details: dict | None = None, objet_type: str | None = None,
           objet_id=None) -> Audit:
    """Add one audit entry in the current transaction (the caller commits with the change itself).

    The action must be one of ACTIONS: the Journal shows each one under its French label.
    """
    if action not in ACTIONS:
        raise ValueError(f"Action d'audit sans libellé : {action}")
    kind, ident, label = current_actor()
    if objet is not None:
        objet_type = objet_type or type(objet).__name__
        objet_id = objet_id if objet_id is not None else getattr(objet, "id", None)
    entry = Audit(acteur_type=kind, acteur_id=ident, acteur=label[:254], action=action, objet_type=objet_type,
                  objet_id=None if objet_id is None else str(objet_id), details=jsonable(details or {}),
                  ip=_ip())
    db.session.add(entry)
    return entry


@contextlib.contextmanager
def suspendu(session=None):
    """Turn off automatic recording (bulk loads that record one summary entry themselves)."""
    session = session or db.session()
    previous = session.info.get(_SUSPENDED, False)
    session.info[_SUSPENDED] = True
    try:
        yield
    finally:
        session.info[_SUSPENDED] = previous


def jsonable(value):
    """Values as JSON can hold them: Decimal and dates as text, containers walked."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _shown(key: str, value):
    return MASQUE if key in SECRET_COLUMNS and value is not None else jsonable(value)


def _columns(obj):
    return [attr for attr in inspect(obj).mapper.column_attrs]


def _changes(obj) -> dict:
    """{"column": [before, after]} for the column attributes of obj changed in this flush."""
    changes = {}
    state = inspect(obj)
    for attr in _columns(obj):
        if attr.key in NOISY_COLUMNS:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        changes[attr.key] = [_shown(attr.key, before), _shown(attr.key, after)]
    return changes


def _values(obj) -> dict:
    """The record's column values, as kept in a deletion entry."""
    return {attr.key: _shown(attr.key, getattr(obj, attr.key, None)) for attr in _columns(obj)
            if attr.key not in NOISY_COLUMNS}


def _pk(obj) -> str | None:
    state = inspect(obj)
    key = state.mapper.primary_key_from_instance(obj)
    if any(part is None for part in key):
        return None
    return ":".join(str(part) for part in key)


def _before_flush(session, flush_context, instances):
    """Capture edits and deletions now (their "before" values and keys are gone after the flush)."""
    if session.info.get(_SUSPENDED):
        return
    # Reset each time: a failed flush never reaches after_flush and must not leak its entries.
    pending = session.info[_PENDING] = []
    for obj in session.dirty:
        if isinstance(obj, Audit) or not session.is_modified(obj, include_collections=False):
            continue
        changes = _changes(obj)
        if changes:
            pending.append(("update", obj, _pk(obj), changes))
    for obj in session.deleted:
        if not isinstance(obj, Audit):
            pending.append(("delete", obj, _pk(obj), {"valeurs": _values(obj), "libelle": _libelle(obj)}))
    for obj in session.new:
        if not isinstance(obj, Audit):
            pending.append(("create", obj, None, None))


def _after_flush(session, flush_context):
    """Write the captured entries in the same transaction (new records have their id by now)."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    kind, ident, label = current_actor()
    now, ip = utcnow(), _ip()
    rows = []
    for action, obj, pk, details in pending:
        if action == "create":
            pk, details = _pk(obj), {"libelle": _libelle(obj)}
        rows.append({"created_at": now, "acteur_type": kind, "acteur_id": ident, "acteur": label[:254],
                     "action": action, "objet_type": type(obj).__name__, "objet_id": pk,
                     "details": details, "ip": ip})
    session.connection().execute(Audit.__table__.insert(), rows)


def _libelle(obj) -> str:
    try:
        return str(obj)[:200]
    except Exception:  # a __str__ that needs an unloaded relation must not break the write it audits
        return type(obj).__name__


def init_app(app) -> None:
    """Record every create / update / delete made through the ORM (once per process: listeners are global)."""
    app.context_processor(lambda: {"audit_actions": ACTIONS, "audit_acteurs": ACTEURS})
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        # Setting an attribute expired by a commit must load its old value, or "before" would be lost.
        for mapper in db.Model.registry.mappers:
            if mapper.class_ is Audit:
                continue
            for attr in mapper.column_attrs:
                if attr.key not in NOISY_COLUMNS:
                    event.listen(getattr(mapper.class_, attr.key), "set", _keep_old_value, active_history=True)


def _keep_old_value(*_args) -> None:
    """Does nothing: registered for its active_history flag only."""


def historique(objet_type: str, objet_id) -> list[Audit]:
    """The entries on one record, newest first (the "Historique" section of detail pages)."""
    return list(db.session.scalars(
        db.select(Audit).where(Audit.objet_type == objet_type, Audit.objet_id == str(objet_id))
        .order_by(Audit.created_at.desc(), Audit.id.desc()).limit(200)))


def purger(mois: int, maintenant: dt.datetime | None = None) -> int:
    """Delete the entries older than the retention period (months); returns how many. The caller commits."""
    maintenant = maintenant or utcnow()
    limite = mois_avant(maintenant, mois)
    result = db.session.execute(db.delete(Audit).where(Audit.created_at < limite))
    record("purge_journal", objet_type="Audit", details={"avant": limite.isoformat(), "supprimees": result.rowcount})
    db.session.flush()
    return result.rowcount


def mois_avant(moment: dt.datetime, mois: int) -> dt.datetime:
    """moment shifted back by whole months (the day clamped to the target month's length)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - mois, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
