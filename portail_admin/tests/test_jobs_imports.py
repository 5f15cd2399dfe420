"""The import job on real Redis with a burst worker: success, retries then failure, sweep of dead runs, relaunch."""
import datetime as dt
import io
import json

import pytest
from rq import SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

from portail_admin.extensions import db
from portail_admin.jobs import get_connection
from portail_admin.jobs import imports as jobs_imports
from portail_admin.models import Individu, Traitement, utcnow
from portail_admin.services import synchro

COMPTES = [{"code": "F001", "nom": "MARTIN", "prenom": "Julie"}]
INDIVIDUS = [{"reference": f"I{i}", "compte": "F001", "nom": "MARTIN", "prenom": f"Enfant {i}", "role": "enfant"}
             for i in range(5)]


@pytest.fixture
def redis_app(app, redis_url):
    """The app on real Redis: jobs wait in the "imports" queue for a worker."""
    app.config.update(REDIS_URL=redis_url, IMPORT_RETRY_INTERVALLES=[0])
    app.extensions.pop("portail_redis", None)
    return app


def deposer(type_import, lignes) -> Traitement:
    traitement = synchro.recevoir(type_import, io.BytesIO(json.dumps(lignes).encode()), "json")
    db.session.commit()
    return jobs_imports.lancer(traitement)


def travailler():
    SimpleWorker(["imports"], connection=get_connection(), serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()


def recharger(traitement_id) -> Traitement:
    return db.session.get(Traitement, traitement_id)


def test_a_batch_is_one_job_that_a_worker_runs(redis_app):
    comptes = deposer("comptes", COMPTES)
    individus = deposer("individus", INDIVIDUS)
    assert recharger(individus.id).resultat == "en_attente" and len(get_connection().lrange("rq:queue:imports",
                                                                                            0, -1)) == 2
    job = Job.fetch(individus.job_id, connection=get_connection(), serializer=JSONSerializer)
    assert job.args == [individus.id] and job.timeout == jobs_imports.JOB_TIMEOUT and job.retries_left == 2
    travailler()
    assert recharger(comptes.id).resultat == "succes"
    run = recharger(individus.id)
    assert (run.resultat, run.avancement, run.nombre, run.compteurs["ecrites"]) == ("succes", 100, 5, 5)
    assert run.debut and run.fin and run.heartbeat
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 5


def test_a_failing_job_is_retried_then_marked_failed_and_writes_nothing(redis_app, monkeypatch):
    deposer("comptes", COMPTES)
    travailler()

    def panne(traitement):
        db.session.execute(db.insert(Individu.__table__).values(reference="FANTOME", compte_id=1, nom="X",
                                                                 prenom="Y", role="enfant", archive=False))
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(synchro, "importer", panne)
    individus = deposer("individus", INDIVIDUS)
    travailler()
    run = recharger(individus.id)
    assert run.resultat == "erreur"
    assert run.erreurs[0]["message"].startswith("Erreur technique (RuntimeError) : base indisponible")
    assert run.journal.count("Tentative échouée") == 2 and "Échec" in run.journal
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 0


def _en_cours(job_id, heartbeat) -> Traitement:
    traitement = synchro.recevoir("individus", io.BytesIO(json.dumps(INDIVIDUS).encode()), "json")
    traitement.resultat = "en_cours"
    traitement.job_id = job_id
    traitement.debut = traitement.heartbeat = heartbeat
    db.session.commit()
    return traitement


def test_the_sweep_marks_runs_whose_worker_died_and_leaves_live_ones(redis_app):
    maintenant = utcnow()
    disparu = _en_cours("job-disparu", maintenant)
    # A job RQ still says is started, but its worker's key expired: the worker was killed.
    orphelin = _en_cours("job-orphelin", maintenant)
    job = Job.create(jobs_imports.importer_lot, args=(orphelin.id,), id="job-orphelin",
                     connection=get_connection(), serializer=JSONSerializer)
    job.worker_name = "worker-tue"
    job.set_status("started")
    job.save()
    vivant = _en_cours("job-vivant", maintenant)
    job = Job.create(jobs_imports.importer_lot, args=(vivant.id,), id="job-vivant",
                     connection=get_connection(), serializer=JSONSerializer)
    job.worker_name = "worker-vivant"
    job.set_status("started")
    job.save()
    get_connection().set("rq:worker:worker-vivant", "1")
    assert jobs_imports.balayer() == 2
    assert recharger(disparu.id).resultat == "erreur"
    assert "Traitement interrompu (tâche introuvable" in recharger(disparu.id).erreurs[0]["message"]
    assert "le processus de traitement s'est arrêté" in recharger(orphelin.id).erreurs[0]["message"]
    assert recharger(vivant.id).resultat == "en_cours"
    # Silent for too long while its job is started: interrupted as well.
    vivant = recharger(vivant.id)
    vivant.heartbeat = maintenant - dt.timedelta(hours=1)
    db.session.commit()
    assert jobs_imports.balayer() == 1
    assert "aucun signe de vie" in recharger(vivant.id).erreurs[0]["message"]


def test_without_redis_a_silent_run_is_interrupted(app):
    frais = _en_cours(None, utcnow())
    perime = _en_cours(None, utcnow() - dt.timedelta(minutes=30))
    assert jobs_imports.balayer() == 1
    assert recharger(frais.id).resultat == "en_cours" and recharger(perime.id).resultat == "erreur"


def test_a_failed_run_is_relaunched_from_its_stored_batch(redis_app):
    individus = deposer("individus", INDIVIDUS)
    travailler()
    run = recharger(individus.id)
    assert run.resultat == "erreur" and run.erreurs[0]["message"] == "compte famille « F001 » inconnu."
    deposer("comptes", COMPTES)
    travailler()
    synchro.relancer(run, None)
    db.session.commit()
    jobs_imports.lancer(run)
    assert recharger(individus.id).resultat == "en_attente"
    travailler()
    run = recharger(individus.id)
    assert run.resultat == "succes" and run.erreurs == [] and "Relance demandée" in run.journal
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 5


def test_a_stale_duplicate_job_does_nothing(redis_app):
    deposer("comptes", COMPTES)
    individus = deposer("individus", INDIVIDUS)
    # Another job (a duplicate enqueued by mistake) cannot claim the waiting run.
    assert synchro.demarrer(individus.id, "autre-job") is None
    db.session.commit()
    attente = recharger(individus.id)
    assert attente.resultat == "en_attente" and attente.debut is None
    travailler()
    # Once done, even its own job finds nothing to claim again: the run and its rows stay as they are.
    assert synchro.demarrer(individus.id, individus.job_id) is None
    run = recharger(individus.id)
    assert run.resultat == "succes" and db.session.scalar(db.select(db.func.count(Individu.id))) == 5
