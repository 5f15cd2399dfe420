"""Administration › Notifications (the families' two e-mails) and Administration › Paramètres."""
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from ..extensions import db
from ..jobs.courriels import planifier
from ..models import ModeleNotification
from ..services import ServiceError, notifications
from ..services.courriels import sans_saut_de_ligne, valider_adresse
from .base import AdminOnlyMixin, PortailBaseView, PortailModelView, commit_or_flash


def _une_ligne(form, field):
    try:
        sans_saut_de_ligne(field.data or "", field.label.text)
    except ServiceError as exc:
        raise ValidationError(str(exc)) from exc


def _adresse(form, field):
    try:
        field.data = valider_adresse(field.data, field.label.text)
    except ServiceError as exc:
        raise ValidationError(str(exc)) from exc


class ModeleForm(FlaskForm):
    """The editable parts of a notification: its subject and its variable part."""

    sujet = StringField("Objet du courriel", validators=[
        DataRequired(message="L'objet du courriel est obligatoire."),
        Length(max=200, message="L'objet ne doit pas dépasser %(max)d caractères."), _une_ligne])
    partie_variable = TextAreaField("Partie variable", validators=[
        Length(max=5000, message="La partie variable ne doit pas dépasser %(max)d caractères.")])


class NotificationView(AdminOnlyMixin, PortailModelView):
    """Notifications: the accusé de réception and accusé de traitement e-mails; only the variable part is edited."""

    can_create = False
    can_delete = False
    can_view_details = False
    column_list = ("code", "sujet", "partie_variable", "updated_at")
    column_labels = {"code": "Notification", "sujet": "Objet", "partie_variable": "Partie variable",
                     "updated_at": "Modifiée le"}
    column_formatters = {"code": lambda v, c, m, n: str(m)}
    column_sortable_list = ()
    form_columns = ("sujet", "partie_variable")

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """Fixed part read-only, variable part and subject editable; Aperçu, Envoyer un test, Enregistrer."""
        gabarit = db.session.get(ModeleNotification, request.args.get("id", type=int) or 0)
        if gabarit is None or gabarit.code not in notifications.PARTIES_FIXES:
            flash("Notification introuvable.", "error")
            return redirect(url_for(".index_view"))
        form = ModeleForm(obj=gabarit)
        action = request.form.get("action", "enregistrer")
        valide = form.validate_on_submit()
        if valide and action == "test":
            courriel, ok = commit_or_flash(notifications.courriel_de_test, gabarit.code, form.sujet.data,
                                           form.partie_variable.data, current_user.email)
            if ok:
                planifier([courriel.id])
                flash(f"Courriel de test envoyé à {current_user.email} (texte du formulaire, non enregistré).",
                      "success")
        elif valide and action != "apercu":
            changements, ok = commit_or_flash(notifications.modifier_modele, gabarit, form.sujet.data,
                                              form.partie_variable.data)
            if ok:
                flash(f"{gabarit} enregistré." if changements else "Aucune modification.", "success")
                return redirect(url_for(".edit_view", id=gabarit.id))
        sujet, corps = notifications.apercu(gabarit.code, form.sujet.data or "", form.partie_variable.data or "")
        return self.render("admin/notifications/edit.html", form=form, modele=gabarit,
                           fixe=notifications.PARTIES_FIXES[gabarit.code], placeholders=notifications.PLACEHOLDERS,
                           exemple=notifications.EXEMPLE, apercu_sujet=sujet, apercu_corps=corps,
                           return_url=url_for(".index_view"))


class ParametresForm(FlaskForm):
    """Administration › Paramètres: who receives contact requests, who sends e-mails, when a request is late."""

    agent_contact_email = StringField("Adresse e-mail de l'agent de contact", validators=[_adresse])
    expediteur = StringField("Adresse d'expédition des courriels", validators=[_adresse])
    delai_dossier_famille = IntegerField("Modification du dossier famille")
    delai_reservation = IntegerField("Réservation")
    delai_absence = IntegerField("Absence")
    delai_contact = IntegerField("Nous contacter")
    retention_audit_mois = IntegerField("Conservation du journal d'audit (mois)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for cle in notifications.ENTIERS:
            champ = getattr(self, cle)
            champ.validators = [
                InputRequired(message="Saisissez un nombre entier."),
                NumberRange(min=1, max=3650, message="Saisissez un nombre entier entre %(min)s et %(max)s."),
            ]


class ParametreView(AdminOnlyMixin, PortailBaseView):
    """Paramètres: a form of the portal's settings, validated (not raw key/value editing)."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = ParametresForm(data=notifications.valeurs_parametres())
        if form.validate_on_submit():
            valeurs = {cle: form[cle].data for cle in (*notifications.ADRESSES, *notifications.ENTIERS)}
            changements, ok = commit_or_flash(notifications.modifier_parametres, valeurs)
            if ok:
                flash("Paramètres enregistrés." if changements else "Aucune modification.", "success")
                return redirect(url_for(".index"))
        return self.render("admin/notifications/parametres.html", form=form, delais=notifications.DELAIS)
