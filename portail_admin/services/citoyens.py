"""Citizen accounts and family (métier) accounts: create, edit, delete, unsubscribe, associate."""
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Citoyen,
    CompteMetier,
    Courriel,
    Demande,
    Facture,
    Individu,
    Inscription,
    LigneFacture,
    Operation,
    Reglement,
)
from . import ServiceError, appliquer, audit, cache
from .agents import normalise_email
from .prefixes import prefix_bounds


def _texte(value, libelle: str, requis: bool = True) -> str:
    """A trimmed text field; an empty required one is refused."""
    value = (value or "").strip()
    if requis and not value:
        raise ServiceError(f"Le champ {libelle} est obligatoire.")
    return value


def _email_citoyen(email, sauf: Citoyen | None = None) -> str:
    """A valid, lower-case citizen e-mail that no other citizen account uses."""
    if not (email or "").strip():
        raise ServiceError("Le champ Email est obligatoire.")
    email = normalise_email(email)
    query = db.select(Citoyen.id).where(Citoyen.email == email)
    if sauf is not None and sauf.id is not None:
        query = query.where(Citoyen.id != sauf.id)
    if db.session.scalar(query) is not None:
        raise ServiceError(f"Un compte citoyen existe déjà avec l'adresse {email}.")
    return email


def _civilite(value) -> str | None:
    if not value:
        return None
    if value not in Citoyen.CIVILITES:
        raise ServiceError(f"Civilité inconnue : {value!r} (attendu : M ou MME).")
    return value


def _flush_unique(email: str) -> None:
    # The check above can lose a race with a concurrent creation: the unique index has the last word.
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise ServiceError(f"Un compte citoyen existe déjà avec l'adresse {email}.") from exc


# --------------------------------------------------------------------------- Comptes citoyens


def creer_citoyen(email, nom, prenom, civilite=None, partenaire: bool = False) -> Citoyen:
    """Create a citizen account for a family that cannot do it on the portal."""
    citoyen = Citoyen(email=_email_citoyen(email), nom=_texte(nom, "Nom"), prenom=_texte(prenom, "Prénom"),
                      civilite=_civilite(civilite), partenaire=bool(partenaire))
    db.session.add(citoyen)
    _flush_unique(citoyen.email)
    return citoyen


def modifier_citoyen(citoyen: Citoyen, email, nom, prenom, partenaire: bool, civilite=None) -> dict:
    """Edit a citizen account; returns the changes {field: [before, after]} (empty when nothing changed)."""
    values = {"email": _email_citoyen(email, sauf=citoyen), "nom": _texte(nom, "Nom"),
              "prenom": _texte(prenom, "Prénom"), "partenaire": bool(partenaire), "civilite": _civilite(civilite)}
    changes = appliquer(citoyen, values)
    if changes:
        _flush_unique(citoyen.email)
    return changes


def supprimer_citoyen(citoyen: Citoyen) -> list[int]:
    """Delete a citizen account; its family accounts stay, now Orphelin. Returns their ids.

    Requests and sent e-mails keep their own copy of the address and lose only the link. The foreign keys
    say ON DELETE SET NULL, but the links are cut here so SQLite without foreign keys behaves the same.
    """
    comptes = db.session.scalars(
        db.select(CompteMetier).where(CompteMetier.citoyen_id == citoyen.id).order_by(CompteMetier.id)).all()
    for compte in comptes:
        audit.record("desabonner", compte, {"citoyen_id": citoyen.id, "citoyen_email": citoyen.email,
                                            "motif": "compte citoyen supprimé"})
        compte.citoyen = None
    for model in (Demande, Courriel):
        db.session.execute(db.update(model).where(model.citoyen_id == citoyen.id).values(citoyen_id=None))
    db.session.delete(citoyen)
    db.session.flush()
    return [compte.id for compte in comptes]


