"""Invoices and payments: list filters, exact totals, monthly deposits, archiving, detail lookups."""
import datetime as dt
from decimal import Decimal

from flask import current_app
from sqlalchemy import JSON, String, and_, bindparam, exists, false, func, literal, literal_column, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..formatting import aujourdhui
from ..models import CompteMetier, Facture, Operation, Reglement, TotalDepot, Ventilation, sum_exact
from . import ServiceError, audit, cache, citoyens
from .prefixes import starts_with

#: How long a payments total under a filter the summary cannot answer (and the contexts list) is reused
#: (seconds); 0 disables the cache.
CACHE_SECONDES = 30
#: The Règlements filters the deposit summary (totaux_depots) can answer: under these alone the total is
#: read from it, exact and fresh.
FILTRES_TOTAUX = frozenset({"archives", "emetteur", "contexte", "univers", "en_ligne", "depot_du", "depot_au"})
#: Deposit days per statement of the summary's maintenance: bounds the IN lists (SQLite takes 32,766
#: parameters).
MORCEAU = 5000
#: PostgreSQL advisory lock taken by every rebuild of the summary, until the end of its transaction.
VERROU_TOTAUX = 0x746F74617578


def _memo(cle, calcul):
    """calcul() reused for FACTURATION_CACHE_SECONDES: a SUM over the payments themselves is too slow for every
    page."""
    return cache.memo("facturation", cle, calcul, current_app.config.get("FACTURATION_CACHE_SECONDES", CACHE_SECONDES))


def vider_cache() -> None:
    """Forget cached totals and contexts (after a change made here)."""
    cache.vider("facturation")


# --------------------------------------------------------------------------- filters


def critere_compte(model, texte: str):
    """Family accounts whose name or first name starts with each word typed ("DUP marie")."""
    mots = texte.split()
    comptes = db.select(CompteMetier.id).where(
        *(or_(starts_with(CompteMetier.nom, mot), starts_with(CompteMetier.prenom, mot)) for mot in mots))
    return model.compte_id.in_(comptes)


def criteres(model, filtres: dict) -> list:
    """SQL conditions for a list's validated filters (keys of the filter form; empty values are absent).

    The same conditions serve the list, its count, its totals and its exports.
    """
    f = {k: v for k, v in filtres.items() if v not in (None, "")}
    where = []
    if model in (Facture, Reglement, TotalDepot):
        where.append(model.archive.is_(bool(f.get("archives"))))
    if "compte" in f:
        where.append(critere_compte(model, f["compte"]))
    if "compte_id" in f:
        where.append(model.compte_id == f["compte_id"])
    for key in ("emetteur", "contexte", "univers"):
        if key in f:
            where.append(getattr(model, key) == f[key])
    if "depot_du" in f:
        where.append(model.date_depot >= f["depot_du"])
    if "depot_au" in f:
        where.append(model.date_depot <= f["depot_au"])
    if "no_du" in f:
        where.append(model.numero_ordre >= f["no_du"])
    if "no_au" in f:
        where.append(model.numero_ordre <= f["no_au"])
    if "montant" in f:
        where.append((Facture.montant if model is Facture else model.encaisse) == f["montant"])
    if "emise_du" in f:
        where.append(Facture.date_emission >= f["emise_du"])
    if "emise_au" in f:
        where.append(Facture.date_emission <= f["emise_au"])
    if "en_ligne" in f:
        where.append(model.en_ligne.is_(f["en_ligne"] == "oui"))
    if "fact_du" in f or "fact_au" in f:
        # One and the same invoice paid by the payment must lie in the range.
        bornes = [Facture.numero_ordre >= f["fact_du"]] if "fact_du" in f else []
        bornes += [Facture.numero_ordre <= f["fact_au"]] if "fact_au" in f else []
        where.append(exists().where(Ventilation.reglement_id == Reglement.id,
                                    Ventilation.facture_id == Facture.id, and_(*bornes)))
    if f.get("echues"):
        # Overdue unpaid invoices, as counted on the dashboard (today in Paris time).
        where.extend(criteres_echues(aujourdhui())[1:])
    if "du" in f:
        where.append(Operation.date >= f["du"])
    if "au" in f:
        where.append(Operation.date <= f["au"])
    if "type" in f:
        where.append(Operation.type == f["type"])
    return where


