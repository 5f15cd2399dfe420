"""HTTP hardening: security headers with a per-request CSP nonce, and the login rate limiter."""
import secrets

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Failed logins allowed per client address (successful ones are not counted).
LOGIN_LIMITS = "10 per minute;30 per hour"


def _log_breach(limit) -> None:
    current_app.logger.warning("Connexion : trop de tentatives depuis %s (limite %s)", request.remote_addr,
                               limit.limit)


limiter = Limiter(key_func=get_remote_address, default_limits=[], on_breach=_log_breach)


def csp_nonce() -> str:
    """This request's nonce: the one Flask-Admin's <script> tags carry and the CSP header allows."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    # Styles: Flask-Admin and Bootstrap use style attributes; scripts only from the site or nonced.
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if not request.path.startswith("/static/") and not request.path.startswith("/admin/static/"):
        # Pages and API answers carry personal data: never kept by the browser or a proxy.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if current_app.config.get("PORTAIL_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app) -> None:
    """Bind the limiter (Redis storage when REDIS_URL is set, memory otherwise) and the headers."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    app.after_request(_headers)