def supprimer_citoyens(ids) -> int:
    """Delete several citizen accounts (bulk action); ids that no longer exist are skipped. Returns the count."""
    citoyens = db.session.scalars(db.select(Citoyen).where(Citoyen.id.in_([int(i) for i in ids]))).all()
    for citoyen in citoyens:
        supprimer_citoyen(citoyen)
    return len(citoyens)


def citoyens_par_prefixe(debut: str, limite: int = 10, offset: int = 0) -> list[Citoyen]:
    """Citizen accounts whose e-mail starts with debut (lower case), in e-mail order.

    A half-open range [debut, next) rather than LIKE 'debut%': the unique index on e-mail serves it on
    PostgreSQL whatever the collation's LIKE support, and on SQLite; e-mails are stored lower case.
    """
    debut = (debut or "").strip().lower()
    if not debut:
        return []
    debut, fin = prefix_bounds(debut)
    return list(db.session.scalars(
        db.select(Citoyen).where(Citoyen.email >= debut, Citoyen.email < fin).order_by(Citoyen.email)
        .offset(max(offset, 0)).limit(max(limite, 1))))


#: How long the options of a list filter (univers, émetteurs present) are reused (seconds); 0: every time.
OPTIONS_CACHE_SECONDES = 60


def valeurs_presentes(column) -> list:
    """The distinct non-null values of an indexed column, e.g. the univers or émetteurs of the accounts.

    A recursive "next value after" walk of the index: one probe per value, not a scan of every row. Every list
    page offers them in its filters: they are reused for OPTIONS_FILTRES_CACHE_SECONDES (a new émetteur
    brought by an import appears in the filter within a minute).
    """
    ttl = current_app.config.get("OPTIONS_FILTRES_CACHE_SECONDES", OPTIONS_CACHE_SECONDES)
    return cache.memo("options_filtres", str(column), lambda: _valeurs_presentes(column), ttl)


def _valeurs_presentes(column) -> list:
    valeurs = db.select(db.func.min(column).label("v")).cte("valeurs", recursive=True)
    suivante = db.select(db.select(db.func.min(column)).where(column > valeurs.c.v).scalar_subquery())
    valeurs = valeurs.union_all(suivante.where(valeurs.c.v.is_not(None)))
    return list(db.session.scalars(db.select(valeurs.c.v).where(valeurs.c.v.is_not(None))))


def trouver_citoyen(email) -> Citoyen:
    """The citizen account of an e-mail address, or a French refusal."""
    email = normalise_email(email)
    citoyen = db.session.scalar(db.select(Citoyen).where(Citoyen.email == email))
    if citoyen is None:
        raise ServiceError(f"Aucun compte citoyen avec l'adresse {email}.")
    return citoyen


# --------------------------------------------------------------------------- Comptes métiers


def desabonner(compte: CompteMetier) -> bool:
    """Cut the link between a family account and its citizen account; nothing is deleted.

    Returns False, changing nothing, when the account is already Orphelin.
    """
    if compte.citoyen_id is None:
        return False
    citoyen = compte.citoyen
    audit.record("desabonner", compte, {"citoyen_id": compte.citoyen_id,
                                        "citoyen_email": citoyen.email if citoyen else None})
    compte.citoyen = None
    db.session.flush()
    return True


def desabonner_comptes(ids) -> tuple[int, int]:
    """Unsubscribe several accounts (bulk action): (unsubscribed, already Orphelin)."""
    comptes = db.session.scalars(db.select(CompteMetier).where(CompteMetier.id.in_([int(i) for i in ids]))).all()
    faits = sum(1 for compte in comptes if desabonner(compte))
    return faits, len(comptes) - faits


def associer(compte: CompteMetier, citoyen: Citoyen | str) -> None:
    """Link an Orphelin family account to a citizen account (given as a Citoyen or an e-mail address)."""
    if isinstance(citoyen, str):
        citoyen = trouver_citoyen(citoyen)
    if citoyen is None:
        raise ServiceError("Choisissez le compte citoyen à associer.")
    if compte.citoyen_id == citoyen.id:
        raise ServiceError(f"Le compte {compte.libelle} est déjà associé à {citoyen.email}.")
    if compte.citoyen_id is not None:
        raise ServiceError(f"Le compte {compte.libelle} est déjà associé à {compte.citoyen.email} : "
                           "désabonnez-le d'abord.")
    compte.citoyen = citoyen
    audit.record("associer", compte, {"citoyen_id": citoyen.id, "citoyen_email": citoyen.email})
    db.session.flush()


