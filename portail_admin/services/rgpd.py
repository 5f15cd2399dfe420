"""RGPD: export everything held on a family (right of access), anonymise a family, retention of inactive ones."""
import datetime as dt

from sqlalchemy import inspect, or_

from ..extensions import db
from ..formatting import iso_utc
from ..models import (
    Audit,
    Citoyen,
    CompteMetier,
    Courriel,
    Demande,
    DemandeHistorique,
    Facture,
    Individu,
    Inscription,
    LigneFacture,
    Operation,
    Reglement,
    Ventilation,
    utcnow,
)
from . import ServiceError, audit, parametres

ANONYME = "ANONYME"
#: Marks an anonymised family account (its code is replaced by this prefix and its id).
PREFIXE = "ANON-"
#: Columns never exported (secrets have no place in a family's file).
NON_EXPORTES = {"password_hash", "token_hash", "session_version"}


def _ligne(obj) -> dict:
    return {attr.key: audit.jsonable(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs
            if attr.key not in NON_EXPORTES}


def _compte(compte_id: int) -> CompteMetier:
    compte = db.session.get(CompteMetier, compte_id)
    if compte is None:
        raise ServiceError(f"Compte famille introuvable : {compte_id}.")
    return compte


def _demandes(compte: CompteMetier) -> list[Demande]:
    critere = Demande.compte_id == compte.id
    if compte.citoyen_id is not None:
        critere = or_(critere, Demande.citoyen_id == compte.citoyen_id)
    return list(db.session.scalars(db.select(Demande).where(critere).order_by(Demande.created_at)))


def _donnees(compte: CompteMetier, demandes: list | None = None) -> dict:
    """Every record held on the family, by kind (ORM objects); demandes: the family's requests when already read."""
    individus = list(db.session.scalars(db.select(Individu).where(Individu.compte_id == compte.id)))
    individu_ids = [i.id for i in individus]
    factures = list(db.session.scalars(db.select(Facture).where(Facture.compte_id == compte.id)
                                       .order_by(Facture.date_emission, Facture.id)))
    facture_ids = [f.id for f in factures]
    reglements = list(db.session.scalars(db.select(Reglement).where(Reglement.compte_id == compte.id)
                                         .order_by(Reglement.regle_le, Reglement.id)))
    demandes = _demandes(compte) if demandes is None else demandes
    demande_ids = [d.id for d in demandes]
    criteres = [Courriel.compte_id == compte.id, Courriel.demande_id.in_(demande_ids)]
    if compte.citoyen_id is not None:
        criteres.append(Courriel.citoyen_id == compte.citoyen_id)
    return {
        "citoyen": [compte.citoyen] if compte.citoyen is not None else [],
        "compte": [compte],
        "individus": individus,
        "inscriptions": list(db.session.scalars(db.select(Inscription).where(
            Inscription.individu_id.in_(individu_ids)))),
        "factures": factures,
        "lignes_facture": list(db.session.scalars(db.select(LigneFacture).where(
            LigneFacture.facture_id.in_(facture_ids)))),
        "reglements": reglements,
        "ventilations": list(db.session.scalars(db.select(Ventilation).where(
            Ventilation.reglement_id.in_([r.id for r in reglements])))),
        "operations": list(db.session.scalars(db.select(Operation).where(Operation.compte_id == compte.id)
                                              .order_by(Operation.date, Operation.id))),
        "demandes": demandes,
        "historique_demandes": list(db.session.scalars(db.select(DemandeHistorique).where(
            DemandeHistorique.demande_id.in_(demande_ids)))),
        "courriels": list(db.session.scalars(db.select(Courriel).where(or_(*criteres)).order_by(Courriel.id))),
    }


def _audits(donnees: dict) -> list[Audit]:
    """The audit entries on any of the family's records."""
    par_type: dict[str, set[str]] = {}
    for objets in donnees.values():
        for obj in objets:
            par_type.setdefault(type(obj).__name__, set()).add(str(obj.id))
    if not par_type:
        return []
    criteres = [(Audit.objet_type == kind) & Audit.objet_id.in_(sorted(ids)) for kind, ids in par_type.items()]
    return list(db.session.scalars(db.select(Audit).where(or_(*criteres)).order_by(Audit.created_at, Audit.id)))


def exporter_famille(compte_id: int) -> dict:
    """Everything held on one family as JSON-ready data; the export itself is audited. The caller commits."""
    compte = _compte(compte_id)
    donnees = _donnees(compte)
    document = {
        "genere_le": iso_utc(utcnow()),
        "compte_id": compte.id,
        **{kind: [_ligne(obj) for obj in objets] for kind, objets in donnees.items()},
        "journal": [_ligne(entry) for entry in _audits(donnees)],
    }
    audit.record("rgpd_export", compte, {"elements": {k: len(v) for k, v in donnees.items()}})
    db.session.flush()
    return document


def est_anonymise(compte: CompteMetier) -> bool:
    return compte.code.startswith(PREFIXE)


def anonymiser_famille(compte_id: int) -> dict:
    """Replace the family's personal data, cut its links; invoices and payments keep their amounts (kept by law).

    Refused while the family has a request not yet processed. Earlier audit entries on these records keep who,
    when and what, but their personal values are blanked. The caller commits.
    """
    compte = _compte(compte_id)
    if est_anonymise(compte):
        raise ServiceError("Cette famille est déjà anonymisée.")
    demandes = _demandes(compte)
    ouvertes = [d.reference for d in demandes if d.etat != "traitee"]
    if ouvertes:
        raise ServiceError("Anonymisation impossible : demandes en cours (" + ", ".join(ouvertes) + ").")
    donnees = _donnees(compte, demandes)
    entrees = _audits(donnees)
    citoyen = compte.citoyen
    # Field-by-field entries would copy the very data being erased into the journal: one summary instead.
    with audit.suspendu():
        _anonymiser(compte, donnees, citoyen)
        for entry in entrees:
            entry.details = _masquer(entry.details)
        db.session.flush()
    resume = {k: len(v) for k, v in donnees.items()}
    audit.record("anonymisation", compte, {"elements": resume})
    db.session.flush()
    return resume


def _anonymiser(compte: CompteMetier, donnees: dict, citoyen: Citoyen | None) -> None:
    compte.nom, compte.prenom, compte.email = ANONYME, "", None
    compte.code = f"{PREFIXE}{compte.id}"
    compte.citoyen_id = None
    compte.archive = True
    for individu in donnees["individus"]:
        individu.nom, individu.prenom, individu.date_naissance = ANONYME, "", None
        individu.reference = f"{PREFIXE}I{individu.id}"
        individu.archive = True
    for reglement in donnees["reglements"]:
        reglement.payeur = ANONYME
    for demande in donnees["demandes"]:
        demande.email = f"anonyme-{demande.id}@anonyme.invalid"
        demande.contenu = {}
        demande.citoyen_id = None
    for entree in donnees["historique_demandes"]:
        entree.texte = None
    for courriel in donnees["courriels"]:
        courriel.destinataire = f"anonyme-{courriel.id}@anonyme.invalid"
        courriel.corps = "(anonymisé)"
        courriel.citoyen_id = None
    if citoyen is not None:
        autres = db.session.scalar(db.select(db.func.count(CompteMetier.id)).where(
            CompteMetier.citoyen_id == citoyen.id, CompteMetier.id != compte.id))
        if not autres:
            citoyen.email = f"anonyme-{citoyen.id}@anonyme.invalid"
            citoyen.nom, citoyen.prenom, citoyen.civilite = ANONYME, "", None


def _masquer(details):
    """Audit details with every value blanked, the keys (which fields changed) kept."""
    if isinstance(details, dict):
        return {cle: _masquer(valeur) for cle, valeur in details.items()}
    if isinstance(details, list):
        return [_masquer(valeur) for valeur in details]
    return None if details is None else "(anonymisé)"


def familles_inactives(mois: int, maintenant: dt.datetime | None = None) -> list[int]:
    """Family accounts with no activity (synchronisation, invoice, payment, request) for `mois` months."""
    limite = audit.mois_avant(maintenant or utcnow(), mois)
    recent = [
        db.select(Facture.compte_id).where(Facture.date_emission >= limite.date()),
        db.select(Reglement.compte_id).where(Reglement.regle_le >= limite.date()),
        db.select(Demande.compte_id).where(Demande.created_at >= limite, Demande.compte_id.is_not(None)),
    ]
    query = (db.select(CompteMetier.id)
             .where(~CompteMetier.code.startswith(PREFIXE),
                    db.func.coalesce(CompteMetier.synchronise_le, CompteMetier.created_at) < limite,
                    CompteMetier.created_at < limite)
             .order_by(CompteMetier.id))
    for sous_requete in recent:
        query = query.where(CompteMetier.id.not_in(sous_requete))
    return list(db.session.scalars(query))


def appliquer_retention(maintenant: dt.datetime | None = None) -> dict:
    """Anonymise the families inactive past the "retention_familles_mois" setting; those with open requests wait.

    Returns {"anonymisees": [...ids], "refusees": {id: reason}}. The caller commits.
    """
    mois = _mois("retention_familles_mois")
    resultat = {"anonymisees": [], "refusees": {}}
    for compte_id in familles_inactives(mois, maintenant):
        try:
            anonymiser_famille(compte_id)
        except ServiceError as exc:
            resultat["refusees"][compte_id] = str(exc)
        else:
            resultat["anonymisees"].append(compte_id)
    return resultat


def purger_journal(maintenant: dt.datetime | None = None) -> int:
    """Delete the audit entries older than the "retention_audit_mois" setting; returns how many."""
    return audit.purger(_mois("retention_audit_mois"), maintenant)


def _mois(cle: str) -> int:
    """A retention setting in months (a whole number ≥ 1), or a French error naming the setting."""
    valeur = parametres.get(cle).strip()
    if not valeur.isdigit() or int(valeur) < 1:
        raise ServiceError(f"Paramètre « {cle} » invalide : {valeur!r} (nombre de mois attendu).")
    return int(valeur)
