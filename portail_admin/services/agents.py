"""Agents of the back-office: creation, passwords, deactivation, failed-login lockout."""
import datetime as dt
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context

from ..extensions import db
from ..models import Agent, utcnow
from . import ServiceError, audit

MIN_PASSWORD_LENGTH = 12
#: Consecutive failed logins that lock an account, and for how long.
MAX_ECHECS = 5
DUREE_VERROUILLAGE = dt.timedelta(minutes=15)
#: argon2 at the library's recommended cost, and a cheap one that only test configurations select.
_HASHERS = {False: PasswordHasher(), True: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)}


@functools.cache
def _hash_factice(fast: bool) -> str:
    """The hash checked when the e-mail is unknown, so timing does not reveal which accounts exist.

    Made on first need, not at import: a full-cost argon2 hash would add ~160 ms to every process start.
    """
    return _HASHERS[fast].hash("mot de passe factice")


def _fast() -> bool:
    """ARGON2_FAST is set by the test suite only: hundreds of logins would otherwise cost minutes."""
    return has_app_context() and bool(current_app.config.get("ARGON2_FAST"))


def normalise_email(email: str) -> str:
    """Validate an e-mail's syntax and return it lower case, or raise ServiceError."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(f"Adresse e-mail invalide : {email!r}.") from exc


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères.")
    return _HASHERS[_fast()].hash(password)


def check_password(agent: Agent | None, password: str) -> bool:
    """True when password matches the agent's hash; constant work when the agent is unknown."""
    try:
        # Verification follows the cost stored in the hash itself; the hasher only matters for the dummy.
        hasher = _HASHERS[_fast()]
        return hasher.verify(agent.password_hash if agent else _hash_factice(_fast()), password or "") and \
            agent is not None
    except (VerificationError, InvalidHashError):
        return False


def create_agent(email: str, password: str, role: str = "agent", nom: str = "", prenom: str = "") -> Agent:
    """Create an agent; refuses a duplicate e-mail, an unknown role or a short password."""
    if role not in Agent.ROLES:
        raise ServiceError(f"Rôle inconnu : {role!r} (attendu : agent ou admin).")
    email = normalise_email(email)
    if db.session.scalar(db.select(Agent.id).where(Agent.email == email)):
        raise ServiceError(f"Un agent existe déjà avec l'adresse {email}.")
    agent = Agent(email=email, password_hash=hash_password(password), role=role, nom=nom, prenom=prenom)
    db.session.add(agent)
    db.session.flush()
    return agent


def find_by_email(email: str) -> Agent | None:
    return db.session.scalar(db.select(Agent).where(Agent.email == (email or "").strip().lower()))


def set_password(agent: Agent, password: str) -> None:
    """Change an agent's password; every open session of the agent ends (its cookies stop working)."""
    agent.password_hash = hash_password(password)
    agent.session_version += 1
    agent.echecs_connexion = 0
    agent.verrouille_jusqu_a = None
    audit.record("mot_de_passe", agent)
    db.session.flush()


def update_agent(agent: Agent, nom: str, prenom: str, role: str, actif: bool, par: Agent | None = None) -> Agent:
    """Edit name, role and active flag; deactivating ends the agent's sessions. par: the agent making the change,
    who cannot deactivate their own account (nobody would be left to undo it)."""
    if par is not None and par.id == agent.id and not actif:
        raise ServiceError("Vous ne pouvez pas désactiver votre propre compte.")
    if role not in Agent.ROLES:
        raise ServiceError(f"Rôle inconnu : {role!r} (attendu : agent ou admin).")
    if agent.actif and not actif:
        agent.session_version += 1
    agent.nom, agent.prenom, agent.role, agent.actif = (nom or "").strip(), (prenom or "").strip(), role, bool(actif)
    db.session.flush()
    return agent


def deactivate(agent: Agent, par: Agent | None = None) -> None:
    """Deactivate an agent: no more login, open sessions end (never par's own account)."""
    update_agent(agent, agent.nom, agent.prenom, agent.role, False, par)


def is_locked(agent: Agent, now: dt.datetime | None = None) -> bool:
    return agent.verrouille_jusqu_a is not None and agent.verrouille_jusqu_a > (now or utcnow())


def authenticate(email: str, password: str) -> Agent | None:
    """The agent when the login is valid; None otherwise (unknown, inactive, locked or wrong password).

    Failures are counted per account; MAX_ECHECS in a row lock it for DUREE_VERROUILLAGE, during which even the
    right password is refused. Every outcome is audited.
    """
    agent = find_by_email(email)
    ok = check_password(agent, password)
    now = utcnow()
    if agent is not None and ok and agent.actif and not is_locked(agent, now):
        agent.echecs_connexion = 0
        agent.verrouille_jusqu_a = None
        agent.derniere_connexion = now
        # From here on the agent acts: the Journal shows the login under their name, not "Anonyme".
        audit.set_actor("agent", agent.id, agent.email)
        audit.record("login", agent)
        db.session.flush()
        return agent
    details = {"email": (email or "")[:254]}
    if agent is not None:
        if is_locked(agent, now):
            details["motif"] = "compte verrouillé"
        elif not agent.actif:
            details["motif"] = "compte désactivé"
        else:
            agent.echecs_connexion += 1
            if agent.echecs_connexion >= MAX_ECHECS:
                agent.verrouille_jusqu_a = now + DUREE_VERROUILLAGE
                agent.echecs_connexion = 0
                audit.record("verrouillage", agent, {"jusqu_a": agent.verrouille_jusqu_a})
    audit.record("login_failed", agent, details, objet_type="Agent")
    db.session.flush()
    return None
