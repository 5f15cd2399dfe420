"""RQ jobs of the outbox: send one recorded e-mail (retried with backoff), relaunch what is pending or failed."""
import logging
import smtplib

from flask_mail import BadHeaderError
from redis.exceptions import RedisError
from rq import Retry

from ..extensions import db
from ..services import ServiceError, courriels
from . import get_queue

QUEUE = "mails"
#: Seconds between the automatic retries of a failed sending; after the last one, `relance-courriels` takes over.
INTERVALLES = [10, 60, 300, 900, 3600]
#: A stuck SMTP conversation must not hold a worker for ever.
DUREE_MAX = 120

log = logging.getLogger(__name__)


def envoyer_courriel(courriel_id: int) -> str:
    """Send one outbox e-mail unless already sent; on failure record the error and raise so RQ retries."""
    courriel = courriels.reserver(courriel_id)
    if courriel is None:
        db.session.rollback()
        return "déjà envoyé"
    try:
        courriels.envoyer(courriel)
    except (smtplib.SMTPException, OSError, BadHeaderError, ServiceError) as exc:
        courriels.marquer_echec(courriel, f"{type(exc).__name__} : {exc}")
        db.session.commit()
        raise
    # Marked sent in the transaction that holds the row since reserver(): a concurrent run cannot send it too.
    courriels.marquer_envoye(courriel)
    db.session.commit()
    return "envoyé"


def planifier(a_envoyer) -> int:
    """Enqueue the sending of outbox rows (Courriel objects or ids) once the caller has committed them.

    Without Redis the job runs here and now. If Redis cannot be reached the rows stay pending in the
    database and `relance-courriels` sends them later: nothing is lost.
    """
    ids = [getattr(c, "id", c) for c in a_envoyer]
    queue = get_queue(QUEUE)
    for courriel_id in ids:
        try:
            queue.enqueue(envoyer_courriel, courriel_id, retry=Retry(max=len(INTERVALLES), interval=INTERVALLES),
                          job_timeout=DUREE_MAX, description=f"Envoi du courriel {courriel_id}")
        except RedisError as exc:
            log.warning("Courriel %s non mis en file (%s) : il sera relancé.", courriel_id, exc)
    return len(ids)


def relancer_courriels() -> int:
    """Enqueue again every failed e-mail and every pending one that waited too long; returns how many.

    Run it from cron / a systemd timer / `rq cron` (`flask --app wsgi relance-courriels`): once the SMTP
    server is back, everything recorded gets sent, and what was already sent is skipped.
    """
    return planifier(courriels.a_relancer())
