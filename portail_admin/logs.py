"""Structured logs: one JSON line per HTTP request and per RQ job (request id, agent, duration, status)."""
import datetime as dt
import json
import logging
import os
import re
import sys
import time
import uuid

from flask import g, has_request_context, request
from flask.logging import default_handler
from rq.job import Job

#: The app's logger (Flask names it after the package); requests and jobs log under it.
LOGGER = "portail_admin"
REQUESTS = logging.getLogger(LOGGER + ".requetes")
JOBS = logging.getLogger(LOGGER + ".taches")
#: An incoming X-Request-ID is kept (a proxy's id ties both logs together) only when it looks like one.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line; structured fields come in ``extra={"champs": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "niveau": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "champs", None) or {})
        if "request_id" not in entry and has_request_context() and g.get("request_id"):
            entry["request_id"] = g.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for development: the message then the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        champs = getattr(record, "champs", None)
        if champs:
            line += " " + " ".join(f"{k}={v}" for k, v in champs.items())
        return line


class StderrHandler(logging.StreamHandler):
    """Writes to the process's current stderr (gunicorn and the RQ worker collect it; tests capture it)."""

    portail = True

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def configure(level: str = "INFO", fmt: str = "json") -> logging.Logger:
    """One stderr handler on the app's logger (gunicorn and the worker collect stderr); idempotent."""
    logger = logging.getLogger(LOGGER)
    logger.removeHandler(default_handler)
    handler = next((h for h in logger.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        logger.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s "
                                                                             "%(message)s"))
    logger.setLevel(level.upper())
    # Alembic's env.py runs logging.fileConfig, which disables loggers created before it (same process).
    for each in (logger, REQUESTS, JOBS):
        each.disabled = False
    return logger


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _log_request(response):
    started = g.get("request_started")
    if started is None:
        return response
    response.headers["X-Request-ID"] = g.request_id
    # The agent only when Flask-Login already loaded it: logging must not cost a query.
    user = g.get("_login_user")
    token = g.get("api_token")
    champs = {
        "evenement": "requete",
        "request_id": g.request_id,
        "methode": request.method,
        "chemin": request.path,
        "statut": response.status_code,
        "duree_ms": round((time.perf_counter() - started) * 1000, 1),
        "agent_id": user.id if user is not None and user.is_authenticated else None,
        "ip": request.remote_addr,
    }
    if token is not None:
        champs["jeton_api_id"] = token.id
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    REQUESTS.log(level, "%s %s %s", request.method, request.path, response.status_code, extra={"champs": champs})
    return response


class LoggedJob(Job):
    """An RQ job that writes one JSON line when it ends (inline or in a worker), with the enqueuing request's id."""

    @classmethod
    def create(cls, *args, **kwargs):
        job = super().create(*args, **kwargs)
        if has_request_context() and g.get("request_id"):
            job.meta["request_id"] = g.request_id
        return job

    def perform(self):
        started = time.perf_counter()
        champs = {"evenement": "tache", "job_id": self.id, "fonction": self.func_name, "file": self.origin,
                  "request_id": self.meta.get("request_id")}
        try:
            result = super().perform()
        except Exception as exc:  # logged then re-raised: RQ still records the failure
            champs.update(statut="echec", erreur=type(exc).__name__,
                          duree_ms=round((time.perf_counter() - started) * 1000, 1))
            JOBS.error("tâche %s en échec", self.func_name, extra={"champs": champs})
            raise
        champs.update(statut="succes", duree_ms=round((time.perf_counter() - started) * 1000, 1))
        JOBS.info("tâche %s terminée", self.func_name, extra={"champs": champs})
        return result


def init_app(app) -> None:
    """Request ids, the request log line and the log format (LOG_FORMAT json|texte, LOG_LEVEL)."""
    configure(app.config.get("LOG_LEVEL") or os.environ.get("LOG_LEVEL", "INFO"),
              app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT", "json"))
    app.before_request(_start_request)
    app.after_request(_log_request)
