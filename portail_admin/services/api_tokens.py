"""API bearer tokens: created once (shown once), stored as a SHA-256 hash, scoped."""
import hashlib
import secrets

from ..extensions import db
from ..models import ApiToken, utcnow
from . import ServiceError


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(nom: str, scope: str) -> tuple[ApiToken, str]:
    """Create a token; returns the record and the plain token, which is never stored."""
    nom = (nom or "").strip()
    if not nom:
        raise ServiceError("Le nom du jeton est obligatoire.")
    if scope not in ApiToken.SCOPES:
        raise ServiceError(f"Portée inconnue : {scope!r} (attendu : {', '.join(ApiToken.SCOPES)}).")
    if db.session.scalar(db.select(ApiToken.id).where(ApiToken.nom == nom)):
        raise ServiceError(f"Un jeton nommé {nom!r} existe déjà.")
    plain = f"pa_{scope}_{secrets.token_urlsafe(32)}"
    token = ApiToken(nom=nom, scope=scope, token_hash=_digest(plain))
    db.session.add(token)
    db.session.flush()
    return token, plain


def authenticate(plain: str) -> ApiToken | None:
    """The active token matching plain, with its last use recorded; None otherwise."""
    if not plain:
        return None
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _digest(plain),
                                                         ApiToken.actif.is_(True)))
    if token is not None:
        token.last_used_at = utcnow()
    return token
