"""Menu Famille: individuals, the Enfance reference data (read-only), and the Fiche famille page."""
from flask import request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import (
    BooleanEqualFilter,
    DateBetweenFilter,
    DateGreaterFilter,
    DateSmallerFilter,
    FilterEqual,
    FilterLike,
    IntEqualFilter,
)
from flask_admin.model.template import BaseListRowAction, LinkRowAction
from sqlalchemy import false
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..formatting import MOIS, local
from ..models import (
    UNIVERS,
    Activite,
    Classe,
    CompteMetier,
    Fermeture,
    Individu,
    Periode,
    PieceJustificative,
    Structure,
)
from ..services import famille as famille_service
from .base import PortailBaseView, ReadOnlyModelView, colonne_oui_non, colonne_univers

CATEGORY = "Famille"
SYNC = {"synchronise_le": "Date de synchronisation"}


def _date_longue(view, context, model, name):
    """The seed's "11 août 2017" (Paris date)."""
    value = getattr(model, name)
    if value is None:
        return ""
    day = local(value)
    return f"{day.day} {MOIS[day.month - 1]} {day.year}"


class _Choix:
    """Filter choices read from the database each time a list is shown.

    Flask-Admin computes filter options once when the view is built (no database then); it iterates this object
    at each page instead, so newly synchronised structures and activities appear.
    """

    def __init__(self, model):
        self.model = model

    def __bool__(self):
        return True

    def __iter__(self):
        rows = db.session.execute(db.select(self.model.id, self.model.nom).order_by(self.model.nom, self.model.id))
        return iter([(str(i), n) for i, n in rows])


def _univers_filter(model):
    return FilterEqual(model.univers, "Univers", options=list(UNIVERS.items()))


class EnfanceView(ReadOnlyModelView):
    """Data owned by the Enfance application: list, search, filters and detail; never written here."""

    # No bulk action at all: the only built-in one is delete.
    action_disallowed_list = ("delete",)
    column_editable_list = ()
    column_default_sort = [("nom", False), ("id", False)]


class IndividuCitoyenAction(BaseListRowAction):
    """Row button to the citizen account of the individual's family, only when there is one."""

    def __init__(self):
        super().__init__(title="Compte citoyen")
        self.icon_class = "fa fa-user"

    def render(self, context, row_id, row):
        citoyen_id = row.compte.citoyen_id
        if citoyen_id is None:
            return ""
        link = self._resolve_symbol(context, "row_actions.link")
        return link(self, url_for("citoyens.details_view", id=citoyen_id))


class IndividuView(EnfanceView):
    """Individus: family members synchronised from Enfance, with links to their accounts and Fiche famille.

    `?compte_id=N` shows exactly the members of family account N, with a banner to clear it.
    """

    list_template = "admin/famille/individus_list.html"
    details_template = "admin/famille/individu_details.html"
    column_list = ("nom_prenom", "reference", "synchronise_le", "role", "archive")
    column_details_list = ("nom", "prenom", "reference", "role", "date_naissance", "compte", "archive",
                           "synchronise_le")
    column_labels = {"nom_prenom": "Nom - Prénom", "nom": "Nom", "prenom": "Prénom", "reference": "Référence",
                     "role": "Rôle", "archive": "Archive", "compte": "Compte famille",
                     "date_naissance": "Date de naissance", **SYNC}
    column_sortable_list = (("nom_prenom", ("nom", "prenom")), "reference", "synchronise_le", "role", "archive")
    column_searchable_list = ("nom", "prenom", "reference")
    column_default_sort = [("nom", False), ("prenom", False), ("id", False)]
    column_formatters = {"archive": colonne_oui_non, "synchronise_le": _date_longue}
    column_formatters_detail = {"archive": colonne_oui_non}
    column_filters = (
        FilterEqual(Individu.role, "Rôle", options=list(Individu.ROLES.items())),
        BooleanEqualFilter(Individu.archive, "Archive"),
        FilterLike("compte.nom", "Compte famille (nom)"),
        FilterEqual("compte.code", "Compte famille (code)"),
        IntEqualFilter(Individu.compte_id, "Compte famille (n°)"),
    )
    column_extra_row_actions = [
        LinkRowAction("fa fa-users", lambda action, row_id, row: url_for("comptes_metier.details_view",
                                                                          id=row.compte_id),
                      title="Compte famille"),
        IndividuCitoyenAction(),
        LinkRowAction("fa fa-history", lambda action, row_id, row: url_for("fiche_famille.index",
                                                                           individu_id=row.id),
                      title="Fiche famille"),
    ]

    def compte_filtre(self):
        """The family account named by ?compte_id=, False when the id matches none, None without it."""
        raw = request.args.get("compte_id")
        if raw is None:
            return None
        compte = db.session.get(CompteMetier, int(raw)) if raw.isdigit() else None
        return compte or False

    def _par_compte(self, query):
        raw = request.args.get("compte_id")
        if raw is None:
            return query
        return query.filter(Individu.compte_id == int(raw) if raw.isdigit() else false())

    def get_query(self):
        # The row buttons read the family account: load it with the page, not once per row.
        return self._par_compte(super().get_query().options(joinedload(Individu.compte)))

    def inscriptions(self, individu):
        """The individual's registrations for the detail page."""
        return famille_service.inscriptions(None, individu_id=individu.id)


