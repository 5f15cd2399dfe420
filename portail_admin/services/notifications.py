"""The families' e-mails (accusé de réception / de traitement) and the settings of Administration › Paramètres."""
import re

from ..extensions import db
from ..formatting import date_fr
from ..models import Citoyen, Demande, ModeleNotification, Parametre
from . import ServiceError, appliquer, audit, parametres
from .courriels import enregistrer, sans_saut_de_ligne, valider_adresse

#: The seed's fixed parts, never editable: only the variable part and the subject are the admins'.
PARTIES_FIXES = {
    "accuse_reception": (
        "Bonjour [civilite] [nom],\n"
        "Votre demande de [type] [reference], a bien été prise en compte et sera traitée dans les plus brefs "
        "délais. Nous vous tiendrons informé(e)s de son traitement."
    ),
    "accuse_traitement": (
        "Bonjour [civilite] [nom],\n"
        "Votre demande [type] [reference], réalisée le [date], a été [decision] le [date_decision]."
    ),
}

#: Placeholders an admin may use in a subject or a variable part, and what they become.
PLACEHOLDERS = {
    "civilite": "civilité de la famille (M. ou Mme)",
    "nom": "nom du compte citoyen",
    "type": "type de la demande",
    "reference": "référence de la demande",
    "date": "date de la demande",
    "decision": "décision (ACCEPTÉE, REFUSÉE ou TRAITÉE)",
    "date_decision": "date de la décision",
}

#: How a request type reads inside a sentence ("Votre demande de réservation").
TYPES_DANS_UNE_PHRASE = {
    "dossier_famille": "modification du dossier famille",
    "reservation": "réservation",
    "absence": "absence",
    "contact": "contact",
}

#: The sample family of the preview and of the test e-mail.
EXEMPLE = {
    "civilite": "Mme",
    "nom": "MARTIN",
    "type": "réservation",
    "reference": "D2026-000123",
    "date": "12/03/2026",
    "decision": "ACCEPTÉE",
    "date_decision": "14/03/2026",
}

#: The settings of the Paramètres screen.
DELAIS = ("delai_dossier_famille", "delai_reservation", "delai_absence", "delai_contact")
ADRESSES = ("agent_contact_email", "expediteur")
ENTIERS = (*DELAIS, "retention_audit_mois")

_PLACEHOLDER = re.compile(r"\[([a-z_]+)\]")


def remplir(texte: str, valeurs: dict) -> str:
    """Replace the known [placeholders] in one pass; everything else, {{ ... }} included, stays as typed."""
    return _PLACEHOLDER.sub(lambda m: valeurs.get(m.group(1), m.group(0)), texte)


def _une_ligne(valeur) -> str:
    # A value lands in a sentence and possibly in the subject: one line, single spaces.
    return " ".join(str(valeur or "").split())


def valeurs_demande(demande: Demande) -> dict:
    """The placeholders' values for a request."""
    citoyen: Citoyen | None = demande.citoyen
    decision = Demande.DECISIONS.get(demande.decision, "TRAITÉE") if demande.etat == "traitee" else ""
    valeurs = {
        "civilite": Citoyen.CIVILITES.get(citoyen.civilite, "") if citoyen else "",
        "nom": citoyen.nom if citoyen else "",
        "type": TYPES_DANS_UNE_PHRASE.get(demande.type, demande.type),
        "reference": demande.reference,
        "date": date_fr(demande.created_at),
        "decision": decision,
        "date_decision": date_fr(demande.decide_le or demande.traitee_le),
    }
    return {cle: _une_ligne(v) for cle, v in valeurs.items()}


def _fixe(code: str, valeurs: dict) -> str:
    texte = remplir(PARTIES_FIXES[code], valeurs)
    # No civilité known: "Bonjour  DUPONT" becomes "Bonjour DUPONT".
    return "\n".join(re.sub(r" {2,}", " ", ligne) for ligne in texte.split("\n"))


