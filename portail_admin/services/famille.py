"""Famille: find a family from any of its records and assemble its file (Fiche famille) as one timeline."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..formatting import aujourdhui, local
from ..models import (
    Activite,
    Citoyen,
    Classe,
    CompteMetier,
    Courriel,
    Demande,
    Facture,
    Individu,
    Inscription,
    Periode,
    Reglement,
    Structure,
)

#: Kinds of timeline events, in the order of the filters; the order also breaks ties between equal dates.
TYPES = {
    "factures": "Factures",
    "reglements": "Règlements",
    "demandes": "Demandes",
    "courriels": "Courriels",
    "inscriptions": "Inscriptions",
    "synchronisations": "Synchronisations",
}
#: Rank of each kind in TYPES, for the sort key.
RANGS = {kind: n for n, kind in enumerate(TYPES)}
#: Events per page of the timeline: the page stays the same size whatever the family's history.
PAGE = 200
#: Members are listed parents first.
ORDRE_ROLES = {"responsable": 0, "conjoint": 1, "enfant": 2}
#: Deepest page served: 200 000 events back, far beyond any family's history, and a LIMIT the database accepts.
MAX_PAGES = 1000
#: Current registrations listed above the timeline (a family has a handful; the cap keeps the page bounded).
MAX_INSCRIPTIONS = 100


@dataclass
class Famille:
    """The records a Fiche famille is about: a citizen account (or none: Orphelin) and its family accounts."""

    citoyen: Citoyen | None
    comptes: list[CompteMetier]

    @property
    def compte_ids(self) -> list[int]:
        return [c.id for c in self.comptes]


@dataclass
class Evenement:
    """One line of the timeline."""

    #: A key of TYPES.
    type: str
    #: Id of the record the event comes from (invoice, payment, request, e-mail, registration, account...).
    id: int
    #: As stored: a date, or a naive UTC datetime.
    date: dt.date | dt.datetime
    titre: str
    detail: str = ""
    etat: str = ""
    montant: Decimal | None = None
    restant_du: Decimal | None = None

    @property
    def horodate(self) -> bool:
        """True when the event has a time of day (shown dd/mm/yyyy HH:MM), False for a plain date."""
        return isinstance(self.date, dt.datetime)

    @property
    def quand(self) -> dt.datetime:
        """Paris wall-clock time, so dates and UTC timestamps sort together."""
        if self.horodate:
            return local(self.date).replace(tzinfo=None)
        return dt.datetime.combine(self.date, dt.time.min)

    def cle(self) -> tuple:
        """Sort key, newest first: time, then kind, then id."""
        return (self.quand, -RANGS[self.type], self.id)


@dataclass
class Resume:
    """The figures at the top of the Fiche famille."""

    restant_du: Decimal
    demandes_ouvertes: int
    derniere_synchronisation: dt.datetime | None
    nombres: dict[str, int] = field(default_factory=dict)


@dataclass
class Fiche:
    """Everything the Fiche famille page shows, loaded with a fixed number of queries."""

    famille: Famille
    individus: list[Individu]
    inscriptions: list
    resume: Resume
    evenements: list[Evenement]
    types: list[str]
    page: int
    plus_anciens: bool


def trouver(compte_id: int | None = None, citoyen_id: int | None = None,
            individu_id: int | None = None) -> Famille | None:
    """The family of a family account, of a citizen account (all its accounts) or of an individual; None if unknown."""
    if compte_id is not None:
        compte = db.session.get(CompteMetier, compte_id, options=[joinedload(CompteMetier.citoyen)])
        return Famille(compte.citoyen, [compte]) if compte else None
    if individu_id is not None:
        individu = db.session.get(Individu, individu_id,
                                  options=[joinedload(Individu.compte).joinedload(CompteMetier.citoyen)])
        return Famille(individu.compte.citoyen, [individu.compte]) if individu else None
    if citoyen_id is not None:
        citoyen = db.session.get(Citoyen, citoyen_id)
        if citoyen is None:
            return None
        comptes = db.session.scalars(db.select(CompteMetier).where(CompteMetier.citoyen_id == citoyen.id)
                                     .order_by(CompteMetier.univers, CompteMetier.code)).all()
        return Famille(citoyen, list(comptes))
    return None


def fiche(famille: Famille, types=None, page: int = 1, today: dt.date | None = None) -> Fiche:
    """The family's file: members, current registrations, summary and one page of the timeline (newest first)."""
    types = [t for t in TYPES if not types or t in types]
    page = min(max(1, page), MAX_PAGES)
    today = today or aujourdhui()
    individus = _individus(famille)
    # Each kind contributes at most as many events as the pages up to this one need, plus one to know if
    # older events remain; merging them gives the exact page.
    limite = page * PAGE + 1
    evenements = []
    for kind in types:
        evenements += _SOURCES[kind](famille, individus, limite)
    evenements.sort(key=Evenement.cle, reverse=True)
    return Fiche(
        famille=famille,
        individus=individus,
        inscriptions=inscriptions(famille.compte_ids, today=today),
        resume=resume(famille, individus),
        evenements=evenements[(page - 1) * PAGE:page * PAGE],
        types=types,
        page=page,
        plus_anciens=len(evenements) > page * PAGE,
    )