class ActiviteView(EnfanceView):
    """Activités: canteen, leisure centre... and the structure that runs them."""

    column_list = ("nom", "reference", "structure", "univers", "synchronise_le")
    column_details_list = column_list
    column_labels = {"nom": "Activité", "reference": "Référence", "structure": "Structure", "univers": "Univers",
                     **SYNC}
    column_searchable_list = ("nom", "reference")
    column_sortable_list = ("nom", "reference", ("structure", "structure.nom"), "synchronise_le")
    column_formatters = {"univers": colonne_univers}
    column_filters = (IntEqualFilter(Activite.structure_id, "Structure", options=_Choix(Structure)),
                      _univers_filter(Activite))


class StructureView(EnfanceView):
    """Structures: schools and centres."""

    column_list = ("nom", "reference", "type", "adresse", "univers", "synchronise_le")
    column_details_list = column_list
    column_labels = {"nom": "Structure", "reference": "Référence", "type": "Type", "adresse": "Adresse",
                     "univers": "Univers", **SYNC}
    column_searchable_list = ("nom", "reference", "adresse")
    column_sortable_list = ("nom", "reference", "type", "synchronise_le")
    column_formatters = {"univers": colonne_univers}
    column_filters = (FilterEqual(Structure.type, "Type"), _univers_filter(Structure))


class ClasseView(EnfanceView):
    """Classes: school classes of a school year."""

    column_list = ("nom", "reference", "structure", "annee_scolaire", "synchronise_le")
    column_details_list = column_list
    column_labels = {"nom": "Classe", "reference": "Référence", "structure": "Structure",
                     "annee_scolaire": "Année scolaire", **SYNC}
    column_searchable_list = ("nom", "reference")
    column_sortable_list = ("nom", "reference", ("structure", "structure.nom"), "annee_scolaire", "synchronise_le")
    column_filters = (IntEqualFilter(Classe.structure_id, "Structure", options=_Choix(Structure)),
                      FilterEqual(Classe.annee_scolaire, "Année scolaire"))


class PeriodeView(EnfanceView):
    """Périodes: the booking periods of each activity."""

    column_list = ("nom", "reference", "activite", "date_debut", "date_fin", "synchronise_le")
    column_details_list = column_list
    column_labels = {"nom": "Période", "reference": "Référence", "activite": "Activité", "date_debut": "Début",
                     "date_fin": "Fin", **SYNC}
    column_searchable_list = ("nom", "reference")
    column_sortable_list = ("nom", "reference", ("activite", "activite.nom"), "date_debut", "date_fin",
                            "synchronise_le")
    column_default_sort = [("date_debut", True), ("id", False)]
    column_filters = (
        IntEqualFilter(Periode.activite_id, "Activité", options=_Choix(Activite)),
        IntEqualFilter("activite.structure_id", "Structure", options=_Choix(Structure)),
        DateBetweenFilter(Periode.date_debut, "Début"),
        DateGreaterFilter(Periode.date_fin, "Fin après le"),
        DateSmallerFilter(Periode.date_debut, "Début avant le"),
    )


