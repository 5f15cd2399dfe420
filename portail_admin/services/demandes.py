"""Requests from the portal: intake, forwarding to Enfance, decisions, agents' replies, lateness."""
import datetime as dt
import secrets

from sqlalchemy import and_, case, or_

from ..extensions import db
from ..formatting import local
from ..models import Citoyen, CompteMetier, Courriel, Demande, DemandeHistorique, utcnow
from . import ServiceError, audit, parametres
from .courriels import enregistrer
from .notifications import composer_pour

RECUE = "Demande reçue"
TRANSMISE = "Demande transmise à l'application métier"
REPONSE = "Réponse de la collectivité"

#: Limits of the structured content, per field.
LONGUEURS = {"objet": 200, "message": 5000, "activite": 200, "motif": 1000, "champ": 80, "nouvelle_valeur": 1000,
             "enfant": 200}
MAX_DATES = 366

#: The content each type expects: required fields, optional fields.
CONTENUS = {
    "contact": (("objet", "message"), ()),
    "reservation": (("activite", "dates"), ("enfant",)),
    "absence": (("activite", "dates", "motif"), ("enfant",)),
    "dossier_famille": (("champ", "nouvelle_valeur"), ()),
}


class DemandeInvalide(ServiceError):
    """A request refused as a whole; details maps each wrong field to what is wrong with it."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


class CompteInconnu(DemandeInvalide):
    """The request names a citizen account that does not exist."""


class DejaTraitee(ServiceError):
    """The request is closed with another outcome."""


# --------------------------------------------------------------------------- validation


def _texte(valeur, champ: str, erreurs: dict, une_ligne: bool = False) -> str | None:
    if not isinstance(valeur, str) or not valeur.strip():
        erreurs[champ] = "obligatoire (texte non vide)"
        return None
    valeur = valeur.strip()
    if len(valeur) > LONGUEURS[champ]:
        erreurs[champ] = f"trop long ({len(valeur)} caractères, {LONGUEURS[champ]} au plus)"
    elif une_ligne and ("\r" in valeur or "\n" in valeur):
        erreurs[champ] = "ne doit pas contenir de retour à la ligne"
    return valeur.replace("\r\n", "\n")


def _dates(valeur, erreurs: dict) -> list[str] | None:
    if not isinstance(valeur, list) or not valeur:
        erreurs["dates"] = "obligatoire : liste non vide de dates AAAA-MM-JJ"
        return None
    if len(valeur) > MAX_DATES:
        erreurs["dates"] = f"{MAX_DATES} dates au plus"
        return None
    jours = set()
    for brut in valeur:
        try:
            jours.add(dt.date.fromisoformat(brut) if isinstance(brut, str) and len(brut) == 10 else None)
        except ValueError:
            jours.add(None)
    if None in jours:
        erreurs["dates"] = "chaque date doit être une date valide au format AAAA-MM-JJ"
        return None
    return [jour.isoformat() for jour in sorted(jours)]


def valider_contenu(type_: str, contenu) -> dict:
    """The request's content, checked and normalised for its type; DemandeInvalide says what is wrong."""
    if not isinstance(contenu, dict):
        raise DemandeInvalide("Le contenu de la demande doit être un objet JSON.", {"contenu": "objet attendu"})
    requis, optionnels = CONTENUS[type_]
    erreurs = {}
    propre = {}
    for champ in requis + optionnels:
        if champ not in contenu and champ in optionnels:
            continue
        if champ == "dates":
            propre[champ] = _dates(contenu.get(champ), erreurs)
        else:
            propre[champ] = _texte(contenu.get(champ), champ, erreurs, une_ligne=champ in ("objet", "champ"))
    for champ in sorted(set(contenu) - set(requis) - set(optionnels)):
        erreurs[champ] = "champ inconnu pour ce type de demande"
    if erreurs:
        raise DemandeInvalide("Le contenu de la demande est incomplet ou invalide.",
                              {f"contenu.{c}": m for c, m in erreurs.items()})
    return propre


# --------------------------------------------------------------------------- intake


def _compte_famille(citoyen: Citoyen) -> CompteMetier | None:
    """The citizen's family account, when there is exactly one live Enfance account."""
    comptes = [c for c in citoyen.comptes if c.univers == "enfance" and not c.archive]
    return comptes[0] if len(comptes) == 1 else None


def _courriel_famille(demande: Demande, code: str, complement: str = "") -> Courriel:
    sujet, corps = composer_pour(demande, code, complement)
    return enregistrer(code, demande.email, sujet, corps, demande=demande, compte_id=demande.compte_id,
                       citoyen_id=demande.citoyen_id)


