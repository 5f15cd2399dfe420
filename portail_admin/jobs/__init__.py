"""RQ queues: real Redis when REDIS_URL is set, otherwise jobs run in-process through the same RQ code."""
from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from ..logs import LoggedJob


def get_connection():
    """The Redis connection of the app; an in-memory fakeredis when REDIS_URL is unset."""
    app = current_app
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


def is_inline() -> bool:
    """True when no Redis is configured: enqueued jobs run at once, in this process."""
    return not current_app.config.get("REDIS_URL")


def get_queue(name: str = "default") -> Queue:
    """An RQ queue with the JSON serializer (jobs take ids, never ORM objects)."""
    return Queue(name, connection=get_connection(), is_async=not is_inline(), serializer=JSONSerializer,
                 job_class=LoggedJob)