def _individus(famille: Famille) -> list[Individu]:
    return list(db.session.scalars(
        db.select(Individu).where(Individu.compte_id.in_(famille.compte_ids))
        .order_by(Individu.archive, case(ORDRE_ROLES, value=Individu.role, else_=len(ORDRE_ROLES)),
                  Individu.nom, Individu.prenom, Individu.id)
    ))


def inscriptions(compte_ids, individu_id: int | None = None, today: dt.date | None = None,
                 limite: int = MAX_INSCRIPTIONS) -> list:
    """Registrations with their activity, structure, period and class, newest first (one query).

    With today, only the current ones: not archived and not ended before today.
    """
    query = (
        db.select(Inscription.id, Inscription.reference, Inscription.date_debut, Inscription.date_fin,
                  Inscription.individu_id, Individu.nom, Individu.prenom, Activite.nom.label("activite"),
                  Structure.nom.label("structure"), Periode.nom.label("periode"), Classe.nom.label("classe"))
        .join(Individu, Inscription.individu_id == Individu.id)
        .join(Activite, Inscription.activite_id == Activite.id)
        .outerjoin(Structure, Activite.structure_id == Structure.id)
        .outerjoin(Periode, Inscription.periode_id == Periode.id)
        .outerjoin(Classe, Inscription.classe_id == Classe.id)
        .order_by(Inscription.date_debut.desc(), Inscription.id.desc())
        .limit(limite)
    )
    if individu_id is not None:
        query = query.where(Inscription.individu_id == individu_id)
    else:
        query = query.where(Individu.compte_id.in_(compte_ids))
    if today is not None:
        query = query.where(Inscription.archive.is_(False),
                            or_(Inscription.date_fin.is_(None), Inscription.date_fin >= today))
    return db.session.execute(query).all()


def _demandes_de(famille: Famille, model):
    """Requests or e-mails of the family: its accounts', and the citizen's that name no account."""
    criteria = [model.compte_id.in_(famille.compte_ids)]
    if famille.citoyen is not None:
        criteria.append(and_(model.compte_id.is_(None), model.citoyen_id == famille.citoyen.id))
    return or_(*criteria)


def resume(famille: Famille, individus: list[Individu]) -> Resume:
    """Balance due, open requests, last synchronisation and the number of records of each kind (one query)."""
    ids = famille.compte_ids
    scope_demandes = _demandes_de(famille, Demande)

    def scalar(*columns, where):
        return db.select(*columns).where(*where).scalar_subquery()

    row = db.session.execute(db.select(
        scalar(func.coalesce(func.sum(Facture.restant_du), 0), where=[Facture.compte_id.in_(ids)]),
        scalar(func.count(Demande.id), where=[scope_demandes, Demande.etat != "traitee"]),
        scalar(func.count(Facture.id), where=[Facture.compte_id.in_(ids)]),
        scalar(func.count(Reglement.id), where=[Reglement.compte_id.in_(ids)]),
        scalar(func.count(Demande.id), where=[scope_demandes]),
        scalar(func.count(Courriel.id), where=[_demandes_de(famille, Courriel)]),
        db.select(func.count(Inscription.id)).join(Individu, Inscription.individu_id == Individu.id)
        .where(Individu.compte_id.in_(ids)).scalar_subquery(),
        db.select(func.max(Inscription.synchronise_le)).join(Individu, Inscription.individu_id == Individu.id)
        .where(Individu.compte_id.in_(ids)).scalar_subquery(),
        scalar(func.max(Facture.synchronise_le), where=[Facture.compte_id.in_(ids)]),
        scalar(func.max(Reglement.synchronise_le), where=[Reglement.compte_id.in_(ids)]),
    )).one()
    (restant, ouvertes, n_factures, n_reglements, n_demandes, n_courriels, n_inscriptions, *syncs) = row
    syncs += [c.synchronise_le for c in famille.comptes] + [i.synchronise_le for i in individus]
    syncs = [s for s in syncs if s is not None]
    return Resume(
        restant_du=Decimal(restant or 0).quantize(Decimal("0.01")),
        demandes_ouvertes=ouvertes,
        derniere_synchronisation=max(syncs) if syncs else None,
        nombres={"factures": n_factures, "reglements": n_reglements, "demandes": n_demandes,
                 "courriels": n_courriels, "inscriptions": n_inscriptions,
                 # As many as _synchronisations lists: one per synchronised account, one per batch of members.
                 "synchronisations": sum(1 for c in famille.comptes if c.synchronise_le)
                 + len({i.synchronise_le for i in individus if i.synchronise_le})},
    )


