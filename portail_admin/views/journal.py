"""Administration › Journal: the audit trail, filterable, read-only (never edited or deleted from the UI)."""
from flask_admin.contrib.sqla.filters import FilterEqual

from ..formatting import details_audit
from ..models import Audit
from ..services.audit import ACTEURS, ACTIONS
from .base import AdminOnlyMixin, ReadOnlyModelView


def _details(view, context, model, name):
    return details_audit(model, complets=name == "details_complets")


class JournalView(AdminOnlyMixin, ReadOnlyModelView):
    """Journal: who did what to which record, when (UTC stored, shown in Paris time); newest first."""

    can_set_page_size = True
    # An entry has no history of its own.
    details_template = "admin/model/details.html"
    column_list = ("created_at", "acteur_type", "acteur", "action", "objet_type", "objet_id", "details", "ip")
    column_details_list = ("created_at", "acteur_type", "acteur_id", "acteur", "action", "objet_type", "objet_id",
                           "details_complets", "ip")
    column_labels = {"created_at": "Date", "acteur_type": "Type d'acteur", "acteur_id": "Identifiant de l'acteur",
                     "acteur": "Acteur", "action": "Action", "objet_type": "Objet", "objet_id": "N° de l'objet",
                     "details": "Détails", "details_complets": "Détails", "ip": "Adresse IP"}
    column_sortable_list = ("created_at",)
    column_default_sort = [("created_at", True), ("id", True)]
    column_searchable_list = ("acteur", "objet_id")
    column_filters = (
        "created_at",
        FilterEqual(Audit.action, "Action", options=sorted(ACTIONS.items(), key=lambda kv: kv[1])),
        FilterEqual(Audit.acteur_type, "Type d'acteur", options=list(ACTEURS.items())),
        "acteur",
        "objet_type",
        "objet_id",
    )
    column_formatters = {
        "action": lambda v, c, m, n: ACTIONS.get(m.action, m.action),
        "acteur_type": lambda v, c, m, n: ACTEURS.get(m.acteur_type, m.acteur_type),
        "details": _details,
        "details_complets": _details,
    }
