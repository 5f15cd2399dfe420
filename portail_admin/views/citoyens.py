"""Menu Citoyens: citizen accounts and business (family) accounts, and the links between them."""
from flask import current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.helpers import get_redirect_target
from flask_admin.model.fields import AjaxSelectField
from flask_admin.model.template import BaseListRowAction, LinkRowAction, TemplateLinkRowAction
from flask_login import current_user
from markupsafe import Markup
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from ..extensions import db
from ..models import UNIVERS, Citoyen, CompteMetier
from ..services import citoyens as service
from .base import PortailForm, PortailModelView, colonne_oui_non, colonne_univers, commit_or_flash

CATEGORY = "Citoyens"
#: The family accounts are those of this univers: the Comptes métiers screen opens on it.
UNIVERS_FAMILLE = "enfance"
#: Maximum answers of the search-as-you-type lookup of citizen accounts.
LOOKUP_LIMIT = 10


def _associe(view, context, model, name):
    if model.citoyen is None:
        return "Orphelin"
    return f"Associé ({model.citoyen.email})"


def _partenaire(view, context, model, name):
    return Markup('<span title="Partenaire">&#10004;</span>') if model.partenaire else ""


def _base(endpoint) -> str | None:
    """url_for(endpoint), built once per request (list rows append their id), None if the app has no such page."""
    cache = g.setdefault("citoyens_urls", {})
    if endpoint not in cache:
        cache[endpoint] = url_for(endpoint) if endpoint in current_app.view_functions else None
    return cache[endpoint]


def comptes_du_citoyen_url(citoyen_id: int) -> str:
    """The Comptes métiers list showing exactly the family accounts of a citizen account."""
    return f"{_base('comptes_metier.index_view')}?flt0_citoyen={int(citoyen_id)}"


def citoyen_url(citoyen_id: int) -> str:
    return f"{_base('citoyens.details_view')}?id={int(citoyen_id)}"


def individus_du_compte_url(compte_id: int) -> str:
    """The Famille › Individus list filtered on a family account."""
    return f"{_base('individus.index_view')}?compte_id={int(compte_id)}"


def fiche_famille_url(compte_id: int) -> str:
    """The family file page of an account (Famille menu)."""
    return f"{_base('fiche_famille.index')}?compte_id={int(compte_id)}"


# --------------------------------------------------------------------------- Filters


class NamedFilter(BaseSQLAFilter):
    """A filter with a short, stable URL argument (flt0_<url_name>=value), so links can target it."""

    url_name = ""
    operation_label = "égal à"

    def operation(self):
        return self.operation_label


class UniversFilter(NamedFilter):
    """Univers of the account; "tous" lifts the default restriction to Enfance."""

    url_name = "univers"
    TOUS = "tous"

    def data_options(self):
        present = service.valeurs_presentes(CompteMetier.univers)
        return [(self.TOUS, "Tous les univers")] + [(u, UNIVERS.get(u, u)) for u in present]

    def apply(self, query, value, alias=None):
        if value == self.TOUS:
            return query
        return query.filter(CompteMetier.univers == value)


class EmetteurFilter(NamedFilter):
    url_name = "emetteur"

    def data_options(self):
        return [(e, e) for e in service.valeurs_presentes(CompteMetier.emetteur)]

    def apply(self, query, value, alias=None):
        return query.filter(CompteMetier.emetteur == value)


class AssocieFilter(NamedFilter):
    url_name = "associe"
    operation_label = "est"

    def apply(self, query, value, alias=None):
        if value == "orphelin":
            return query.filter(CompteMetier.citoyen_id.is_(None))
        return query.filter(CompteMetier.citoyen_id.is_not(None))


class CitoyenFilter(NamedFilter):
    """The family accounts of one citizen account (by id): the target of the citizen's "Comptes familles"."""

    url_name = "citoyen"

    def validate(self, value):
        return str(value).isdigit()

    def apply(self, query, value, alias=None):
        return query.filter(CompteMetier.citoyen_id == int(value))


# --------------------------------------------------------------------------- Row actions


class RowActionIf(BaseListRowAction):
    """A row action shown only on the rows where a condition holds."""

    def __init__(self, condition, row_action):
        super().__init__(title=row_action.title)
        self.condition = condition
        self.row_action = row_action

    def render(self, context, row_id, row):
        if not self.condition(row):
            return ""
        return self.row_action.render(context, row_id, row)


