"""Menu Famille: individuals and the Enfance reference data (read-only)."""
from ..extensions import db
from ..formatting import oui_non
from ..models import Activite, Classe, Fermeture, Individu, Periode, PieceJustificative, Structure
from .base import ReadOnlyModelView

CATEGORY = "Famille"
SYNC = {"synchronise_le": "Date de synchronisation"}


class IndividuView(ReadOnlyModelView):
    """Individus: family members synchronised from Enfance."""

    column_list = ("nom_prenom", "reference", "synchronise_le", "role", "archive")
    column_labels = {"nom_prenom": "Nom - Prénom", "reference": "Référence", "role": "Rôle", "archive": "Archive",
                     "compte": "Compte famille", **SYNC}
    column_sortable_list = (("nom_prenom", "nom"), "reference", "synchronise_le", "role", "archive")
    column_searchable_list = ("nom", "prenom", "reference")
    column_default_sort = ("nom", False)
    column_formatters = {"archive": lambda v, c, m, n: oui_non(m.archive)}


class ActiviteView(ReadOnlyModelView):
    column_list = ("nom", "reference", "structure", "synchronise_le")
    column_labels = {"nom": "Activité", "reference": "Référence", "structure": "Structure", **SYNC}
    column_searchable_list = ("nom", "reference")


class StructureView(ReadOnlyModelView):
    column_list = ("nom", "reference", "type", "adresse", "synchronise_le")
    column_labels = {"nom": "Structure", "reference": "Référence", "type": "Type", "adresse": "Adresse", **SYNC}
    column_searchable_list = ("nom", "reference")


class ClasseView(ReadOnlyModelView):
    column_list = ("nom", "reference", "structure", "annee_scolaire", "synchronise_le")
    column_labels = {"nom": "Classe", "reference": "Référence", "structure": "Structure",
                     "annee_scolaire": "Année scolaire", **SYNC}
    column_searchable_list = ("nom", "reference")


class PeriodeView(ReadOnlyModelView):
    column_list = ("nom", "reference", "activite", "date_debut", "date_fin", "synchronise_le")
    column_labels = {"nom": "Période", "reference": "Référence", "activite": "Activité", "date_debut": "Début",
                     "date_fin": "Fin", **SYNC}
    column_searchable_list = ("nom", "reference")


class FermetureView(ReadOnlyModelView):
    column_list = ("activite", "reference", "date_debut", "date_fin", "motif", "synchronise_le")
    column_labels = {"activite": "Activité", "reference": "Référence", "date_debut": "Du", "date_fin": "Au",
                     "motif": "Motif", **SYNC}
    column_searchable_list = ("reference", "motif")


class PieceJustificativeView(ReadOnlyModelView):
    column_list = ("nom", "reference", "description", "obligatoire", "synchronise_le")
    column_labels = {"nom": "Pièce justificative", "reference": "Référence", "description": "Description",
                     "obligatoire": "Obligatoire", **SYNC}
    column_searchable_list = ("nom", "reference")


def register(admin):
    for view, model, name, endpoint in (
        (IndividuView, Individu, "Individus", "individus"),
        (ActiviteView, Activite, "Activités", "activites"),
        (StructureView, Structure, "Structures", "structures"),
        (ClasseView, Classe, "Classes", "classes"),
        (PeriodeView, Periode, "Périodes", "periodes"),
        (FermetureView, Fermeture, "Fermetures", "fermetures"),
        (PieceJustificativeView, PieceJustificative, "Pièces justificatives", "pieces"),
    ):
        admin.add_view(view(model, db, name=name, category=CATEGORY, endpoint=endpoint))
