"""Menu Citoyens: citizen accounts and business (family) accounts."""
from markupsafe import Markup

from ..extensions import db
from ..models import UNIVERS, Citoyen, CompteMetier
from .base import PortailModelView

CATEGORY = "Citoyens"


def _associe(view, context, model, name):
    if model.citoyen is None:
        return "Orphelin"
    return f"Associé ({model.citoyen.email})"


def _partenaire(view, context, model, name):
    return Markup('<span title="Partenaire">&#10004;</span>') if model.partenaire else ""


class CitoyenView(PortailModelView):
    """Comptes citoyens: the portal logins created by families (or by an agent for them)."""

    column_list = ("email", "nom", "prenom", "partenaire")
    column_labels = {"email": "Email", "nom": "Nom", "prenom": "Prénom", "partenaire": "Partenaire"}
    column_sortable_list = ("email", "nom", "prenom", "partenaire")
    column_searchable_list = ("email", "nom", "prenom")
    column_default_sort = ("email", False)
    column_formatters = {"partenaire": _partenaire}
    form_columns = ("email", "nom", "prenom", "civilite", "partenaire")


class CompteMetierView(PortailModelView):
    """Comptes métiers: accounts of the business applications; univers Enfance = family accounts."""

    can_create = False
    column_list = ("emetteur", "code", "libelle", "email", "citoyen")
    column_labels = {
        "emetteur": "Émetteur", "code": "Code compte", "libelle": "Compte", "email": "Email",
        "citoyen": "Associé", "univers": "Univers", "nom": "Nom", "prenom": "Prénom",
    }
    column_sortable_list = ("emetteur", "code", "nom", "email")
    column_searchable_list = ("code", "nom", "email")
    column_default_sort = ("nom", False)
    column_formatters = {"citoyen": _associe, "univers": lambda v, c, m, n: UNIVERS.get(m.univers, m.univers)}
    form_columns = ("nom", "prenom", "email")


def register(admin):
    admin.add_view(CitoyenView(Citoyen, db, name="Comptes citoyens", category=CATEGORY, endpoint="citoyens"))
    admin.add_view(CompteMetierView(CompteMetier, db, name="Comptes métiers", category=CATEGORY,
                                    endpoint="comptes_metier"))
