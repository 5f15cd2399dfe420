"""Agents of the back-office: creation, password hashing and checking."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email

from ..extensions import db
from ..models import Agent
from . import ServiceError

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# A hash to check against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("mot de passe factice")


def normalise_email(email: str) -> str:
    """Validate an e-mail's syntax and return it lower case, or raise ServiceError."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(f"Adresse e-mail invalide : {email!r}.") from exc


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères.")
    return _hasher.hash(password)


def check_password(agent: Agent | None, password: str) -> bool:
    """True when password matches the agent's hash; constant work when the agent is unknown."""
    try:
        return _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password or "") and agent is not None
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
