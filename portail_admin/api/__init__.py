"""JSON API for the citizen portal and the Enfance application: bearer tokens with a scope, JSON errors."""
import functools

from flask import Blueprint, g, jsonify, request

from ..extensions import csrf, db
from ..services import audit
from ..services.api_tokens import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Token-authenticated, no cookies: CSRF does not apply.
csrf.exempt(bp)


class ApiError(Exception):
    """An error answered as {"erreur": message, "details": ...} with an HTTP status."""

    def __init__(self, status: int, message: str, details=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def require_token(scope: str):
    """Decorate an endpoint: a valid bearer token of this scope, or 401 / 403 in JSON."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            kind, _, plain = header.partition(" ")
            token = authenticate(plain.strip()) if kind.lower() == "bearer" else None
            if token is None:
                raise ApiError(401, "Jeton d'accès absent ou invalide (en-tête Authorization: Bearer ...).")
            if token.scope != scope:
                raise ApiError(403, f"Ce jeton n'a pas la portée « {scope} » requise par cette adresse.")
            g.api_token = token
            audit.set_actor("api", token.id, token.nom)
            db.session.commit()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def json_body(kind=(dict,)):
    """The request's JSON body, or an ApiError that says what is wrong with it."""
    if not request.is_json:
        raise ApiError(415, "Le corps de la requête doit être du JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if body is None or not isinstance(body, kind):
        raise ApiError(400, "Le corps de la requête n'est pas un document JSON valide du type attendu.")
    return body


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    payload = {"erreur": error.message}
    if error.details is not None:
        payload["details"] = error.details
    response = jsonify(payload)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portail-admin"'
    return response


def init_app(app):
    # Imported for their routes on the blueprint.
    from . import (  # noqa: F401
        demandes,  # requests: portail intake, Enfance pull
        imports,  # mass imports from Enfance
        openapi,  # the OpenAPI document
    )

    app.register_blueprint(bp)
