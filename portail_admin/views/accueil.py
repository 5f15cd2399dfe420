"""Accueil: the home dashboard an agent reads first thing in the morning, each figure linked to its list."""
import calendar
import datetime as dt

from flask import url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter

from .. import charts
from ..formatting import euros
from ..models import Demande
from ..services import tableau_de_bord
from .base import PortailIndexView

MOIS_COURTS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")


class AccueilView(PortailIndexView):
    """Accueil: new and late requests, last imports, overdue invoices and this year's deposits."""

    def lien(self, endpoint: str, filtres=(), **args) -> str | None:
        """URL of a list, or None when the agent may not open it (no link to a 403).

        `filtres` are the list's own Flask-Admin filters, given as (column, filter class, value): their URL
        arguments are asked from the list view, so they follow its naming of filters.
        """
        vue = next((v for v in self.admin._views if getattr(v, "endpoint", None) == endpoint), None)
        if vue is None or not vue.is_accessible():
            return None
        for position, (colonne, classe, valeur) in enumerate(filtres):
            trouve = next(((i, f) for i, f in enumerate(vue._filters or ())
                           if isinstance(f, classe) and getattr(f, "column", None) is colonne), None)
            # A list that dropped the filter still opens (unfiltered) rather than breaking the home page.
            if trouve:
                args[f"flt{position}_{vue.get_filter_arg(*trouve)}"] = valeur
        page = "index_view" if hasattr(vue, "index_view") else "index"
        return url_for(f"{endpoint}.{page}", **args)

    @expose()
    def index(self):
        tdb = tableau_de_bord.tableau_de_bord()
        liens = {
            # "Date de la demande" from yesterday to today, Paris days: the requests counted since yesterday.
            "nouvelles": self.lien("demandes", [(Demande.created_at, DateBetweenFilter,
                                                 f"{tdb.depuis_date.isoformat()} to {tdb.aujourd_hui.isoformat()}")]),
            "en_retard": self.lien("demandes", en_retard=1),
            "traitements": self.lien("traitements"),
            "echues": self.lien("factures", echues=1),
            "depot_factures": self.lien("depot_factures"),
            "depot_reglements": self.lien("depot_reglements"),
        }
        details = {}
        if liens["traitements"]:
            details = {t.id: url_for("traitements.details_view", id=t.id) for t in tdb.traitements}
        mois = []
        for d in tdb.depots:
            periode = {"depot_du": dt.date(tdb.annee, d.mois, 1).isoformat(),
                       "depot_au": dt.date(tdb.annee, d.mois, calendar.monthrange(tdb.annee, d.mois)[1]).isoformat()}
            mois.append({"depot": d, "libelle": MOIS_COURTS[d.mois - 1],
                         "factures": self.lien("factures", **periode),
                         "reglements": self.lien("reglements", **periode)})
        series = {"Factures": [d.factures_total for d in tdb.depots],
                  "Règlements": [d.reglements_total for d in tdb.depots]}
        graphique = charts.bar_chart_svg(
            series, MOIS_COURTS, title=f"Montant des factures et des règlements déposés chaque mois de {tdb.annee}",
            value_format=euros, id_prefix="graphique-accueil")
        return self.render(self._template, tdb=tdb, liens=liens, details=details, mois=mois, graphique=graphique,
                           types=Demande.TYPES)
