"""Administration › État des traitements: the mass imports from Enfance."""
from ..formatting import duree_fr
from ..models import UNIVERS, Traitement
from .base import AdminOnlyMixin, ReadOnlyModelView


class TraitementView(AdminOnlyMixin, ReadOnlyModelView):
    """État des traitements: one row per import run, newest first."""

    column_list = ("created_at", "duree", "avancement", "univers", "type", "nombre", "resultat")
    column_labels = {
        "created_at": "Date", "duree": "Durée", "avancement": "Avancement %", "univers": "Univers",
        "type": "Type", "nombre": "Nombre", "resultat": "Résultat",
    }
    column_sortable_list = ("created_at", "type", "nombre", "resultat")
    column_default_sort = [("created_at", True), ("id", True)]
    column_formatters = {
        "duree": lambda v, c, m, n: duree_fr(m.duree),
        "univers": lambda v, c, m, n: UNIVERS.get(m.univers, m.univers),
        "type": lambda v, c, m, n: Traitement.TYPES.get(m.type, m.type),
        "resultat": lambda v, c, m, n: "✓" if m.resultat == "succes" else Traitement.RESULTATS.get(m.resultat),
    }
