"""Agent login and logout (Flask-Login), the loader that checks the session version, session timeouts."""
import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from .extensions import db, login_manager
from .models import Agent
from .security import LOGIN_LIMITS, limiter
from .services import audit
from .services.agents import authenticate

bp = Blueprint("auth", __name__)
#: Defaults of the idle timeout and of the absolute lifetime of a session (config overrides them).
IDLE_MINUTES = 30
MAX_HOURS = 10
GENERIC_ERROR = "Identifiants incorrects."


class LoginForm(FlaskForm):
    email = EmailField("Adresse e-mail", validators=[DataRequired("Saisissez votre adresse e-mail.")])
    password = PasswordField("Mot de passe", validators=[DataRequired("Saisissez votre mot de passe.")])


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: refuses //host, /\\host, schemes and anything with a netloc."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


@login_manager.user_loader
def load_agent(session_id: str):
    """Session ids are "id:version": a bumped version (logout, password change) refuses old cookies."""
    try:
        agent_id, version = (int(x) for x in session_id.split(":"))
    except ValueError:
        return None
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.actif or agent.session_version != version:
        return None
    return agent


def _end_session() -> None:
    """Log out and forget everything the session held, including its CSRF secret."""
    logout_user()
    session.clear()


def _session_expired(now: float) -> bool:
    idle = current_app.config.get("SESSION_IDLE_MINUTES", IDLE_MINUTES) * 60
    lifetime = current_app.config.get("SESSION_MAX_HOURS", MAX_HOURS) * 3600
    return now - session.get("vu", 0) > idle or now - session.get("debut", 0) > lifetime


@bp.before_app_request
def _check_session():
    """End sessions idle too long or too old; writes made during this request are audited under the agent."""
    if request.endpoint in ("static", "admin.static") or not current_user.is_authenticated:
        return None
    now = time.time()
    if _session_expired(now):
        current_app.logger.info("Session expirée pour %s", current_user.email)
        _end_session()
        flash("Votre session a expiré : reconnectez-vous.", "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    if now - session.get("vu", 0) > 60:
        session["vu"] = int(now)
    audit.set_actor("agent", current_user.id, current_user.email)
    return None


def _deduct_failure(response) -> bool:
    """Only failed attempts count toward the rate limit (a success redirects)."""
    return response.status_code != 302


@bp.route("/")
def home():
    """The site root leads to the back-office (which sends anonymous users to the login)."""
    return redirect(url_for("admin.index"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMITS, methods=["POST"], deduct_when=_deduct_failure)
def login():
    """The French login form; a wrong e-mail or password, or a locked account, gets the same message."""
    target = safe_next(request.args.get("next"), url_for("admin.index"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        agent = authenticate(form.email.data, form.password.data)
        db.session.commit()
        if agent is not None:
            login_user(agent)
            now = int(time.time())
            session["debut"] = session["vu"] = now
            return redirect(target)
        current_app.logger.warning("Échec de connexion pour %r depuis %s", (form.email.data or "")[:254],
                                   request.remote_addr)
        flash(GENERIC_ERROR, "error")
    return render_template("auth/login.html", form=form), 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """POST with CSRF; the session version is bumped so a copied cookie no longer works."""
    current_user.session_version += 1
    audit.record("logout", current_user._get_current_object())
    db.session.commit()
    _end_session()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("auth.login"))