class FermetureView(EnfanceView):
    """Fermetures: the days an activity is closed."""

    column_list = ("activite", "reference", "date_debut", "date_fin", "motif", "synchronise_le")
    column_details_list = column_list
    column_labels = {"activite": "Activité", "reference": "Référence", "date_debut": "Du", "date_fin": "Au",
                     "motif": "Motif", **SYNC}
    column_searchable_list = ("reference", "motif")
    column_sortable_list = (("activite", "activite.nom"), "reference", "date_debut", "date_fin", "motif",
                            "synchronise_le")
    column_default_sort = [("date_debut", True), ("id", False)]
    column_filters = (
        IntEqualFilter(Fermeture.activite_id, "Activité", options=_Choix(Activite)),
        IntEqualFilter("activite.structure_id", "Structure", options=_Choix(Structure)),
        DateBetweenFilter(Fermeture.date_debut, "Du"),
        FilterEqual(Fermeture.motif, "Motif"),
    )


class PieceJustificativeView(EnfanceView):
    """Pièces justificatives: the documents families may have to provide."""

    column_list = ("nom", "reference", "description", "obligatoire", "univers", "synchronise_le")
    column_details_list = column_list
    column_labels = {"nom": "Pièce justificative", "reference": "Référence", "description": "Description",
                     "obligatoire": "Obligatoire", "univers": "Univers", **SYNC}
    column_searchable_list = ("nom", "reference")
    column_sortable_list = ("nom", "reference", "obligatoire", "synchronise_le")
    column_formatters = {"obligatoire": colonne_oui_non,
                         "univers": colonne_univers}
    column_filters = (BooleanEqualFilter(PieceJustificative.obligatoire, "Obligatoire"),
                      _univers_filter(PieceJustificative))


class FicheFamilleView(PortailBaseView):
    """Fiche famille: a family at a glance and its history as one timeline (not in the menu).

    Opened with ?compte_id= (a family account), ?citoyen_id= (all the accounts of a citizen) or
    ?individu_id= (the individual's family); ?types= narrows the timeline, ?page= goes back in time.
    """

    def is_visible(self):
        return False

    @expose("/")
    def index(self):
        cle, valeur = next(((k, request.args[k]) for k in ("compte_id", "citoyen_id", "individu_id")
                            if k in request.args), (None, None))
        if cle is None:
            # Reached without a family (a bookmark, the URL typed by hand): say where to open one from.
            return self._message(200, "Ouvrez la fiche depuis un compte citoyen, un compte famille ou un individu.")
        if not valeur.isdigit():
            return self._message(400, "Identifiant invalide : un nombre est attendu.")
        famille = famille_service.trouver(**{cle: int(valeur)})
        if famille is None:
            noms = {"compte_id": "Compte famille", "citoyen_id": "Compte citoyen", "individu_id": "Individu"}
            return self._message(404, f"{noms[cle]} introuvable.")
        types = [t for t in request.args.getlist("types") if t in famille_service.TYPES]
        page = request.args.get("page", 1, type=int)
        fiche = famille_service.fiche(famille, types, page)

        def page_url(**changes):
            args = {cle: valeur, "types": fiche.types if len(fiche.types) < len(famille_service.TYPES) else None,
                    "page": fiche.page}
            args.update(changes)
            return url_for(".index", **{k: v for k, v in args.items() if v not in (None, 1)})

        # One url_for per kind, not per event: building 200 URLs would cost more than the whole page's SQL.
        liens = {kind: url_for(f"{kind}.details_view") for kind in ("factures", "reglements", "demandes")}
        return self.render("admin/famille/fiche.html", fiche=fiche, cle=cle, valeur=valeur, liens=liens,
                           types=famille_service.TYPES, page_url=page_url, roles=Individu.ROLES,
                           univers=UNIVERS)

    def _message(self, code, message):
        return self.render("admin/famille/fiche_erreur.html", message=message), code


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
    admin.add_view(FicheFamilleView(name="Fiche famille", endpoint="fiche_famille"))
