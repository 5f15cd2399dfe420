"""The home dashboard's figures: new and late requests, last imports, overdue invoices, this year's deposits."""
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import func

from ..extensions import db
from ..formatting import PARIS, local
from ..models import Demande, Facture, TotalDepot, Traitement, utcnow
from . import cache, demandes
from .facturation import criteres_echues

#: How many import runs the dashboard lists.
NOMBRE_TRAITEMENTS = 6
#: How long the overdue invoices are reused (seconds); the requests, imports and deposits are always live.
CACHE_SECONDES = 60


@dataclass
class DepotMois:
    """One month of the deposits chart."""

    mois: int
    factures_nombre: int = 0
    factures_total: Decimal = Decimal("0")
    reglements_nombre: int = 0
    reglements_total: Decimal = Decimal("0")


@dataclass
class TableauDeBord:
    """Everything the home page shows."""

    #: Start of yesterday (Paris), as stored (naive UTC), and its Paris date for display and links.
    depuis: dt.datetime
    depuis_date: dt.date
    nouvelles_demandes: int
    demandes_en_retard: int
    #: Days each request type may wait (Paramètres delai_<type>) before it is late.
    seuils: dict
    traitements: list
    echues_nombre: int
    echues_total: Decimal
    #: Invoices count as overdue when their due date is before this day.
    aujourd_hui: dt.date
    annee: int
    depots: list = field(default_factory=list)


def debut_hier(now: dt.datetime) -> dt.datetime:
    """Midnight at the start of yesterday in Paris, as a naive UTC datetime like the stored ones."""
    minuit = dt.datetime.combine(local(now).date() - dt.timedelta(days=1), dt.time(0, 0), tzinfo=PARIS)
    return minuit.astimezone(dt.UTC).replace(tzinfo=None)


def depots_annee(annee: int) -> list[DepotMois]:
    """Invoices and payments deposited in each month of a year: count and total amount, January first.

    Read from the deposit summary, so never cached: an import shows at once.
    """
    mois = {m: DepotMois(mois=m) for m in range(1, 13)}
    debut, fin = dt.date(annee, 1, 1), dt.date(annee + 1, 1, 1)
    # Grouped by day in the summary's key order, then by month here: no per-row date function.
    rows = db.session.execute(
        db.select(TotalDepot.nature, TotalDepot.date_depot, func.sum(TotalDepot.nombre), func.sum(TotalDepot.total))
        .where(TotalDepot.nature.in_(TotalDepot.NATURES), TotalDepot.date_depot >= debut,
               TotalDepot.date_depot < fin)
        .group_by(TotalDepot.nature, TotalDepot.date_depot)
    ).all()
    for serie, jour, nombre, total in rows:
        depot = mois[jour.month]
        setattr(depot, f"{serie}_nombre", getattr(depot, f"{serie}_nombre") + int(nombre))
        setattr(depot, f"{serie}_total", getattr(depot, f"{serie}_total") + total)
    return list(mois.values())


def demandes_en_retard(seuils: dict[str, int], now: dt.datetime) -> int:
    """Open requests older than their type's threshold: the rule of the requests list's "en retard" filter.

    Counted type by type, so each count is one range of the (etat, type, created_at) index.
    """
    ouvertes = [etat for etat in Demande.ETATS if etat != "traitee"]
    return sum(db.session.scalar(
        db.select(func.count()).select_from(Demande)
        .where(Demande.etat.in_(ouvertes), Demande.type == kind, demandes.critere_en_retard({kind: jours}, now))
    ) for kind, jours in seuils.items())


def factures_echues(aujourd_hui: dt.date) -> tuple[int, Decimal]:
    """How many live invoices are unpaid past their due date, and what remains due on them."""
    nombre, total = db.session.execute(
        db.select(func.count(), func.coalesce(func.sum(Facture.restant_du), 0)).where(*criteres_echues(aujourd_hui))
    ).one()
    return nombre, Decimal(total)


def _memo(cle, calcul):
    """calcul() reused for TABLEAU_DE_BORD_CACHE_SECONDES: the overdue invoices read 100k+ index rows at scale."""
    return cache.memo("tableau_de_bord", cle, calcul,
                      current_app.config.get("TABLEAU_DE_BORD_CACHE_SECONDES", CACHE_SECONDES))


def tableau_de_bord(now: dt.datetime | None = None) -> TableauDeBord:
    """The figures of the home page at a given time (UTC, naive), computed with indexed, bounded queries."""
    now = now or utcnow()
    aujourd_hui = local(now).date()
    depuis = debut_hier(now)
    count = func.count()
    seuils = demandes.seuils()
    echues_nombre, echues_total = _memo(("echues", aujourd_hui), lambda: factures_echues(aujourd_hui))
    return TableauDeBord(
        depuis=depuis,
        depuis_date=aujourd_hui - dt.timedelta(days=1),
        nouvelles_demandes=db.session.scalar(db.select(count).where(Demande.created_at >= depuis)),
        demandes_en_retard=demandes_en_retard(seuils, now),
        seuils=seuils,
        traitements=list(db.session.scalars(
            db.select(Traitement).order_by(Traitement.created_at.desc(), Traitement.id.desc())
            .limit(NOMBRE_TRAITEMENTS))),
        echues_nombre=echues_nombre,
        echues_total=echues_total,
        aujourd_hui=aujourd_hui,
        annee=aujourd_hui.year,
        depots=depots_annee(aujourd_hui.year),
    )