def _factures(famille, individus, limite):
    rows = db.session.execute(
        db.select(Facture.id, Facture.numero, Facture.date_emission, Facture.montant, Facture.restant_du,
                  Facture.contexte, Facture.date_echeance)
        .where(Facture.compte_id.in_(famille.compte_ids))
        .order_by(Facture.date_emission.desc(), Facture.id.desc()).limit(limite))
    events = []
    for r in rows:
        etat = Facture.STATUTS[Facture.statut_de(r.montant, r.restant_du)]
        echeance = f"échéance le {r.date_echeance:%d/%m/%Y}" if r.date_echeance else ""
        detail = " — ".join(p for p in (r.contexte, echeance) if p)
        events.append(Evenement("factures", r.id, r.date_emission, f"Facture n° {r.numero}", detail, etat,
                                montant=r.montant, restant_du=r.restant_du))
    return events


def _reglements(famille, individus, limite):
    rows = db.session.execute(
        db.select(Reglement.id, Reglement.numero, Reglement.regle_le, Reglement.payeur, Reglement.mode,
                  Reglement.encaisse, Reglement.en_ligne)
        .where(Reglement.compte_id.in_(famille.compte_ids))
        .order_by(Reglement.regle_le.desc(), Reglement.id.desc()).limit(limite))
    return [Evenement("reglements", r.id, r.regle_le, f"Règlement n° {r.numero}",
                      " — ".join(p for p in (Reglement.MODES.get(r.mode, r.mode), r.payeur) if p),
                      "En ligne" if r.en_ligne else "", montant=r.encaisse)
            for r in rows]


def _demandes(famille, individus, limite):
    rows = db.session.execute(
        db.select(Demande.id, Demande.reference, Demande.created_at, Demande.type, Demande.etat, Demande.decision,
                  Demande.email)
        .where(_demandes_de(famille, Demande))
        .order_by(Demande.created_at.desc(), Demande.id.desc()).limit(limite))
    events = []
    for r in rows:
        detail = f"Par {r.email}"
        if r.decision:
            detail += f" — décision : {Demande.DECISIONS.get(r.decision, r.decision)}"
        events.append(Evenement("demandes", r.id, r.created_at,
                                f"Demande {r.reference} : {Demande.TYPES.get(r.type, r.type)}", detail,
                                Demande.ETATS.get(r.etat, r.etat)))
    return events


def _courriels(famille, individus, limite):
    rows = db.session.execute(
        db.select(Courriel.id, Courriel.created_at, Courriel.sujet, Courriel.destinataire, Courriel.etat)
        .where(_demandes_de(famille, Courriel))
        .order_by(Courriel.created_at.desc(), Courriel.id.desc()).limit(limite))
    return [Evenement("courriels", r.id, r.created_at, r.sujet, f"À {r.destinataire}",
                      Courriel.ETATS.get(r.etat, r.etat)) for r in rows]


def _inscriptions(famille, individus, limite):
    return [Evenement("inscriptions", r.id, r.date_debut, f"Inscription de {r.prenom} {r.nom} : {r.activite}",
                      " — ".join(p for p in (r.structure, r.periode, r.classe) if p))
            for r in inscriptions(famille.compte_ids, limite=limite)]


def _synchronisations(famille, individus, limite):
    """Synchronisations from Enfance: each account's, and each batch of members synchronised together."""
    events = [Evenement("synchronisations", c.id, c.synchronise_le, f"Compte famille {c.code} synchronisé")
              for c in famille.comptes if c.synchronise_le]
    lots: dict[dt.datetime, list[Individu]] = {}
    for individu in individus:
        if individu.synchronise_le:
            lots.setdefault(individu.synchronise_le, []).append(individu)
    events += [Evenement("synchronisations", min(i.id for i in lot), quand,
                         "Individus synchronisés", ", ".join(i.nom_prenom for i in lot))
               for quand, lot in lots.items()]
    events.sort(key=Evenement.cle, reverse=True)
    return events[:limite] if limite else events


_SOURCES = {
    "factures": _factures,
    "reglements": _reglements,
    "demandes": _demandes,
    "courriels": _courriels,
    "inscriptions": _inscriptions,
    "synchronisations": _synchronisations,
}
