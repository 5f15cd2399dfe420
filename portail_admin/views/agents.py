"""Administration › Agents: who can log into the back-office (create, edit, change password, deactivate)."""
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import LinkRowAction
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from ..extensions import db
from ..models import Agent
from ..services import ServiceError, agents
from .base import AdminOnlyMixin, PortailModelView, commit_or_flash

LONGUEUR = Length(min=agents.MIN_PASSWORD_LENGTH,
                  message=f"Le mot de passe doit contenir au moins {agents.MIN_PASSWORD_LENGTH} caractères.")


class MotDePasseForm(FlaskForm):
    """A new password, typed twice."""

    password = PasswordField("Nouveau mot de passe", validators=[DataRequired("Saisissez le mot de passe."),
                                                                 LONGUEUR])
    confirmation = PasswordField("Confirmation", validators=[
        EqualTo("password", message="Les deux mots de passe ne correspondent pas.")])


class AgentView(AdminOnlyMixin, PortailModelView):
    """Agents: e-mail, name, role and active flag; passwords never shown, set through the services."""

    can_delete = False
    column_list = ("email", "nom", "prenom", "role", "actif", "derniere_connexion")
    column_labels = {"email": "Email", "nom": "Nom", "prenom": "Prénom", "role": "Rôle", "actif": "Actif",
                     "derniere_connexion": "Dernière connexion", "created_at": "Créé le",
                     "verrouille_jusqu_a": "Verrouillé jusqu'à"}
    column_searchable_list = ("email", "nom")
    column_filters = ("role", "actif")
    column_formatters = {"role": lambda v, c, m, n: Agent.ROLES.get(m.role, m.role)}
    column_details_list = ("email", "nom", "prenom", "role", "actif", "derniere_connexion", "verrouille_jusqu_a",
                           "created_at")
    form_columns = ("nom", "prenom", "role", "actif")
    form_overrides = {"role": SelectField}
    form_args = {"role": {"choices": list(Agent.ROLES.items()), "label": "Rôle"},
                 "nom": {"label": "Nom"}, "prenom": {"label": "Prénom"}, "actif": {"label": "Actif"}}
    column_extra_row_actions = [LinkRowAction("fa fa-key", "mot-de-passe/?id={row_id}",
                                              title="Changer le mot de passe")]

    def get_create_form(self):
        """The edit form plus the e-mail and the first password (at least 12 characters)."""
        form = self.scaffold_form()
        form.email = EmailField("Email", validators=[DataRequired("Saisissez l'adresse e-mail.")])
        form.password = PasswordField("Mot de passe", validators=[DataRequired("Saisissez le mot de passe."),
                                                                  LONGUEUR])
        return form

    def create_model(self, form):
        def creer():
            agent = agents.create_agent(form.email.data, form.password.data, role=form.role.data,
                                        nom=form.nom.data or "", prenom=form.prenom.data or "")
            if not form.actif.data:
                agents.deactivate(agent)
            return agent

        agent, ok = commit_or_flash(creer)
        return agent if ok else False

    def update_model(self, form, model):
        _none, ok = commit_or_flash(agents.update_agent, model, form.nom.data, form.prenom.data, form.role.data,
                                    form.actif.data, current_user._get_current_object())
        return ok

    @expose("/mot-de-passe/", methods=("GET", "POST"))
    def mot_de_passe_view(self):
        """Set a new password for an agent: the agent's open sessions end."""
        agent = db.session.get(Agent, request.args.get("id", type=int) or 0)
        if agent is None:
            abort(404)
        form = MotDePasseForm()
        if form.validate_on_submit():
            _none, ok = commit_or_flash(agents.set_password, agent, form.password.data)
            if ok:
                flash(f"Mot de passe de {agent.email} modifié : ses sessions ouvertes sont fermées.", "success")
                return redirect(get_redirect_target() or url_for(".index_view"))
        return self.render("admin/agents/mot_de_passe.html", form=form, agent=agent,
                           return_url=get_redirect_target() or url_for(".index_view"))

    @action("desactiver", "Désactiver", "Désactiver les agents sélectionnés ? Leurs sessions seront fermées.")
    def action_desactiver(self, ids):
        count = 0
        for agent in db.session.scalars(db.select(Agent).where(Agent.id.in_([int(i) for i in ids]))):
            try:
                agents.deactivate(agent, current_user._get_current_object())
            except ServiceError as exc:
                flash(str(exc), "error")
                continue
            count += 1
        db.session.commit()
        flash(f"{count} agent(s) désactivé(s).", "success")
