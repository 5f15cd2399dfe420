"""Portal settings (Administration › Paramètres) and the default notification templates."""
from ..extensions import db
from ..models import ModeleNotification, Parametre

#: Every setting with its default value.
DEFAULTS = {
    "agent_contact_email": "contact@mairie.example",
    "expediteur": "portail-famille@mairie.example",
    "delai_dossier_famille": "5",
    "delai_reservation": "2",
    "delai_absence": "2",
    "delai_contact": "3",
    "retention_audit_mois": "12",
    #: Months without activity after which a family is anonymised by the retention job.
    "retention_familles_mois": "36",
}

#: The seed's fixed parts are in services/notifications; these are the editable parts.
NOTIFICATIONS = {
    "accuse_reception": (
        "Votre demande [reference] a bien été reçue",
        "Vous pouvez également la suivre dans votre espace citoyen, dans le menu Mes Demandes.\n"
        "Meilleures salutations,\nl'équipe municipale.",
    ),
    "accuse_traitement": (
        "Votre demande [reference] a été traitée",
        "Meilleures salutations,\nl'équipe municipale.",
    ),
}


def ensure_defaults() -> None:
    """Create missing settings and notification templates; never overwrites an admin's value."""
    existing = set(db.session.scalars(db.select(Parametre.cle)))
    for cle, valeur in DEFAULTS.items():
        if cle not in existing:
            db.session.add(Parametre(cle=cle, valeur=valeur))
    codes = set(db.session.scalars(db.select(ModeleNotification.code)))
    for code, (sujet, variable) in NOTIFICATIONS.items():
        if code not in codes:
            db.session.add(ModeleNotification(code=code, sujet=sujet, partie_variable=variable))
    db.session.flush()


def get(cle: str) -> str:
    """A setting's value, or its default."""
    valeur = db.session.get(Parametre, cle)
    return valeur.valeur if valeur is not None else DEFAULTS[cle]