class CitoyenParEmail(QueryAjaxModelLoader):
    """Search-as-you-type on the start of the citizen's e-mail: an index range, at most LOOKUP_LIMIT rows."""

    def __init__(self):
        super().__init__("citoyen", db.session, Citoyen, fields=("email",), page_size=LOOKUP_LIMIT,
                         minimum_input_length=2, placeholder="Début de l'adresse e-mail du compte citoyen")

    def format(self, model):
        if model is None:
            return None
        return model.id, f"{model.email} ({model.nom} {model.prenom})"

    def get_one(self, pk):
        # A crafted, non-numeric id is "no choice", not a database error.
        return db.session.get(Citoyen, int(pk)) if str(pk).isdigit() else None

    def get_list(self, term, offset=0, limit=LOOKUP_LIMIT):
        return service.citoyens_par_prefixe(term, min(limit or LOOKUP_LIMIT, LOOKUP_LIMIT), offset or 0)


#: The lookup behind the Associer form's search-as-you-type (served by the view's ajax_lookup).
CITOYEN_LOOKUP = CitoyenParEmail()


# --------------------------------------------------------------------------- Forms


class CitoyenForm(PortailForm):
    """Fields an agent fills for a citizen account; the service validates, normalises and checks uniqueness."""

    email = StringField("Email", validators=[InputRequired("L'adresse e-mail est obligatoire."), Length(max=254)])
    nom = StringField("Nom", validators=[InputRequired("Le nom est obligatoire."), Length(max=120)])
    prenom = StringField("Prénom", validators=[InputRequired("Le prénom est obligatoire."), Length(max=120)])
    # The service checks the value: a citizen without civilité (None) must still be editable.
    civilite = SelectField("Civilité", default="", validate_choice=False, choices=[
        SelectChoice("", "—"), *(SelectChoice(code, label) for code, label in Citoyen.CIVILITES.items())])
    partenaire = BooleanField("Partenaire")


class CompteForm(PortailForm):
    """The fields of a family account the back-office may change; Enfance owns the others."""

    nom = StringField("Nom", validators=[InputRequired("Le nom est obligatoire."), Length(max=120)])
    prenom = StringField("Prénom", validators=[Length(max=120)])
    email = StringField("Email", validators=[Length(max=254)])


class AssocierForm(PortailForm):
    """The citizen account to link an Orphelin family account to, picked by the start of its e-mail."""

    citoyen = AjaxSelectField(CITOYEN_LOOKUP, "Compte citoyen (e-mail)",
                              validators=[InputRequired("Choisissez le compte citoyen à associer.")])


class ServiceModelView(PortailModelView):
    """Creation, edition and deletion go through services; a refusal becomes a French flash message."""

    list_template = "admin/citoyens/list.html"

    @property
    def can_delete(self) -> bool:
        """Deleting an account is an admin's decision; agents unsubscribe instead (deny by default)."""
        return bool(getattr(current_user, "is_admin", False))


# --------------------------------------------------------------------------- Comptes citoyens


class CitoyenView(ServiceModelView):
    """Comptes citoyens: the portal logins created by families (or by an agent for them)."""

    details_template = "admin/citoyens/citoyen_details.html"
    form = CitoyenForm
    column_list = ("email", "nom", "prenom", "partenaire")
    column_labels = {"email": "Email", "nom": "Nom", "prenom": "Prénom", "partenaire": "Partenaire",
                     "civilite": "Civilité", "created_at": "Créé le"}
    column_details_list = ("email", "nom", "prenom", "civilite", "partenaire", "created_at")
    column_sortable_list = ("email", "nom", "prenom", "partenaire")
    column_searchable_list = ("email", "nom", "prenom")
    column_default_sort = ("email", False)
    column_formatters = {"partenaire": _partenaire}
    column_formatters_detail = {"partenaire": colonne_oui_non,
                                "civilite": lambda v, c, m, n: Citoyen.CIVILITES.get(m.civilite, "")}
    column_extra_row_actions = [
        LinkRowAction("fa fa-home", lambda action, row_id, row: comptes_du_citoyen_url(row_id), "Comptes familles"),
    ]

    def create_model(self, form):
        data = form.data
        citoyen, ok = commit_or_flash(service.creer_citoyen, data["email"], data["nom"], data["prenom"],
                                            data["civilite"], data["partenaire"])
        return citoyen if ok else False

    def update_model(self, form, model):
        data = form.data
        _changes, ok = commit_or_flash(
            lambda: service.modifier_citoyen(model, data["email"], data["nom"], data["prenom"], data["partenaire"],
                                             data["civilite"]))
        return ok

    def delete_model(self, model):
        _ids, ok = commit_or_flash(service.supprimer_citoyen, model)
        return ok

    @action("delete", "Supprimer",
            "Supprimer les comptes citoyens sélectionnés ? Leurs comptes familles resteront, orphelins.")
    def action_delete(self, ids):
        count, ok = commit_or_flash(service.supprimer_citoyens, ids)
        if ok:
            flash(f"{count} compte(s) citoyen(s) supprimé(s) ; leurs comptes familles sont désormais orphelins.",
                  "success")

    def nombre_comptes(self, citoyen) -> int:
        return db.session.scalar(db.select(db.func.count(CompteMetier.id)).where(
            CompteMetier.citoyen_id == citoyen.id))


