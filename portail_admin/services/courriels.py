"""Outbox: every e-mail is recorded as a Courriel row first, then sent by a job through Flask-Mail."""
import datetime as dt
import smtplib

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_mail import Connection, Message

from ..extensions import db
from ..models import Courriel, Demande, utcnow
from . import ServiceError, parametres

#: Screen labels of the kinds of e-mail.
TYPES = {
    "accuse_reception": "Accusé de réception",
    "accuse_traitement": "Accusé de traitement",
    "contact_agent": "Demande de contact à l'agent",
    "test": "Courriel de test",
}
#: Display name of the sender.
NOM_EXPEDITEUR = "Portail Famille"
#: A pending e-mail younger than this is probably still in the queue: the relaunch leaves it alone.
ATTENTE_AVANT_RELANCE = dt.timedelta(minutes=5)


def sans_saut_de_ligne(valeur: str, champ: str) -> str:
    """Refuse CR/LF in what becomes a mail header (header injection)."""
    if "\r" in valeur or "\n" in valeur:
        raise ServiceError(f"{champ} ne doit pas contenir de retour à la ligne.")
    return valeur


def valider_adresse(adresse, champ: str = "L'adresse e-mail") -> str:
    """A syntactically valid e-mail address on one line, normalised; ServiceError otherwise."""
    adresse = sans_saut_de_ligne(str(adresse or "").strip(), champ)
    if not adresse:
        raise ServiceError(f"{champ} est obligatoire.")
    try:
        return validate_email(adresse, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(f"{champ} « {adresse} » n'est pas valide.") from exc


def enregistrer(type_: str, destinataire: str, sujet: str, corps: str, *, demande: Demande | None = None,
                compte_id: int | None = None, citoyen_id: int | None = None) -> Courriel:
    """Add an e-mail to the outbox (same transaction as the change it reports); the caller enqueues it."""
    destinataire = valider_adresse(destinataire, "L'adresse du destinataire")
    sujet = sans_saut_de_ligne((sujet or "").strip(), "L'objet du courriel")
    if not sujet:
        raise ServiceError("L'objet du courriel est obligatoire.")
    courriel = Courriel(type=type_, destinataire=destinataire, sujet=sujet[:255], corps=corps, etat="en_attente",
                        demande=demande, compte_id=compte_id, citoyen_id=citoyen_id)
    db.session.add(courriel)
    db.session.flush()
    return courriel


def reserver(courriel_id: int) -> Courriel | None:
    """Take an unsent e-mail for sending (None if already sent or gone).

    The UPDATE counts the attempt and locks the row until the caller commits, so a second worker on the
    same e-mail waits, then finds it sent and skips it.
    """
    resultat = db.session.execute(
        db.update(Courriel)
        .where(Courriel.id == courriel_id, Courriel.etat != "envoye")
        .values(tentatives=Courriel.tentatives + 1)
        .execution_options(synchronize_session=False)
    )
    if resultat.rowcount == 0:
        return None
    return db.session.get(Courriel, courriel_id, populate_existing=True)


def message(courriel: Courriel) -> Message:
    """The Flask-Mail message of an outbox row (plain text)."""
    expediteur = valider_adresse(parametres.get("expediteur"), "L'adresse d'expédition")
    return Message(
        subject=sans_saut_de_ligne(courriel.sujet, "L'objet du courriel"),
        sender=(NOM_EXPEDITEUR, expediteur),
        recipients=[sans_saut_de_ligne(courriel.destinataire, "L'adresse du destinataire")],
        body=courriel.corps,
        # RFC 3834: no auto-replies to automatic messages; the id ties a received mail to its row.
        extra_headers={"Auto-Submitted": "auto-generated", "X-Portail-Courriel": str(courriel.id)},
    )


class ConnexionSMTP(Connection):
    """Flask-Mail's connection with a socket timeout (MAIL_TIMEOUT seconds, 30 by default).

    Flask-Mail opens smtplib's connection without one: a server that accepts and then stays silent would hold
    the request (jobs run in-process without Redis) or the worker for ever.
    """

    def configure_host(self) -> smtplib.SMTP:
        classe = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = classe(self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"])
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def envoyer(courriel: Courriel) -> None:
    """Hand the e-mail to the SMTP server; raises on failure (smtplib / socket errors, timeout included)."""
    with ConnexionSMTP(current_app.extensions["mail"]) as connexion:
        connexion.send(message(courriel))


def marquer_envoye(courriel: Courriel) -> None:
    courriel.etat = "envoye"
    courriel.envoye_le = utcnow()
    courriel.derniere_erreur = None
    db.session.flush()


def marquer_echec(courriel: Courriel, erreur: str) -> None:
    courriel.etat = "echec"
    courriel.derniere_erreur = erreur[:2000]
    db.session.flush()


def a_relancer(maintenant: dt.datetime | None = None) -> list[int]:
    """Ids of the e-mails to send again: failed ones, and pending ones that have waited too long."""
    maintenant = maintenant or utcnow()
    return list(db.session.scalars(
        db.select(Courriel.id)
        .where((Courriel.etat == "echec")
               | ((Courriel.etat == "en_attente") & (Courriel.created_at <= maintenant - ATTENTE_AVANT_RELANCE)))
        .order_by(Courriel.id)
    ))