def _courriel_agent(demande: Demande) -> Courriel:
    citoyen = demande.citoyen
    contenu = demande.contenu
    corps = (
        "Une demande de contact a été déposée sur le Portail Famille.\n\n"
        f"Référence : {demande.reference}\n"
        f"Date : {local(demande.created_at):%d/%m/%Y %H:%M}\n"
        f"De : {citoyen.prenom} {citoyen.nom} <{demande.email}>\n"
        f"Objet : {contenu['objet']}\n\n"
        f"Message :\n{contenu['message']}\n\n"
        "La réponse se fait depuis le back-office (menu Demandes, détail de la demande), pas par courriel.\n"
    )
    sujet = f"[Portail Famille] Nous contacter {demande.reference} : {contenu['objet']}"
    return enregistrer("contact_agent", parametres.get("agent_contact_email"), sujet, corps, demande=demande)


def recevoir(email, type_, contenu) -> tuple[Demande, list[Courriel]]:
    """Record a request from the portal with its history and its e-mails (not yet sent).

    Enfance types wait for the Enfance application ("à transmettre"); a contact request goes by e-mail to
    the designated agent ("à traiter"). Raises DemandeInvalide / CompteInconnu before writing anything.
    """
    erreurs = {}
    if not isinstance(email, str) or not email.strip():
        erreurs["email"] = "obligatoire : l'adresse du compte citoyen"
    if not isinstance(type_, str) or type_ not in Demande.TYPES:
        erreurs["type"] = f"inconnu ; valeurs possibles : {', '.join(Demande.TYPES)}"
    if erreurs:
        raise DemandeInvalide("La demande est incomplète ou invalide.", erreurs)
    contenu = valider_contenu(type_, contenu)
    citoyen = db.session.scalar(db.select(Citoyen).where(Citoyen.email == email.strip().lower()))
    if citoyen is None:
        raise CompteInconnu("Aucun compte citoyen n'a cette adresse e-mail.",
                            {"email": "aucun compte citoyen avec cette adresse"})
    compte = _compte_famille(citoyen)
    demande = Demande(
        # Placeholder until the id is known: the reference is built from it, so it is unique without a race.
        reference="tmp-" + secrets.token_hex(8), citoyen=citoyen, compte=compte, email=citoyen.email,
        type=type_, etat="a_traiter" if type_ == "contact" else "a_transmettre", contenu=contenu,
    )
    db.session.add(demande)
    db.session.flush()
    demande.reference = f"D{local(demande.created_at).year}-{demande.id:06d}"
    db.session.add(DemandeHistorique(demande=demande, created_at=demande.created_at, libelle=RECUE,
                                     auteur="Portail"))
    courriels = [_courriel_famille(demande, "accuse_reception")]
    if type_ == "contact":
        courriels.append(_courriel_agent(demande))
    audit.record("reception", demande, {"type": type_, "reference": demande.reference})
    db.session.flush()
    return demande, courriels


# --------------------------------------------------------------------------- Enfance


def par_reference(reference: str) -> Demande | None:
    return db.session.scalar(db.select(Demande).where(Demande.reference == reference))


def _enfance(demande: Demande) -> None:
    if demande.type not in Demande.TYPES_ENFANCE:
        raise DemandeInvalide(f"La demande {demande.reference} n'est pas une demande Enfance "
                              f"({Demande.TYPES[demande.type]}).")


def a_transmettre(etat: str = "a_transmettre", apres: int = 0, limite: int = 100) -> list[Demande]:
    """Enfance requests in this state, oldest first, after the id cursor (keyset paging)."""
    return list(db.session.scalars(
        db.select(Demande)
        .where(Demande.type.in_(Demande.TYPES_ENFANCE), Demande.etat == etat, Demande.id > apres)
        .order_by(Demande.id)
        .limit(limite)
    ))


