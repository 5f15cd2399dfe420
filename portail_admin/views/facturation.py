"""Menu Facturation: invoices, payments with their totals, statement of operations, monthly deposits, exports."""
from decimal import Decimal, InvalidOperation

from flask import Response, abort, flash, g, has_request_context, redirect, request, stream_with_context, url_for
from flask_admin import expose
from flask_admin.actions import action
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, Form, IntegerField, SelectChoice, SelectField, StringField
from wtforms.fields import DateField
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import HiddenInput

from .. import charts
from ..extensions import db
from ..formatting import aujourdhui, euros, mois_fr
from ..models import UNIVERS, CompteMetier, Facture, Operation, Reglement
from ..services import audit, exports, facturation
from .base import PortailBaseView, ReadOnlyModelView, colonne_oui_non, colonne_univers

CATEGORY = "Facturation"
#: Invoice status (Facture.statut) as shown: label and Bootstrap badge colour.
STATUTS = {statut: (Facture.STATUTS[statut], couleur)
           for statut, couleur in (("payee", "success"), ("partielle", "warning"), ("impayee", "danger"))}
#: Dates typed in the filters: the browser's date picker sends ISO, a person may type 29/10/2018.
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


class DateFiltre(DateField):
    """A filter date typed in ISO or jj/mm/aaaa, shown back in ISO: the only value an <input type="date"> accepts
    (a jj/mm/aaaa value would show an empty field, and the next Rechercher would drop the filter)."""

    def _value(self):
        return self.data.isoformat() if self.data else super()._value()
#: Rows fetched per round trip while an export streams.
EXPORT_LOT = 1000


# --------------------------------------------------------------------------- filter forms


class MontantField(StringField):
    """An amount typed the French way ("1 234,56", "10,90 €"), as a Decimal."""

    def process_formdata(self, valuelist):
        self.data = None
        texte = (valuelist[0] if valuelist else "").strip()
        if not texte:
            return
        nettoye = texte.replace("€", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            montant = Decimal(nettoye)
        except InvalidOperation:
            raise ValueError("Montant invalide : écrivez par exemple 10,90.") from None
        if not montant.is_finite() or montant != montant.quantize(Decimal("0.01")) or montant < 0:
            raise ValueError("Montant invalide : un montant positif, au centime près (10,90).")
        self.data = montant

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:.2f}".replace(".", ",")


class FiltresForm(Form):
    """Filters read from the query string (GET: nothing changes, no CSRF token needed)."""

    class Meta:
        locales = ("fr_FR", "fr")

    compte = StringField("Compte (nom, prénom)", validators=[Optional()])

    def valeurs(self) -> dict:
        """The valid, non-empty filters, as the services expect them."""
        return {field.name: field.data for field in self
                if not field.errors and field.data not in (None, "", False)}


def _choix(libelle: str, valeurs) -> list[SelectChoice]:
    """A select's options: "-- Libellé --" (no filter), then each value, given alone or as (value, label)."""
    options = [SelectChoice("", f"-- {libelle} --")]
    for valeur in valeurs:
        options.append(SelectChoice(*valeur) if isinstance(valeur, tuple) else SelectChoice(valeur))
    return options


class FiltresFacturation(FiltresForm):
    """The filters shared by invoices and payments, as on the vendor's screens."""

    emetteur = SelectField("Émetteur", choices=_choix("Émetteur", CompteMetier.EMETTEURS),
                           validators=[Optional()])
    contexte = SelectField("Contexte", validators=[Optional()], validate_choice=False)
    univers = SelectField("Univers", choices=_choix("Univers", UNIVERS.items()),
                          validators=[Optional()])
    depot_du = DateFiltre("Date de dépôt du", format=DATE_FORMATS, validators=[Optional()])
    depot_au = DateFiltre("au", format=DATE_FORMATS, validators=[Optional()])
    no_du = IntegerField("du n°", validators=[Optional(), NumberRange(min=0)])
    no_au = IntegerField("au n°", validators=[Optional(), NumberRange(min=0)])


class FiltresFactures(FiltresFacturation):
    """Facturation › Factures."""

    emise_du = DateFiltre("Émise entre", format=DATE_FORMATS, validators=[Optional()])
    emise_au = DateFiltre("et le", format=DATE_FORMATS, validators=[Optional()])
    montant = MontantField("Montant", validators=[Optional()])
    #: Set by the dashboard's link: unpaid invoices past their due date.
    echues = BooleanField("Échues impayées")
    archives = BooleanField("Afficher que les factures archivées")


