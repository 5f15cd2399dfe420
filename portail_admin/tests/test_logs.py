"""Structured logs: one JSON line per request and per job, with request id, agent id, duration and status."""
import json
import logging

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from portail_admin.jobs import get_connection, get_queue
from portail_admin.logs import JsonFormatter, LoggedJob


def lines(caplog, logger: str) -> list[dict]:
    """The records of a logger as the JSON lines the handler writes."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


def test_each_request_writes_one_json_line_with_its_id_agent_and_duration(client, auth, demo_data, caplog):
    auth.login()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="portail_admin"):
        response = client.get("/admin/citoyens/")
    [line] = lines(caplog, "portail_admin.requetes")
    assert line["evenement"] == "requete" and line["chemin"] == "/admin/citoyens/" and line["methode"] == "GET"
    assert line["statut"] == 200 and line["duree_ms"] > 0
    assert line["request_id"] == response.headers["X-Request-ID"] and len(line["request_id"]) == 32
    from portail_admin.extensions import db
    from portail_admin.models import Agent
    assert line["agent_id"] == db.session.scalar(db.select(Agent.id).where(Agent.email == "agent@demo.fr"))


def test_anonymous_request_keeps_a_proxy_request_id_and_has_no_agent(client, caplog):
    with caplog.at_level(logging.INFO, logger="portail_admin"):
        response = client.get("/admin/", headers={"X-Request-ID": "proxy-1234"})
        client.get("/healthz", headers={"X-Request-ID": "pas un id ; <script>"})
    first, second = lines(caplog, "portail_admin.requetes")
    assert response.headers["X-Request-ID"] == "proxy-1234"
    assert first["request_id"] == "proxy-1234" and first["agent_id"] is None and first["statut"] == 302
    assert second["request_id"] != "pas un id ; <script>" and len(second["request_id"]) == 32


def test_an_inline_job_writes_one_line_with_the_enqueuing_request_id(app, caplog):
    with app.test_request_context("/"), caplog.at_level(logging.INFO, logger="portail_admin"):
        app.preprocess_request()
        job = get_queue("default").enqueue("posixpath.basename", "a/b.txt")
        request_id = __import__("flask").g.request_id
    assert job.return_value() == "b.txt"
    [line] = lines(caplog, "portail_admin.taches")
    assert line["evenement"] == "tache" and line["statut"] == "succes" and line["fonction"] == "posixpath.basename"
    assert line["request_id"] == request_id and line["duree_ms"] >= 0


def test_a_failed_job_in_a_real_worker_is_logged_as_failed(database_url, redis_url, caplog):
    from portail_admin import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    with app.app_context(), caplog.at_level(logging.INFO, logger="portail_admin"):
        queue = get_queue("default")
        assert queue.job_class is LoggedJob
        queue.enqueue("posixpath.basename", 42)
        SimpleWorker([queue], connection=get_connection(), serializer=JSONSerializer,
                     job_class=LoggedJob).work(burst=True)
    [line] = lines(caplog, "portail_admin.taches")
    assert line["statut"] == "echec" and line["erreur"] == "TypeError" and line["file"] == "default"


def test_the_log_handler_writes_json_to_stderr(app, capsys):
    logging.getLogger("portail_admin.requetes").info("essai", extra={"champs": {"cle": "valeur"}})
    written = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert written["message"] == "essai" and written["cle"] == "valeur" and written["niveau"] == "info"
