"""RQ job of a mass import (one job per batch), its failure callback, and the sweep of interrupted runs."""
import contextlib
import datetime as dt

from flask import current_app, g
from rq import Callback, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException
from rq.worker import Worker

from ..extensions import db
from ..models import Traitement, utcnow
from ..services import audit, synchro
from . import get_connection, get_queue, is_inline

QUEUE = "imports"
#: Defaults, overridable in the app's config.
JOB_TIMEOUT = 3600
RETRY_MAX = 2
RETRY_INTERVALLES = [30, 300]
#: A run "en cours" silent for longer than this was interrupted (the write pass on SQLite is silent too).
HEARTBEAT_TIMEOUT = 300


@contextlib.contextmanager
def _acteur(libelle: str):
    """Act as the job for the audit trail, then give the actor back (in-process runs share the request's)."""
    avant = g.pop("audit_actor", None)
    audit.set_actor("job", None, libelle)
    try:
        # The run's own updates are summed up by one "import" entry, not recorded field by field.
        with audit.suspendu():
            yield
    finally:
        g.pop("audit_actor", None)
        if avant is not None:
            g.audit_actor = avant


def lancer(traitement: Traitement) -> Traitement:
    """Enqueue the run's job (only its id travels). Without Redis it runs here and now. Commits."""
    config = current_app.config
    queue = get_queue(QUEUE)
    job = queue.create_job(
        importer_lot, args=(traitement.id,),
        timeout=config.get("IMPORT_JOB_TIMEOUT", JOB_TIMEOUT),
        retry=Retry(max=config.get("IMPORT_RETRY_MAX", RETRY_MAX),
                    interval=config.get("IMPORT_RETRY_INTERVALLES", RETRY_INTERVALLES)),
        on_failure=Callback(echec_import), result_ttl=86400, failure_ttl=7 * 86400,
        description=f"Import {traitement.type} n° {traitement.id}")
    # The run knows its job before the job can start, so the job's claim finds it.
    traitement.job_id = job.id
    db.session.commit()
    queue.enqueue_job(job)
    return traitement


def importer_lot(traitement_id: int) -> dict:
    """The job: claim the run, validate and write the batch in one transaction, commit.

    A bad batch is not an exception (retrying would not help): the run ends "erreur" and the job succeeds.
    A database failure, a timeout or a crash raises: nothing is written, RQ retries with backoff, and
    echec_import() records the failure on the run.
    """
    job = get_current_job()
    with _acteur(f"import {traitement_id}"):
        traitement = synchro.demarrer(traitement_id, job.id if job else None)
        db.session.commit()
        if traitement is None:
            return {"traitement": traitement_id, "ignore": "déjà traité ou relancé ailleurs"}
        try:
            bilan = synchro.importer(traitement)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    return bilan


def echec_import(job: Job, connection, type_exc, valeur, _traceback) -> None:
    """RQ failure callback: the run becomes "erreur" (or waits for its retry) with a French message."""
    if type_exc is not None and issubclass(type_exc, JobTimeoutException):
        message = f"Délai dépassé ({job.timeout} s) : le traitement a été arrêté, rien n'a été écrit."
    else:
        detail = str(valeur).splitlines()[0][:300] if valeur else (type_exc.__name__ if type_exc else "")
        message = f"Erreur technique ({type_exc.__name__ if type_exc else 'inconnue'}) : {detail} — rien n'a été écrit."
    db.session.rollback()
    with _acteur(f"import {job.args[0]}"):
        synchro.marquer_echec(job.args[0], message, nouvelle_tentative=bool(job.should_retry) and not is_inline())
        db.session.commit()


def _etat_rq(traitement: Traitement) -> tuple[str | None, str | None]:
    """(RQ status or "absent", worker name) of the run's job; (None, None) without Redis."""
    if is_inline() or not traitement.job_id:
        return (None, None) if is_inline() else ("absent", None)
    try:
        job = Job.fetch(traitement.job_id, connection=get_connection(), serializer=JSONSerializer)
    except NoSuchJobError:
        return "absent", None
    return job.get_status(refresh=False), job.worker_name


def _worker_vivant(nom: str | None) -> bool:
    if not nom:
        return False
    key = Worker.redis_worker_namespace_prefix + nom
    return bool(get_connection().exists(key))


def diagnostic(traitement: Traitement, maintenant: dt.datetime | None = None) -> str | None:
    """Why a run waiting or running is in fact dead (French message), or None if it may be alive."""
    maintenant = maintenant or utcnow()
    delai = dt.timedelta(seconds=current_app.config.get("IMPORT_HEARTBEAT_TIMEOUT", HEARTBEAT_TIMEOUT))
    signe = traitement.heartbeat or traitement.debut or traitement.created_at
    silencieux = signe is not None and maintenant - signe > delai
    statut, worker = _etat_rq(traitement)
    interrompu = "Traitement interrompu"
    if statut in ("absent", JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        raison = "tâche introuvable dans la file" if statut == "absent" else "la tâche a échoué sans se terminer"
        return f"{interrompu} ({raison}) : rien n'a été écrit, relancez-le."
    if traitement.resultat == "en_cours":
        if statut == JobStatus.STARTED and not _worker_vivant(worker):
            return f"{interrompu} (le processus de traitement s'est arrêté) : rien n'a été écrit, relancez-le."
        if silencieux and statut in (None, JobStatus.STARTED):
            return (f"{interrompu} (aucun signe de vie depuis {int((maintenant - signe).total_seconds())} s) : "
                    "rien n'a été écrit, relancez-le.")
    elif statut is None and silencieux:
        return f"{interrompu} (jamais démarré) : relancez-le."
    return None


def balayer() -> int:
    """Mark the runs that died (worker killed, Redis emptied, process stopped) "erreur"; returns how many.

    Called when a worker starts, by the État des traitements screen and by the status API. Commits.
    """
    marques = 0
    with _acteur("balayage des traitements"):
        for traitement in synchro.a_verifier():
            message = diagnostic(traitement)
            if message and synchro.interrompre(traitement, message):
                marques += 1
        db.session.commit()
    return marques