class FiltresReglements(FiltresFacturation):
    """Facturation › Règlements."""

    en_ligne = SelectField("En ligne", choices=_choix("En ligne", [("oui", "Oui"), ("non", "Non")]),
                           validators=[Optional()])
    fact_du = IntegerField("Fact. du n°", validators=[Optional(), NumberRange(min=0)])
    fact_au = IntegerField("au n°", validators=[Optional(), NumberRange(min=0)])
    montant = MontantField("Montant", validators=[Optional()])
    archives = BooleanField("Afficher que les règlements archivés")


class FiltresOperations(FiltresForm):
    """Facturation › Relevé d'opérations."""

    #: Set by the links from a family account: exactly that account's operations.
    compte_id = IntegerField(widget=HiddenInput(), validators=[Optional()])
    type = SelectField("Opération", choices=_choix("Opération", Operation.TYPES.items()),
                       validators=[Optional()])
    du = DateFiltre("Du", format=DATE_FORMATS, validators=[Optional()])
    au = DateFiltre("au", format=DATE_FORMATS, validators=[Optional()])


# --------------------------------------------------------------------------- column formatters


def _lien_compte(view, context, model, name):
    compte = model.compte
    if compte is None:
        return ""
    return Markup('<a href="{}">{}</a>').format(url_for("comptes_metier.details_view", id=compte.id),
                                                compte.libelle)


def _restant_du(view, context, model, name):
    libelle, couleur = STATUTS[model.statut]
    return Markup('{} <span class="badge badge-{}">{}</span>').format(euros(model.restant_du), couleur, libelle)


def _mode(view, context, model, name):
    return Reglement.MODES.get(model.mode, model.mode)


# --------------------------------------------------------------------------- list views


#: The range filters of the forms: their matches sit together along a date or number order.
PLAGES = ("depot_du", "depot_au", "no_du", "no_au", "emise_du", "emise_au", "fact_du", "fact_au", "du", "au")