def criteres_echues(aujourd_hui: dt.date) -> list:
    """SQL criteria of an overdue invoice: live (not archived), something still due, due date passed.

    The first two spell the predicate of the partial index ix_factures_echues (a literal 0, not a parameter),
    so the count and the sum read that small index alone.
    """
    return [Facture.archive.is_(False), Facture.restant_du > literal_column("0"), Facture.date_echeance < aujourd_hui]


def _signature(filtres: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in filtres.items() if v not in (None, "")))


def total_reglements(filtres: dict) -> Decimal:
    """Exact SUM of "Encaissé" over the whole filtered list of payments (integer cents in SQL).

    Under the filters of FILTRES_TOTAUX alone (archives, émetteur, contexte, univers, en ligne, deposit dates)
    it is summed from the deposit summary (one row per deposit day and group), never cached, so an import or an
    archiving done by another process shows at once. Under any other filter (compte, compte_id, n° du/au, fact. du/au,
    montant) it is summed over the payments themselves and reused for FACTURATION_CACHE_SECONDES.
    """
    actifs = {k: v for k, v in filtres.items() if v not in (None, "")}
    if actifs.keys() <= FILTRES_TOTAUX:
        return sum_exact(TotalDepot.total, TotalDepot.nature == "reglements", *criteres(TotalDepot, actifs))
    return _memo(("total", "reglements", _signature(filtres)),
                 lambda: sum_exact(Reglement.encaisse, *criteres(Reglement, filtres)))


def contextes(model) -> list[str]:
    """The billing contexts in use, for the "Contexte" filter: a walk of the contexte index, reused a minute."""
    return [contexte for contexte in citoyens.valeurs_presentes(model.contexte) if contexte]


# --------------------------------------------------------------------------- deposit summary


def _groupes(model):
    """The summary's rows of a base table, as a SELECT: one per deposit day and filter group."""
    groupe = [model.date_depot, model.emetteur, model.contexte, model.univers, model.archive]
    if model is Reglement:
        en_ligne, montant = model.en_ligne, model.encaisse
        groupe.append(en_ligne)
    else:
        en_ligne, montant = false(), model.montant
    return db.select(literal(model.__tablename__), *groupe[:5], en_ligne, func.count(), func.sum(montant)
                     ).group_by(*groupe)


def recalculer_totaux(model=None, jours=None) -> None:
    """Rebuild the deposit summary of invoices or payments (both when model is None) from the base table.

    jours: the deposit days to rebuild (every day when None). Set-based: per chunk of days, one DELETE and one
    INSERT ... SELECT ... GROUP BY, in the current transaction; the caller commits. Every write of factures or
    reglements calls it with the days it touched (before and after the change), so the summary is always exact;
    concurrent rebuilds are serialised on PostgreSQL.
    """
    if db.engine.dialect.name == "postgresql":
        # Two writers rebuilding the same day (two import workers, an import and an archiving) take turns: the
        # second one's DELETE then sees the first one's rows instead of colliding with them on INSERT.
        # (SQLite already lets one writer at a time.)
        db.session.execute(db.select(func.pg_advisory_xact_lock(VERROU_TOTAUX)))
    colonnes = [TotalDepot.nature, TotalDepot.date_depot, TotalDepot.emetteur, TotalDepot.contexte,
                TotalDepot.univers, TotalDepot.archive, TotalDepot.en_ligne, TotalDepot.nombre, TotalDepot.total]
    for table in (Facture, Reglement) if model is None else (model,):
        nature = TotalDepot.nature == table.__tablename__
        if jours is None:
            db.session.execute(db.delete(TotalDepot).where(nature))
            db.session.execute(db.insert(TotalDepot).from_select(colonnes, _groupes(table)))
            continue
        liste = sorted(set(jours))
        for debut in range(0, len(liste), MORCEAU):
            morceau = liste[debut:debut + MORCEAU]
            db.session.execute(db.delete(TotalDepot).where(nature, TotalDepot.date_depot.in_(morceau)))
            db.session.execute(db.insert(TotalDepot).from_select(
                colonnes, _groupes(table).where(table.date_depot.in_(morceau))))


