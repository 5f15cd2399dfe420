"""Agent login and logout (Flask-Login), and the loader that checks the session version."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from .extensions import db, login_manager
from .models import Agent, utcnow
from .services import audit
from .services.agents import check_password, find_by_email

bp = Blueprint("auth", __name__)


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


@bp.before_app_request
def _declare_actor():
    """Writes made during this request are audited under the logged-in agent."""
    if current_user.is_authenticated:
        audit.set_actor("agent", current_user.id, current_user.email)


@bp.route("/")
def home():
    """The site root leads to the back-office (which sends anonymous users to the login)."""
    return redirect(url_for("admin.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The French login form; a wrong e-mail or password gets the same message."""
    target = safe_next(request.args.get("next"), url_for("admin.index"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        agent = find_by_email(form.email.data)
        if agent is not None and agent.actif and check_password(agent, form.password.data):
            agent.derniere_connexion = utcnow()
            db.session.commit()
            login_user(agent)
            return redirect(target)
        flash("Identifiants incorrects.", "error")
    return render_template("auth/login.html", form=form), 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """POST with CSRF; the session version is bumped so a copied cookie no longer works."""
    current_user.session_version += 1
    db.session.commit()
    logout_user()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("auth.login"))
