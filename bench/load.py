"""Load test: N agents (threads, each logged in) browse lists and details against a real gunicorn, for a bounded time.

    .venv/bin/python -m bench.load                         # 20 agents, 60 s, PostgreSQL "bench", port 5107
    .venv/bin/python -m bench.load --agents 20 --duree 60 --pause 1.0
It starts gunicorn (gunicorn.conf.py) on 127.0.0.1, waits for /readyz, runs, stops it, prints p50/p95/p99 and
errors, and writes them to docs/performance.md (section "bench:load"). Generate the data first (`python -m bench
--db postgresql`): the test needs the benchmark volume.
"""
import argparse
import datetime as dt
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
import sqlalchemy as sa

from bench.__main__ import DATA, DEFAULT_URLS, ROOT, machine, write_section

LISTS = ("citoyens", "comptes_metier", "factures", "reglements", "individus", "demandes", "operations")
DETAILS = {"factures": "factures", "reglements": "reglements", "citoyens": "citoyens",
           "comptes_metier": "comptes_metier", "individus": "individus"}
SEARCHES = ("mar", "ber", "dub", "lef", "tho", "ro", "pet", "gar", "jean", "mor")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


class Agent(threading.Thread):
    """One agent: logs in through the real form, then picks pages the way a person browses, until the deadline."""

    def __init__(self, base, maxima, deadline, pause, seed, results, lock, warm_until=0.0):
        super().__init__(daemon=True)
        self.base, self.maxima, self.deadline, self.pause = base, maxima, deadline, pause
        #: Pages before this moment warm the workers' caches and are not counted.
        self.warm_until = warm_until
        self.rng = random.Random(seed)
        self.results, self.lock = results, lock
        self.session = requests.Session()

    def login(self) -> None:
        from portail_admin.services.demo import DEMO_PASSWORD

        body = self.session.get(self.base + "/login", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
        response = self.session.post(self.base + "/login", timeout=30, allow_redirects=False, data={
            "email": "agent@demo.fr", "password": DEMO_PASSWORD, "csrf_token": token})
        if response.status_code != 302:
            raise RuntimeError(f"connexion refusée (HTTP {response.status_code})")

    def next_page(self) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        screen = rng.choice(LISTS)
        url = f"/admin/{screen}/"
        if roll < 0.25:
            return "liste, première page", url
        if roll < 0.40:
            return "liste, page n", f"{url}?page={rng.randint(1, 60)}"
        if roll < 0.50:
            return "liste, tri", f"{url}?sort={rng.randint(0, 3)}"
        if roll < 0.60:
            return "recherche", f"/admin/{rng.choice(('citoyens', 'comptes_metier', 'individus'))}/" \
                                f"?search={rng.choice(SEARCHES)}"
        if roll < 0.85:
            endpoint = rng.choice(tuple(DETAILS))
            return "détail", f"/admin/{endpoint}/details/?id={rng.randint(1, self.maxima[endpoint])}"
        if roll < 0.95:
            return "fiche famille", f"/admin/fiche_famille/?compte_id={rng.randint(1, self.maxima['comptes_metier'])}"
        return "tableau de bord", "/admin/"

    def run(self) -> None:
        try:
            self.login()
        except (requests.RequestException, RuntimeError, AttributeError) as exc:
            with self.lock:
                self.results["connexion"].append((0.0, f"échec : {exc}"))
            return
        while time.monotonic() < self.deadline:
            kind, url = self.next_page()
            started = time.perf_counter()
            try:
                response = self.session.get(self.base + url, timeout=30, allow_redirects=False)
                status = response.status_code
                # A detail of a deleted id redirects to its list: not an error; a 5xx or a login redirect is.
                ok = status == 200 or (status == 302 and "/login" not in response.headers.get("Location", ""))
            except requests.RequestException as exc:
                status, ok = type(exc).__name__, False
            elapsed = (time.perf_counter() - started) * 1000
            if time.monotonic() >= self.warm_until or not ok:
                with self.lock:
                    self.results[kind].append((elapsed, None if ok else f"{status} {url}"))
            if self.pause:
                time.sleep(self.rng.uniform(0.5 * self.pause, 1.5 * self.pause))


def maxima(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {name: conn.scalar(sa.text(f"SELECT max(id) FROM {table}")) or 1 for name, table in DETAILS.items()}
    engine.dispose()
    return found


def start_server(database_url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, GUNICORN_BIND=f"127.0.0.1:{port}",
               GUNICORN_WORKERS=str(workers), GUNICORN_THREADS=str(threads), LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)
    log = open(DATA / "load-gunicorn.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if requests.get(base + "/readyz", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        if process.poll() is not None:
            raise SystemExit(f"gunicorn s'est arrêté (voir {DATA / 'load-gunicorn.log'})")
        time.sleep(0.5)
    stop_server(process)
    raise SystemExit("gunicorn n'est pas prêt (/readyz) après 60 s")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def report(results: dict, args, duration: float, workers: int, threads: int) -> str:
    every = [t for rows in results.values() for t, _e in rows]
    errors = [e for rows in results.values() for _t, e in rows if e]
    lines = [f"Mesuré le {dt.datetime.now():%d/%m/%Y %H:%M} — {machine()}.  ",
             f"gunicorn sur 127.0.0.1 : {workers} workers × {threads} threads (gthread), PostgreSQL « bench » "
             f"au volume du benchmark, Redis non utilisé (pages seules). {args.agents} agents connectés en parallèle "
             f"pendant {duration:.0f} s (après {args.chauffe:.0f} s de chauffe non comptés), pause de "
             f"{args.pause:.1f} s en moyenne entre deux pages (0 : sans pause).", "",
             "| Pages | Requêtes | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | Erreurs |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, rows in sorted(results.items()):
        times = [t for t, _e in rows]
        errs = sum(1 for _t, e in rows if e)
        if times:
            lines.append(f"| {kind} | {len(times)} | {statistics.median(times):.0f} | {percentile(times, .95):.0f} | "
                         f"{percentile(times, .99):.0f} | {max(times):.0f} | {errs} |")
    if every:
        p95 = percentile(every, .95)
        lines.append(f"| **toutes** | **{len(every)}** ({len(every) / duration:.1f}/s) | "
                     f"{statistics.median(every):.0f} | **{p95:.0f}** | {percentile(every, .99):.0f} | "
                     f"{max(every):.0f} | **{len(errors)}** |")
        verdict = "atteint" if p95 <= 200 and not errors else "non atteint"
        lines += ["", f"Objectif p95 ≤ 200 ms sans erreur : **{verdict}**."]
    if errors:
        lines += ["", "Premières erreurs : " + "; ".join(sorted(set(errors))[:5])]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--duree", type=float, default=60.0, help="secondes de mesure")
    parser.add_argument("--chauffe", type=float, default=15.0,
                        help="secondes de navigation non comptées avant la mesure (caches des workers)")
    parser.add_argument("--pause", type=float, default=1.0, help="pause moyenne entre deux pages d'un agent (s)")
    parser.add_argument("--port", type=int, default=5107)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS") or 3))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS") or 4))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_URLS["postgresql"]))
    parser.add_argument("--no-doc", action="store_true", help="ne pas écrire docs/performance.md")
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    ids = maxima(args.database_url)
    process = start_server(args.database_url, args.port, args.workers, args.threads)
    results, lock = defaultdict(list), threading.Lock()
    try:
        warm_until = time.monotonic() + args.chauffe
        deadline = warm_until + args.duree
        agents = [Agent(f"http://127.0.0.1:{args.port}", ids, deadline, args.pause, 1000 + i, results, lock,
                        warm_until) for i in range(args.agents)]
        for agent in agents:
            agent.start()
        for agent in agents:
            agent.join(timeout=args.chauffe + args.duree + 60)
        duration = time.monotonic() - warm_until
    finally:
        stop_server(process)
    text = report(results, args, duration, args.workers, args.threads)
    print(text)
    if not args.no_doc:
        write_section("load", text)


if __name__ == "__main__":
    main()
