"""gunicorn settings for `gunicorn 'wsgi:app'`: workers, threads and timeouts from the environment."""
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


#: Address to listen on; behind a reverse proxy keep it local.
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 8000}"
#: Processes: by default one per core plus one (the app is CPU-bound on page rendering).
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
#: Threads per process: the time spent waiting on PostgreSQL is overlapped by the other threads.
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
#: A request that runs longer is killed (big exports stream, imports run as RQ jobs).
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
#: Recycle workers now and then so a slow leak never grows unbounded (jitter: not all at once).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
#: The app writes one JSON line per request (portail_admin/logs.py): no second access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
#: Reverse proxies whose X-Forwarded-* headers are trusted (comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
#: Each worker builds its own app, hence its own database pool: nothing is shared across a fork.
preload_app = False