def transmettre(demande: Demande) -> bool:
    """Enfance acknowledges receipt; True the first time, False (and nothing written) on a repeat."""
    _enfance(demande)
    maintenant = utcnow()
    # Conditional UPDATE: two simultaneous acknowledgements write one history entry, not two.
    fait = db.session.execute(
        db.update(Demande)
        .where(Demande.id == demande.id, Demande.transmise_le.is_(None))
        .values(transmise_le=maintenant,
                etat=case((Demande.etat == "a_transmettre", "transmise"), else_=Demande.etat))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(demande)
    if not fait:
        return False
    db.session.add(DemandeHistorique(demande=demande, created_at=maintenant, libelle=TRANSMISE, auteur="Enfance"))
    audit.record("transmission", demande, {"reference": demande.reference})
    db.session.flush()
    return True


def decider(demande: Demande, decision: str, motif: str | None, date: dt.date) -> list[Courriel]:
    """Record Enfance's outcome and queue the accusé de traitement; a repeat of the same outcome is a no-op."""
    _enfance(demande)
    if not isinstance(decision, str) or decision not in Demande.DECISIONS:
        raise DemandeInvalide("Décision inconnue.", {"decision": f"valeurs possibles : {', '.join(Demande.DECISIONS)}"})
    motif = (motif or "").strip() or None
    if demande.etat == "traitee":
        if demande.decision == decision:
            return []
        raise DejaTraitee(f"La demande {demande.reference} est déjà traitée "
                          f"({Demande.DECISIONS.get(demande.decision, 'traitée')}).")
    transmettre(demande)
    maintenant = utcnow()
    fait = db.session.execute(
        db.update(Demande)
        .where(Demande.id == demande.id, Demande.etat != "traitee")
        .values(etat="traitee", decision=decision, motif=motif, decide_le=date, traitee_le=maintenant)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(demande)
    if not fait:
        return []
    libelle = f"Demande {Demande.DECISIONS[decision].lower()}"
    db.session.add(DemandeHistorique(demande=demande, created_at=maintenant, libelle=libelle, texte=motif,
                                     auteur="Enfance"))
    complement = f"Motif : {motif}" if motif else ""
    courriels = [_courriel_famille(demande, "accuse_traitement", complement)]
    audit.record("decision", demande, {"decision": decision, "motif": motif, "date": date.isoformat()})
    db.session.flush()
    return courriels


# --------------------------------------------------------------------------- back-office


def repondre(demande: Demande, agent, texte: str) -> list[Courriel]:
    """An agent answers a contact request: reply in the history, request closed, accusé de traitement queued."""
    if demande.type != "contact":
        raise ServiceError("Seules les demandes de contact reçoivent une réponse depuis le back-office ; "
                           "les demandes Enfance sont traitées dans l'application métier.")
    texte = (texte or "").replace("\r\n", "\n").strip()
    if not texte:
        raise ServiceError("La réponse est vide.")
    if len(texte) > LONGUEURS["message"]:
        raise ServiceError(f"La réponse ne doit pas dépasser {LONGUEURS['message']} caractères.")
    maintenant = utcnow()
    fait = db.session.execute(
        db.update(Demande)
        .where(Demande.id == demande.id, Demande.etat != "traitee")
        .values(etat="traitee", traitee_le=maintenant, decide_le=local(maintenant).date())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(demande)
    if not fait:
        raise DejaTraitee(f"La demande {demande.reference} a déjà été traitée.")
    db.session.add(DemandeHistorique(demande=demande, created_at=maintenant, libelle=REPONSE, texte=texte,
                                     auteur=agent.email))
    courriels = [_courriel_famille(demande, "accuse_traitement", f"Réponse de la collectivité :\n{texte}")]
    audit.record("reponse", demande, {"reference": demande.reference})
    db.session.flush()
    return courriels


def courriels_de(demande: Demande) -> list[Courriel]:
    """The outbox rows of a request, oldest first."""
    return list(db.session.scalars(db.select(Courriel).where(Courriel.demande_id == demande.id)
                                   .order_by(Courriel.created_at, Courriel.id)))


# --------------------------------------------------------------------------- lateness


def seuils() -> dict[str, int]:
    """Days a request of each type may wait before it is late (Administration › Paramètres)."""
    resultat = {}
    for type_ in Demande.TYPES:
        cle = f"delai_{type_}"
        try:
            resultat[type_] = max(int(parametres.get(cle)), 0)
        except ValueError:
            resultat[type_] = int(parametres.DEFAULTS[cle])
    return resultat


def delai(demande: Demande, maintenant: dt.datetime | None = None) -> int:
    """Délai: whole days since the request arrived."""
    return ((maintenant or utcnow()) - demande.created_at).days


def est_en_retard(demande: Demande, limites: dict[str, int], maintenant: dt.datetime | None = None) -> bool:
    """Still open and waiting longer than its type's threshold."""
    return demande.etat != "traitee" and delai(demande, maintenant) > limites.get(demande.type, 0)


def critere_en_retard(limites: dict[str, int] | None = None, maintenant: dt.datetime | None = None):
    """SQL criterion of the late requests, the same rule as est_en_retard (for lists and the dashboard)."""
    limites = limites if limites is not None else seuils()
    maintenant = maintenant or utcnow()
    # delai > seuil  <=>  at least seuil + 1 whole days have passed since arrival.
    return and_(Demande.etat != "traitee", or_(*(
        and_(Demande.type == type_, Demande.created_at <= maintenant - dt.timedelta(days=jours + 1))
        for type_, jours in limites.items()
    )))