def _valeurs(textes: list):
    """A SELECT of these strings from ONE bound parameter (an array on PostgreSQL, JSON on SQLite): binding
    thousands of parameters costs more than the lookup itself."""
    if db.engine.dialect.name == "postgresql":
        return db.select(func.unnest(bindparam("textes", textes, type_=ARRAY(String))))
    return db.select(func.json_each(bindparam("textes", textes, type_=JSON)).table_valued("value").c.value)


def jours_de_depot(model, numeros: list) -> set[dt.date]:
    """The deposit days of the invoices (payments) with these numbers that exist: what a write may move away.

    Reads through the session's connection without flushing it: during an import's write pass the run's pending
    changes must not reach its row before the end (the progress connection updates that row meanwhile).
    """
    return set(db.session.connection().scalars(
        db.select(model.date_depot).where(model.numero.in_(_valeurs(numeros))).distinct()))


# --------------------------------------------------------------------------- deposits


def depots_mensuels(model) -> list[dict]:
    """Per deposit month, newest first: number of invoices (or payments) and their total amount.

    Read from the deposit summary (a row per day and filter group), never cached: always up to date.
    """
    # Per day, in the summary's key order: no sort, no per-row date function; months in Python.
    rows = db.session.execute(
        db.select(TotalDepot.date_depot, func.sum(TotalDepot.nombre), func.sum(TotalDepot.total))
        .where(TotalDepot.nature == model.__tablename__).group_by(TotalDepot.date_depot)
    ).all()
    mois: dict[tuple[int, int], dict] = {}
    for jour, nombre, total in rows:
        entree = mois.setdefault((jour.year, jour.month), {"annee": jour.year, "mois": jour.month, "nombre": 0,
                                                            "total": Decimal("0.00")})
        entree["nombre"] += int(nombre)
        entree["total"] += total
    return [mois[cle] for cle in sorted(mois, reverse=True)]


def derniers_mois(rows: list[dict], today: dt.date, n: int = 12) -> list[dict]:
    """The n months up to today's, oldest first; a month with no deposit counts 0."""
    par_mois = {(r["annee"], r["mois"]): r for r in rows}
    annee, mois = today.year, today.month
    mois_liste = []
    for _ in range(n):
        mois_liste.insert(0, (annee, mois))
        annee, mois = (annee, mois - 1) if mois > 1 else (annee - 1, 12)
    return [par_mois.get(am, {"annee": am[0], "mois": am[1], "nombre": 0, "total": Decimal("0.00")})
            for am in mois_liste]


# --------------------------------------------------------------------------- archive flag, details


def archiver(model, ids, archive: bool = True) -> int:
    """Set the archived flag of invoices or payments; returns how many changed. The caller commits."""
    if model not in (Facture, Reglement):
        raise ServiceError("Seules les factures et les règlements s’archivent.")
    ids = [int(i) for i in ids]
    objets = db.session.scalars(db.select(model).where(model.id.in_(ids), model.archive.isnot(archive))).all()
    for objet in objets:
        objet.archive = archive
        audit.record("archiver" if archive else "desarchiver", objet, {"archive": [not archive, archive]})
    db.session.flush()
    recalculer_totaux(model, {objet.date_depot for objet in objets})
    vider_cache()
    return len(objets)


def reglements_de_facture(facture: Facture) -> list[Ventilation]:
    """The payments allocated to an invoice, oldest first (each Ventilation carries its Reglement)."""
    return list(db.session.scalars(
        db.select(Ventilation).join(Ventilation.reglement).where(Ventilation.facture_id == facture.id)
        .options(contains_eager(Ventilation.reglement)).order_by(Reglement.regle_le, Reglement.id)))


def factures_de_reglement(reglement: Reglement) -> list[Ventilation]:
    """The invoices a payment pays, by number (each Ventilation carries its Facture)."""
    return list(db.session.scalars(
        db.select(Ventilation).join(Ventilation.facture).where(Ventilation.reglement_id == reglement.id)
        .options(contains_eager(Ventilation.facture)).order_by(Facture.numero_ordre)))
