"""Menu Demandes: the requests families made on the portal."""
from ..extensions import db
from ..models import Demande, utcnow
from .base import ReadOnlyModelView


def _delai(view, context, model, name):
    """Days since the request arrived."""
    return (utcnow() - model.created_at).days


class DemandeView(ReadOnlyModelView):
    """Demandes: consultation of every request; contact requests are answered from the detail page."""

    column_list = ("reference", "created_at", "citoyen", "email", "type", "etat", "delai")
    column_labels = {
        "reference": "Référence", "created_at": "Date de la demande", "citoyen": "Compte citoyen",
        "email": "Email", "type": "Type", "etat": "État", "delai": "Délai",
    }
    column_sortable_list = ("reference", "created_at", "email", "type", "etat")
    column_searchable_list = ("reference", "email")
    column_default_sort = [("created_at", True), ("id", True)]
    column_formatters = {
        "type": lambda v, c, m, n: Demande.TYPES.get(m.type, m.type),
        "etat": lambda v, c, m, n: Demande.ETATS.get(m.etat, m.etat),
        "delai": _delai,
    }


def register(admin):
    admin.add_view(DemandeView(Demande, db, name="Demandes", endpoint="demandes"))