# --------------------------------------------------------------------------- Comptes métiers


class CompteMetierView(ServiceModelView):
    """Comptes métiers: accounts of the business applications; univers Enfance = family accounts."""

    can_create = False
    details_template = "admin/citoyens/compte_details.html"
    edit_template = "admin/citoyens/compte_edit.html"
    form = CompteForm
    column_list = ("emetteur", "code", "libelle", "email", "citoyen")
    column_labels = {
        "emetteur": "Émetteur", "code": "Code compte", "libelle": "Compte", "email": "Email",
        "citoyen": "Associé", "univers": "Univers", "nom": "Nom", "prenom": "Prénom",
        "synchronise_le": "Date de synchronisation", "archive": "Archive",
    }
    column_details_list = ("univers", "emetteur", "code", "nom", "prenom", "email", "citoyen", "synchronise_le",
                           "archive")
    column_sortable_list = ("emetteur", "code", ("libelle", ("nom", "prenom")), "email")
    column_searchable_list = ("code", "nom", "email")
    column_default_sort = ("nom", False)
    column_formatters = {"citoyen": _associe, "univers": colonne_univers}
    column_formatters_detail = {**column_formatters, "archive": colonne_oui_non}
    column_filters = (
        UniversFilter(CompteMetier.univers, "Univers"),
        EmetteurFilter(CompteMetier.emetteur, "Émetteur"),
        AssocieFilter(CompteMetier.citoyen_id, "Associé", options=(("associe", "Associé"), ("orphelin", "Orphelin"))),
        CitoyenFilter(CompteMetier.citoyen_id, "Compte citoyen (n°)"),
    )
    form_ajax_refs = {"citoyen": CITOYEN_LOOKUP}
    column_extra_row_actions = [
        RowActionIf(lambda row: row.citoyen_id is not None, LinkRowAction(
            "fa fa-user", lambda action, row_id, row: citoyen_url(row.citoyen_id), "Compte citoyen")),
        LinkRowAction("fa fa-users", lambda action, row_id, row: individus_du_compte_url(row_id), "Individus"),
        LinkRowAction("fa fa-address-card", lambda action, row_id, row: fiche_famille_url(row_id), "Fiche famille"),
        RowActionIf(lambda row: row.citoyen_id is not None,
                    TemplateLinkRowAction("citoyens_actions.desabonner", "Désabonner")),
        RowActionIf(lambda row: row.citoyen_id is None, LinkRowAction(
            "fa fa-link", lambda action, row_id, row: f"{_base('comptes_metier.associer_view')}?id={int(row_id)}",
            "Associer")),
    ]

    def get_filter_arg(self, index, flt):
        return getattr(flt, "url_name", "") or super().get_filter_arg(index, flt)

    def _get_filter_groups(self):
        # Flask-Admin computes filter options once at start-up; univers and émetteurs come from today's data.
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]
                if hasattr(flt, "data_options"):
                    item["options"] = flt.data_options()
        return groups

    def _get_list_filter_args(self):
        # Without any filter in the URL the screen opens on the family accounts: univers Enfance, shown as an
        # active filter the agent can change (another univers, or "Tous les univers").
        if any(arg.startswith("flt") for arg in request.args):
            return super()._get_list_filter_args()
        index = next(i for i, flt in enumerate(self._filters) if isinstance(flt, UniversFilter))
        return [(index, self._filters[index].name, UNIVERS_FAMILLE)]

    def citoyen_filtre(self, active_filters):
        """The citizen account the list is restricted to, to title the page, or None."""
        for index, _name, value in active_filters or ():
            if isinstance(self._filters[index], CitoyenFilter) and str(value).isdigit():
                return db.session.get(Citoyen, int(value))
        return None

    def update_model(self, form, model):
        data = form.data
        _changes, ok = commit_or_flash(
            lambda: service.modifier_compte(model, data["nom"], data["prenom"], data["email"]))
        return ok

    def delete_model(self, model):
        _deleted, ok = commit_or_flash(service.supprimer_compte, model)
        return ok

    @action("delete", "Supprimer", "Supprimer les comptes sélectionnés ? Un compte qui a un historique "
                                   "(factures, règlements, demandes) ne sera pas supprimé.")
    def action_delete(self, ids):
        (count, refus), ok = commit_or_flash(service.supprimer_comptes, ids)
        if ok:
            if count:
                flash(f"{count} compte(s) supprimé(s).", "success")
            for message in refus:
                flash(message, "error")

    @action("desabonner", "Désabonner", "Désabonner les comptes sélectionnés de leur compte citoyen ? "
                                        "Les citoyens perdront l'accès à l'espace famille.")
    def action_desabonner(self, ids):
        result, ok = commit_or_flash(service.desabonner_comptes, ids)
        if ok:
            faits, deja = result
            if faits:
                flash(f"{faits} compte(s) désabonné(s) : désormais orphelin(s).", "success")
            if deja:
                flash(f"{deja} compte(s) déjà orphelin(s) : rien à désabonner.", "info")

    @expose("/desabonner/", methods=("POST",))
    def desabonner_view(self):
        """Unsubscribe one account (the row and detail-page button, a POST carrying the CSRF token)."""
        return_url = get_redirect_target() or url_for(".index_view")
        compte = db.session.get(CompteMetier, request.form.get("id", type=int) or 0)
        if compte is None:
            flash("Ce compte n'existe plus.", "error")
            return redirect(return_url)
        done, ok = commit_or_flash(service.desabonner, compte)
        if ok and done:
            flash(f"Le compte {compte.libelle} est désabonné : il est désormais orphelin.", "success")
        elif ok:
            flash(f"Le compte {compte.libelle} est déjà orphelin : rien à désabonner.", "info")
        return redirect(return_url)

    @expose("/associer/", methods=("GET", "POST"))
    def associer_view(self):
        """Associate an Orphelin account with a citizen account picked by e-mail (search-as-you-type)."""
        return_url = get_redirect_target() or url_for(".index_view")
        compte = db.session.get(CompteMetier, request.args.get("id", type=int) or 0)
        if compte is None:
            flash("Ce compte n'existe plus.", "error")
            return redirect(return_url)
        form = AssocierForm(request.form)
        if request.method == "POST" and form.validate():
            _none, ok = commit_or_flash(service.associer, compte, form.citoyen.data)
            if ok:
                flash(f"Le compte {compte.libelle} est associé à {form.citoyen.data.email}.", "success")
                return redirect(url_for(".details_view", id=compte.id))
        elif request.method == "POST":
            flash("Choisissez le compte citoyen à associer.", "error")
        return self.render("admin/citoyens/associer.html", compte=compte, form=form, return_url=return_url)

    def desabonner_url(self) -> str:
        return _base(f"{self.endpoint}.desabonner_view")

    def liens(self, compte) -> dict:
        """The linked records' pages of a family account, for its detail page."""
        return {"citoyen": citoyen_url(compte.citoyen_id) if compte.citoyen_id else None,
                "individus": individus_du_compte_url(compte.id), "fiche": fiche_famille_url(compte.id)}


def register(admin):
    admin.add_view(CitoyenView(Citoyen, db, name="Comptes citoyens", category=CATEGORY, endpoint="citoyens"))
    admin.add_view(CompteMetierView(CompteMetier, db, name="Comptes métiers", category=CATEGORY,
                                    endpoint="comptes_metier"))
