"""Menu Facturation: invoices, payments, statement of operations, monthly deposits."""
from flask_admin import expose

from ..extensions import db
from ..models import Facture, Operation, Reglement
from ..services import facturation
from .base import PortailBaseView, ReadOnlyModelView

CATEGORY = "Facturation"


class FactureView(ReadOnlyModelView):
    """Factures: invoices issued to the families (from Enfance)."""

    column_list = ("numero", "date_emission", "compte", "montant", "restant_du", "payable_en_ligne",
                   "date_echeance")
    column_labels = {
        "numero": "Numéro", "date_emission": "Date d'émission", "compte": "Destinataire", "montant": "Montant",
        "restant_du": "Restant dû", "payable_en_ligne": "Payable en ligne", "date_echeance": "Date d'échéance",
    }
    column_sortable_list = ("numero", "date_emission", "montant", "restant_du", "date_echeance")
    column_default_sort = [("date_emission", True), ("id", True)]


class ReglementView(ReadOnlyModelView):
    """Règlements: payments by the families (from Enfance)."""

    column_list = ("regle_le", "numero", "payeur", "mode", "encaisse", "ventile")
    column_labels = {
        "regle_le": "Réglé le", "numero": "Numéro unique", "payeur": "Payeur", "mode": "Mode de règlement",
        "encaisse": "Encaissé", "ventile": "Ventilé",
    }
    column_sortable_list = ("regle_le", "numero", "payeur", "encaisse", "ventile")
    column_default_sort = [("regle_le", True), ("id", True)]
    column_formatters = {"mode": lambda v, c, m, n: Reglement.MODES.get(m.mode, m.mode)}


class OperationView(ReadOnlyModelView):
    """Relevé d'opérations: every family's ledger with the running balance."""

    column_list = ("date", "compte", "type", "libelle", "debit", "credit", "solde")
    column_labels = {"date": "Date", "compte": "Compte", "type": "Opération", "libelle": "Libellé",
                     "debit": "Débit", "credit": "Crédit", "solde": "Solde"}
    column_sortable_list = ("date",)
    column_default_sort = [("date", True), ("id", True)]
    column_formatters = {"type": lambda v, c, m, n: Operation.TYPES.get(m.type, m.type)}


class DepotView(PortailBaseView):
    """Dépôt de factures / de règlements: per month, how many were deposited and their total."""

    #: The model whose deposits are shown, and the screen's wording.
    model = None
    noun = ""

    @expose("/")
    def index(self):
        rows = facturation.depots_mensuels(self.model)
        return self.render("admin/portail/depots.html", rows=rows, noun=self.noun)


def register(admin):
    admin.add_view(FactureView(Facture, db, name="Factures", category=CATEGORY, endpoint="factures"))
    admin.add_view(ReglementView(Reglement, db, name="Règlements", category=CATEGORY, endpoint="reglements"))
    admin.add_view(OperationView(Operation, db, name="Relevé d'opérations", category=CATEGORY,
                                 endpoint="operations"))
    depot_factures = type("DepotFacturesView", (DepotView,), {"model": Facture, "noun": "factures"})
    depot_reglements = type("DepotReglementsView", (DepotView,), {"model": Reglement, "noun": "règlements"})
    admin.add_view(depot_factures(name="Dépôt de factures", category=CATEGORY, endpoint="depot_factures"))
    admin.add_view(depot_reglements(name="Dépôt de règlements", category=CATEGORY, endpoint="depot_reglements"))
