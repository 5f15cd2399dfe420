"""RQ queues: real Redis when REDIS_URL is set, otherwise jobs run in-process through the same RQ code."""
from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from ..logs import LoggedJob


def get_connection(app=None):
    """The Redis connection of the app; an in-memory fakeredis when REDIS_URL is unset."""
    app = app or current_app
    conn = app.extensions.get("portail_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if url:
            conn = Redis.from_url(url)
        else:
            import fakeredis

            conn = fakeredis.FakeRedis()
        app.extensions["portail_redis"] = conn
    return conn


def is_inline(app=None) -> bool:
    """True when no Redis is configured: enqueued jobs run at once, in this process."""
    app = app or current_app
    return not app.config.get("REDIS_URL")


def get_queue(name: str = "default", app=None) -> Queue:
    """An RQ queue with the JSON serializer (jobs take ids, never ORM objects)."""
    app = app or current_app
    return Queue(name, connection=get_connection(app), is_async=not is_inline(app), serializer=JSONSerializer,
                 job_class=LoggedJob)