def modifier_compte(compte: CompteMetier, nom, prenom, email) -> dict:
    """Edit the name and e-mail of a family account (its other fields belong to Enfance). Returns the changes."""
    email = (email or "").strip()
    values = {"nom": _texte(nom, "Nom"), "prenom": _texte(prenom, "Prénom", requis=False),
              "email": normalise_email(email) if email else None}
    changes = appliquer(compte, values)
    if changes:
        db.session.flush()
    return changes


def _pluriel(n: int, singulier: str, pluriel: str) -> str:
    return f"{n} {singulier if n == 1 else pluriel}"


def historique(compte: CompteMetier) -> dict[str, int]:
    """What keeps a family account from being deleted: its invoices, payments, requests and ledger entries."""
    def count(model, *where):
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))

    individus = db.select(Individu.id).where(Individu.compte_id == compte.id)
    return {
        "factures": count(Facture, Facture.compte_id == compte.id),
        "reglements": count(Reglement, Reglement.compte_id == compte.id),
        "demandes": count(Demande, Demande.compte_id == compte.id),
        "operations": count(Operation, Operation.compte_id == compte.id),
        "lignes": count(LigneFacture, LigneFacture.individu_id.in_(individus)),
    }


LIBELLES_HISTORIQUE = {
    "factures": ("facture", "factures"),
    "reglements": ("règlement", "règlements"),
    "demandes": ("demande", "demandes"),
    "operations": ("opération au relevé", "opérations au relevé"),
    "lignes": ("ligne de facture sur ses individus", "lignes de facture sur ses individus"),
}


def supprimer_compte(compte: CompteMetier) -> dict:
    """Delete a family account that has no history; its individuals and their registrations go with it.

    Refused, naming what blocks it, while the account has invoices, payments, requests or ledger entries,
    so that no history is lost. Returns what was deleted with it.
    """
    bloquants = {k: n for k, n in historique(compte).items() if n}
    if bloquants:
        detail = ", ".join(_pluriel(n, *LIBELLES_HISTORIQUE[k]) for k, n in bloquants.items())
        raise ServiceError(f"Suppression refusée : le compte {compte.libelle} ({compte.code}) a encore {detail}. "
                           "Son historique doit être conservé ; désabonnez-le plutôt.")
    individus = db.select(Individu.id).where(Individu.compte_id == compte.id)
    inscriptions = db.session.execute(db.delete(Inscription).where(Inscription.individu_id.in_(individus))).rowcount
    supprimes = db.session.execute(
        db.delete(Individu).where(Individu.compte_id == compte.id).execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(db.update(Courriel).where(Courriel.compte_id == compte.id).values(compte_id=None))
    audit.record("supprimer_compte", compte, {"code": compte.code, "emetteur": compte.emetteur,
                                              "nom": compte.libelle, "citoyen_id": compte.citoyen_id,
                                              "individus": supprimes, "inscriptions": inscriptions})
    db.session.expire(compte, ["individus"])
    db.session.delete(compte)
    db.session.flush()
    return {"individus": supprimes, "inscriptions": inscriptions}


def supprimer_comptes(ids) -> tuple[int, list[str]]:
    """Delete several family accounts (bulk action): (deleted count, refusal messages)."""
    comptes = db.session.scalars(db.select(CompteMetier).where(CompteMetier.id.in_([int(i) for i in ids]))).all()
    supprimes, refus = 0, []
    for compte in comptes:
        try:
            supprimer_compte(compte)
            supprimes += 1
        except ServiceError as exc:
            refus.append(str(exc))
    return supprimes, refus