class FiltresMixin:
    """A list filtered by a fixed form (the vendor's layout), applied to the list, its count, totals and exports.

    The form's fields travel in the query string next to Flask-Admin's own arguments, so the pager and the
    sort links keep them.
    """

    #: The filter form class of the list.
    filtres_form = FiltresForm
    #: Export: file name base and columns (services.exports.Colonne); None: no export.
    export_nom = None
    export_colonnes = None

    def formulaire_filtres(self) -> FiltresForm:
        """The filter form filled from the query string and validated (errors shown next to the fields).

        Built once per request: the list, its count, its totals, the template and the export all read it.
        """
        formulaires = g.setdefault("formulaires_filtres", {})
        if self.endpoint not in formulaires:
            form = self.filtres_form(request.args)
            if "contexte" in form:
                form.contexte.choices = _choix("Contexte", facturation.contextes(self.model))
            form.validate()
            formulaires[self.endpoint] = form
        return formulaires[self.endpoint]

    def filtres(self) -> dict:
        return self.formulaire_filtres().valeurs() if has_request_context() else {}

    def get_query(self):
        return super().get_query().filter(*facturation.criteres(self.model, self.filtres()))

    def liste_restreinte(self) -> bool:
        return bool(self.filtres())

    def filtre_par_plage(self) -> bool:
        return any(nom in self.filtres() for nom in PLAGES)

    def get_count_query(self):
        return super().get_count_query().filter(*facturation.criteres(self.model, self.filtres()))

    def export_url(self, fmt: str) -> str:
        """The export of the list as shown (same filters and sort)."""
        args = {k: v for k, v in request.args.items() if k not in ("page", "page_size")}
        return url_for(".export", fmt=fmt, **args)

    @expose("/export/<fmt>/")
    def export(self, fmt):
        """CSV or XLSX of the whole filtered list, streamed; the export is recorded in the audit trail."""
        if self.export_colonnes is None or fmt not in ("csv", "xlsx"):
            abort(404)
        filtres = self.filtres()
        lignes = self.get_count_query().scalar()
        if fmt == "xlsx" and lignes >= exports.XLSX_MAX_LIGNES:
            flash(f"{lignes} lignes : trop pour un fichier Excel. Affinez les filtres ou exportez en CSV.", "error")
            return redirect(url_for(".index_view", **request.args.to_dict()))
        audit.record("export", objet_type=self.model.__name__,
                     details={"format": fmt, "filtres": {k: str(v) for k, v in filtres.items()}, "lignes": lignes})
        db.session.commit()

        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        query, _joins = self._apply_sorting(self.get_query(), {}, sort[0] if sort else None, view_args.sort_desc)
        rows = query.options(joinedload(self.model.compte)).yield_per(EXPORT_LOT)
        nom = exports.nom_fichier(self.export_nom, fmt)
        headers = {"Content-Disposition": f'attachment; filename="{nom}"'}
        if fmt == "csv":
            body = (line.encode("utf-8") for line in exports.csv_lignes(rows, self.export_colonnes))
            return Response(stream_with_context(body), mimetype="text/csv; charset=utf-8", headers=headers)
        path = exports.xlsx_fichier(rows, self.export_colonnes, titre=self.name)
        return Response(exports.flux_fichier(path), headers=headers,
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class ArchivageMixin:
    """The one change allowed on data owned by Enfance: the archived flag."""

    def _archiver(self, ids, archive: bool):
        n = facturation.archiver(self.model, ids, archive)
        db.session.commit()
        verbe = "archivé" if archive else "désarchivé"
        flash(f"{n} élément(s) {verbe}(s).", "success")

    @action("archiver", "Archiver", "Archiver les éléments sélectionnés ?")
    def action_archiver(self, ids):
        self._archiver(ids, True)

    @action("desarchiver", "Désarchiver", "Désarchiver les éléments sélectionnés ?")
    def action_desarchiver(self, ids):
        self._archiver(ids, False)


class FactureView(ArchivageMixin, FiltresMixin, ReadOnlyModelView):
    """Factures: invoices issued to the families (from Enfance); read-only except the archived flag."""

    list_template = "admin/facturation/factures_list.html"
    details_template = "admin/facturation/facture_details.html"
    filtres_form = FiltresFactures
    column_list = ("numero", "date_emission", "compte", "montant", "restant_du", "payable_en_ligne",
                   "date_echeance")
    column_details_list = ("numero", "date_emission", "compte", "montant", "restant_du", "payable_en_ligne",
                           "date_echeance", "emetteur", "contexte", "univers", "date_depot", "numero_depot",
                           "archive")
    column_labels = {
        "numero": "Numéro", "date_emission": "Date d'émission", "compte": "Destinataire", "montant": "Montant",
        "restant_du": "Restant dû", "payable_en_ligne": "Payable en ligne", "date_echeance": "Date d'échéance",
        "emetteur": "Émetteur", "contexte": "Contexte", "univers": "Univers", "date_depot": "Date de dépôt",
        "numero_depot": "N° de dépôt", "archive": "Archivée",
    }
    column_sortable_list = ("numero", "date_emission", "montant", "restant_du", "date_echeance")
    column_default_sort = [("date_emission", True), ("id", True)]
    column_formatters = {"compte": _lien_compte, "restant_du": _restant_du, "payable_en_ligne": colonne_oui_non,
                         "archive": colonne_oui_non, "univers": colonne_univers}
    export_nom = "factures"
    export_colonnes = [
        exports.Colonne("Numéro", lambda f: f.numero),
        exports.Colonne("Date d'émission", lambda f: f.date_emission, "date"),
        exports.Colonne("Destinataire", lambda f: f.compte.libelle),
        exports.Colonne("Code compte", lambda f: f.compte.code),
        exports.Colonne("Montant", lambda f: f.montant, "montant"),
        exports.Colonne("Restant dû", lambda f: f.restant_du, "montant"),
        exports.Colonne("Statut", lambda f: STATUTS[f.statut][0]),
        exports.Colonne("Payable en ligne", lambda f: f.payable_en_ligne, "booleen"),
        exports.Colonne("Date d'échéance", lambda f: f.date_echeance, "date"),
        exports.Colonne("Émetteur", lambda f: f.emetteur),
        exports.Colonne("Contexte", lambda f: f.contexte),
        exports.Colonne("Univers", lambda f: UNIVERS.get(f.univers, f.univers)),
        exports.Colonne("Date de dépôt", lambda f: f.date_depot, "date"),
        exports.Colonne("Archivée", lambda f: f.archive, "booleen"),
    ]

    def reglements(self, facture):
        """The payments allocated to the invoice, for the detail page."""
        return facturation.reglements_de_facture(facture)


class ReglementView(ArchivageMixin, FiltresMixin, ReadOnlyModelView):
    """Règlements: payments by the families (from Enfance), with the page and whole-list totals."""

    list_template = "admin/facturation/reglements_list.html"
    details_template = "admin/facturation/reglement_details.html"
    filtres_form = FiltresReglements
    column_list = ("regle_le", "numero", "payeur", "mode", "encaisse", "ventile")
    column_details_list = ("regle_le", "numero", "payeur", "compte", "mode", "encaisse", "ventile", "en_ligne",
                           "emetteur", "contexte", "univers", "date_depot", "numero_depot", "archive")
    column_labels = {
        "regle_le": "Réglé le", "numero": "Numéro unique", "payeur": "Payeur", "mode": "Mode de règlement",
        "encaisse": "Encaissé", "ventile": "Ventilé", "compte": "Compte", "en_ligne": "Payé en ligne",
        "emetteur": "Émetteur", "contexte": "Contexte", "univers": "Univers", "date_depot": "Date de dépôt",
        "numero_depot": "N° de dépôt", "archive": "Archivé",
    }
    column_sortable_list = ("regle_le", "numero", "payeur", "encaisse", "ventile")
    column_default_sort = [("regle_le", True), ("id", True)]
    column_formatters = {"mode": _mode, "compte": _lien_compte, "en_ligne": colonne_oui_non, "archive": colonne_oui_non,
                         "univers": colonne_univers}
    export_nom = "reglements"
    export_colonnes = [
        exports.Colonne("Réglé le", lambda r: r.regle_le, "date"),
        exports.Colonne("Numéro unique", lambda r: r.numero),
        exports.Colonne("Payeur", lambda r: r.payeur),
        exports.Colonne("Compte", lambda r: r.compte.libelle),
        exports.Colonne("Code compte", lambda r: r.compte.code),
        exports.Colonne("Mode de règlement", lambda r: Reglement.MODES.get(r.mode, r.mode)),
        exports.Colonne("Encaissé", lambda r: r.encaisse, "montant"),
        exports.Colonne("Ventilé", lambda r: r.ventile, "montant"),
        exports.Colonne("En ligne", lambda r: r.en_ligne, "booleen"),
        exports.Colonne("Émetteur", lambda r: r.emetteur),
        exports.Colonne("Contexte", lambda r: r.contexte),
        exports.Colonne("Univers", lambda r: UNIVERS.get(r.univers, r.univers)),
        exports.Colonne("Date de dépôt", lambda r: r.date_depot, "date"),
        exports.Colonne("Archivé", lambda r: r.archive, "booleen"),
    ]

    def total_page(self, rows) -> Decimal:
        """Total of the payments shown on this page."""
        return sum((r.encaisse for r in rows), Decimal("0.00"))

    def total_global(self) -> Decimal:
        """Exact total of the whole filtered list (same conditions as the list, summed in SQL)."""
        return facturation.total_reglements(self.filtres())

    def factures(self, reglement):
        """The invoices the payment pays, for the detail page."""
        return facturation.factures_de_reglement(reglement)


class OperationView(FiltresMixin, ReadOnlyModelView):
    """Relevé d'opérations: every family's ledger with the running balance of its account."""

    list_template = "admin/facturation/operations_list.html"
    filtres_form = FiltresOperations
    column_list = ("date", "compte", "type", "libelle", "debit", "credit", "solde")
    column_labels = {"date": "Date", "compte": "Compte", "type": "Opération", "libelle": "Libellé",
                     "debit": "Débit", "credit": "Crédit", "solde": "Solde"}
    column_descriptions = {"solde": "Solde du compte famille après cette opération (négatif : avoir)."}
    column_sortable_list = ("date",)
    column_default_sort = [("date", True), ("id", True)]
    column_formatters = {"type": lambda v, c, m, n: Operation.TYPES.get(m.type, m.type), "compte": _lien_compte}


# --------------------------------------------------------------------------- monthly deposits


def _mois_court(annee: int, mois: int) -> str:
    return f"{mois:02d}/{annee}"


class DepotView(PortailBaseView):
    """Dépôt de factures / de règlements: per month, how many were deposited and their total."""

    #: The model whose deposits are shown, and the screen's wording.
    model = None
    noun = ""

    @expose("/")
    def index(self):
        rows = facturation.depots_mensuels(self.model)
        derniers = facturation.derniers_mois(rows, aujourdhui())
        graphique = charts.bar_chart_svg(
            {"Montant total": [r["total"] for r in derniers]},
            [_mois_court(r["annee"], r["mois"]) for r in derniers],
            title=f"Montant des {self.noun} déposés, 12 derniers mois", value_format=euros)
        lignes = [dict(r, libelle=_mois_court(r["annee"], r["mois"]), titre=mois_fr(r["annee"], r["mois"]))
                  for r in rows]
        return self.render("admin/portail/depots.html", rows=lignes, noun=self.noun, graphique=graphique)


def register(admin):
    admin.add_view(FactureView(Facture, db, name="Factures", category=CATEGORY, endpoint="factures"))
    admin.add_view(ReglementView(Reglement, db, name="Règlements", category=CATEGORY, endpoint="reglements"))
    admin.add_view(OperationView(Operation, db, name="Relevé d'opérations", category=CATEGORY,
                                 endpoint="operations"))
    depot_factures = type("DepotFacturesView", (DepotView,), {"model": Facture, "noun": "factures"})
    depot_reglements = type("DepotReglementsView", (DepotView,), {"model": Reglement, "noun": "règlements"})
    admin.add_view(depot_factures(name="Dépôt de factures", category=CATEGORY, endpoint="depot_factures"))
    admin.add_view(depot_reglements(name="Dépôt de règlements", category=CATEGORY, endpoint="depot_reglements"))