def composer(code: str, valeurs: dict, sujet: str, partie_variable: str, complement: str = "") -> tuple[str, str]:
    """Subject and plain-text body: fixed part, the request's complement (reply, motif), variable part."""
    corps = [_fixe(code, valeurs)]
    if complement:
        corps.append(complement)
    if partie_variable.strip():
        corps.append(remplir(partie_variable, valeurs).strip())
    return _une_ligne(remplir(sujet, valeurs)), "\n\n".join(corps) + "\n"


def modele(code: str) -> ModeleNotification:
    """The template of this code, created with its default text when missing."""
    trouve = db.session.scalar(db.select(ModeleNotification).where(ModeleNotification.code == code))
    if trouve is None:
        parametres.ensure_defaults()
        trouve = db.session.scalar(db.select(ModeleNotification).where(ModeleNotification.code == code))
    return trouve


def composer_pour(demande: Demande, code: str, complement: str = "") -> tuple[str, str]:
    """The e-mail of this template for a request, with the admins' current subject and variable part."""
    gabarit = modele(code)
    return composer(code, valeurs_demande(demande), gabarit.sujet, gabarit.partie_variable, complement)


def apercu(code: str, sujet: str, partie_variable: str) -> tuple[str, str]:
    """The e-mail as the sample family would receive it (unsaved text allowed)."""
    complement = "Réponse de la collectivité :\nVotre enfant est bien inscrit." if code == "accuse_traitement" else ""
    return composer(code, EXEMPLE, sujet, partie_variable, complement)


def _valider_modele(sujet: str, partie_variable: str) -> tuple[str, str]:
    sujet = (sujet or "").strip()
    if not sujet:
        raise ServiceError("L'objet du courriel est obligatoire.")
    sans_saut_de_ligne(sujet, "L'objet du courriel")
    if len(sujet) > 200:
        raise ServiceError("L'objet du courriel ne doit pas dépasser 200 caractères.")
    partie_variable = (partie_variable or "").replace("\r\n", "\n").strip()
    if len(partie_variable) > 5000:
        raise ServiceError("La partie variable ne doit pas dépasser 5 000 caractères.")
    return sujet, partie_variable


def modifier_modele(gabarit: ModeleNotification, sujet: str, partie_variable: str) -> dict:
    """Save an admin's subject and variable part; returns the changes (the audit trail records the update)."""
    sujet, partie_variable = _valider_modele(sujet, partie_variable)
    changements = appliquer(gabarit, {"sujet": sujet, "partie_variable": partie_variable})
    db.session.flush()
    return changements


def courriel_de_test(code: str, sujet: str, partie_variable: str, destinataire: str):
    """Record a test e-mail of this (possibly unsaved) template to an admin's own address."""
    sujet, partie_variable = _valider_modele(sujet, partie_variable)
    objet, corps = apercu(code, sujet, partie_variable)
    courriel = enregistrer("test", destinataire, f"[Test] {objet}", corps)
    audit.record("test_notification", objet_type="ModeleNotification", objet_id=code,
                 details={"destinataire": courriel.destinataire})
    return courriel


def valeurs_parametres() -> dict:
    """The Paramètres screen's current values (defaults when never set)."""
    return {cle: parametres.get(cle) for cle in (*ADRESSES, *ENTIERS)}


def modifier_parametres(valeurs: dict) -> dict:
    """Validate and save the Paramètres screen; returns the changes (the audit trail records the update)."""
    propres = {}
    for cle in ADRESSES:
        propres[cle] = valider_adresse(valeurs.get(cle), "L'adresse e-mail")
    for cle in ENTIERS:
        brut = str(valeurs.get(cle, "")).strip()
        if not brut.isdigit() or int(brut) < 1:
            raise ServiceError(f"La valeur de « {cle} » doit être un nombre entier positif.")
        propres[cle] = str(int(brut))
    changements = {}
    for cle, valeur in propres.items():
        ligne = db.session.get(Parametre, cle)
        if ligne is None:
            ligne = Parametre(cle=cle, valeur=parametres.DEFAULTS[cle])
            db.session.add(ligne)
        if ligne.valeur != valeur:
            changements[cle] = [ligne.valeur, valeur]
            ligne.valeur = valeur
    db.session.flush()
    return changements
