"""`make bench`: generate the benchmark data if needed, time every screen through the real app, write the table.

    .venv/bin/python -m bench                         # SQLite, scale 1 (bench-data/bench.db)
    .venv/bin/python -m bench --db postgresql         # PostgreSQL database "bench" on 127.0.0.1
    .venv/bin/python -m bench --db all --scale 0.1    # both, a tenth of the volume
Each run replaces its own database's section of docs/performance.md, so either can be re-run alone.
"""
import argparse
import datetime as dt
import hashlib
import html
import itertools
import json
import os
import platform
import re
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
DOC = ROOT / "docs" / "performance.md"
MIGRATIONS = ROOT / "portail_admin" / "migrations" / "versions"
DEFAULT_URLS = {
    "sqlite": f"sqlite:///{DATA / 'bench.db'}",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/bench",
}
#: Targets of the issues (median, ms): lists 40, pages with totals and searches 60, family timeline 60.
LIST, TOTALS, SEARCH, FICHE = 40, 60, 60, 60


class Case:
    """One page to time: a screen, what is exercised, its URL and the target median (None: reported only).

    urls: for a case where no two requests may be alike (nothing cached can help), an endless iterator of URLs
    used instead of url, one per request.
    """

    def __init__(self, screen, name, url, target, urls=None):
        self.screen, self.name, self.url, self.target = screen, name, url, target
        self.urls = urls

    def next_url(self) -> str:
        return next(self.urls) if self.urls is not None else self.url


def log(message: str) -> None:
    print(message, flush=True)


def schema_hash() -> str:
    """Digest of every migration file: data generated under other migrations is regenerated (or, with --reuse,
    upgraded)."""
    files = sorted(MIGRATIONS.glob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12] if files else "?"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of url when missing."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def ensure_data(name: str, url: str, scale: float, regenerate: bool, reuse: bool = False) -> dict:
    """Generate the data unless the same scale and schema are already there (bench-data/<name>.json);
    reuse: keep whatever was generated, even under an older schema (the migration changed since)."""
    from bench.generate import SEED, generate

    DATA.mkdir(exist_ok=True)
    marker = DATA / f"{name}.json"
    if not regenerate and marker.exists():
        meta = json.loads(marker.read_text())
        same = (meta.get("scale"), meta.get("schema"), meta.get("seed"), meta.get("url"))
        if same == (scale, schema_hash(), SEED, url):
            log(f"[{name}] données déjà générées (échelle {scale}, {meta['today']}) : conservées.")
            return meta
        if reuse and meta.get("url") == url:
            log(f"[{name}] données déjà générées (échelle {meta['scale']}, {meta['today']}) : conservées, "
                f"schéma mis à niveau (migrations)…")
            upgrade_schema(url)
            meta["schema"] = schema_hash()
            marker.write_text(json.dumps(meta, indent=1))
            return meta
    log(f"[{name}] génération des données, échelle {scale}…")
    ensure_database(url)
    meta = generate(url, scale=scale, log=log)
    meta.update(schema=schema_hash(), url=url)
    marker.write_text(json.dumps(meta, indent=1))
    return meta


def upgrade_schema(url: str) -> None:
    """Bring a database generated under older migrations to head (as `flask db upgrade` does); the tables they
    created get the planner's statistics the generator gives every table."""
    from flask_migrate import upgrade

    from portail_admin.extensions import db

    app = make_app(url)
    with app.app_context():
        before = set(sa.inspect(db.engine).get_table_names())
        upgrade()
        created = sorted(set(sa.inspect(db.engine).get_table_names()) - before)
        with db.engine.begin() as conn:
            for table in created:
                conn.exec_driver_sql(f"ANALYZE {table}")
        db.engine.dispose()
    if created:
        log(f"  tables créées par les migrations : {', '.join(created)}")


def make_app(url: str):
    from portail_admin import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "REDIS_URL": None})


def login(client) -> None:
    from portail_admin.services.demo import DEMO_PASSWORD

    body = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
    # The administrator: Administration screens (État des traitements) are measured too.
    response = client.post("/login", data={"email": "admin@demo.fr", "password": DEMO_PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit("Connexion de l'administrateur de démonstration impossible sur la base de benchmark.")


def _view(app, endpoint):
    for view in app.extensions["admin"][0]._views:
        if view.endpoint == endpoint:
            return view
    return None


def _filter_arg(view, label: str, value) -> str | None:
    """Flask-Admin's URL argument for the filter of that label, or None when the view has none."""
    for index, flt in enumerate(view._filters or []):
        if str(flt.name) == label:
            return f"flt0_{view.get_filter_arg(index, flt)}={value}"
    return None


def _middle_cursor(app, view, url):
    """A keyset URL in the middle of the list (as "Suivante" would build it there), or None."""
    from portail_admin.extensions import db
    from portail_admin.views.fastlist import encode_cursor

    with app.test_request_context(url):
        key = view._sort_key(None, None)
        if key is None:
            return None
        attrs, desc = key
        query = db.session.query(view.model)
        query = query.order_by(*[a.desc() if desc else a.asc() for a in attrs])
        total = db.session.query(sa.func.count()).select_from(view.model).scalar()
        row = query.offset(total // 2).first()
        if row is None:
            return None
        token = encode_cursor([getattr(row, a.key) for a in attrs])
        return f"{url}?apres={token}&page={total // 2 // view.page_size}"


def fresh_payment_filters(first: dt.date, last: dt.date):
    """Endless Règlements URLs, each under a combination of the summary's filters (émetteur, contexte, univers,
    en ligne, deposit dates, sometimes archived) not requested before in this run: no cache can answer them."""
    from bench.generate import CONTEXTES, EMETTEURS

    span = max((last - first).days - 40, 1)
    for i in itertools.count():
        # A 7 to 36-day deposit window, its start moving by 37 days: (start, length) never repeats.
        du = first + dt.timedelta(days=i * 37 % span)
        au = du + dt.timedelta(days=7 + i % 30)
        filtres = {"emetteur": EMETTEURS[i % len(EMETTEURS)], "contexte": CONTEXTES[i % len(CONTEXTES)],
                   "univers": "enfance", "en_ligne": ("oui", "non")[i // 2 % 2],
                   "depot_du": f"{du:%d/%m/%Y}", "depot_au": f"{au:%d/%m/%Y}"}
        if i % 4 == 3:
            filtres["archives"] = "y"
        yield "/admin/reglements/?" + urlencode(filtres)


def _next_link(client, url):
    body = client.get(url).get_data(as_text=True)
    match = re.search(r'rel="next" href="([^"]+)"', body)
    return html.unescape(match.group(1)) if match else None


def build_cases(app, client) -> tuple[list[Case], list[str]]:
    """Every screen's cases, from what the data and the views hold; missing screens become notes."""
    from portail_admin.extensions import db
    from portail_admin.models import Citoyen, CompteMetier, Facture, Individu, Reglement

    notes = []
    cases = []
    with app.app_context():
        cit = db.session.get(Citoyen, db.session.query(sa.func.max(Citoyen.id)).scalar() // 2)
        cpt = db.session.get(CompteMetier, db.session.query(sa.func.max(CompteMetier.id)).scalar() // 2)
        heavy = db.session.query(Facture.compte_id).filter(Facture.id == 1).scalar()
        typical = db.session.query(Facture.compte_id).order_by(Facture.id.desc()).limit(1).scalar()
        ind = db.session.get(Individu, db.session.query(sa.func.max(Individu.id)).scalar() // 2)
        fac = db.session.query(sa.func.max(Facture.id)).scalar() // 2
        reg = db.session.query(sa.func.max(Reglement.id)).scalar() // 2
        mid_emission = db.session.get(Facture, fac).date_emission
        depots = db.session.query(sa.func.min(Reglement.date_depot), sa.func.max(Reglement.date_depot)).one()
        mid_depot = db.session.get(Reglement, reg).date_depot
    specific = {
        "citoyens": [("recherche (début de l'e-mail, sélective)", f"?search={cit.email[:12]}", SEARCH),
                     ("recherche (début du nom, courante)", f"?search={cit.nom[:3].lower()}", SEARCH)],
        "comptes_metier": [("filtre Émetteur", ("Émetteur", "Divers"), LIST),
                           ("recherche (début du nom)", f"?search={cpt.nom[:4]}", SEARCH),
                           ("recherche (code)", f"?search={cpt.code}", SEARCH)],
        "factures": [("filtre Compte (nom)", f"?compte={cpt.nom}", LIST),
                     ("filtre Émise entre (un mois)", f"?emise_du=01/{mid_emission:%m/%Y}"
                                                      f"&emise_au=28/{mid_emission:%m/%Y}", LIST)],
        "reglements": [("filtre En ligne", "?en_ligne=oui", TOTALS),
                       ("filtre Compte (nom)", f"?compte={cpt.nom}", TOTALS),
                       ("filtre Date de dépôt (un mois ancien)", f"?depot_du=01/{mid_depot:%m/%Y}"
                                                                 f"&depot_au=28/{mid_depot:%m/%Y}", TOTALS)],
        "individus": [("filtre Rôle = enfant", ("Rôle", "enfant"), LIST),
                      ("filtre Compte famille (code)", ("Compte famille (code)", cpt.code), LIST),
                      ("recherche (début du nom)", f"?search={ind.nom[:4]}", SEARCH)],
        "demandes": [("filtre État", ("État", "a_traiter"), LIST)],
        "traitements": [("filtre Type", ("Type", "individus"), LIST)],
        "operations": [("filtre compte", f"?compte_id={heavy}", LIST)],
    }
    lists = ("citoyens", "comptes_metier", "factures", "reglements", "individus", "demandes", "traitements",
             "operations")
    for endpoint in lists:
        url = f"/admin/{endpoint}/"
        view = _view(app, endpoint)
        status = client.get(url).status_code
        if view is None or status != 200:
            notes.append(f"`{url}` : écran absent ou inaccessible (HTTP {status}) lors de cette mesure.")
            continue
        page_target = TOTALS if endpoint == "reglements" else LIST
        cases.append(Case(view.name, "première page", url, page_target))
        max_page = app.config.get("FASTLIST_OFFSET_CAP", 10_000) // view.page_size
        cases.append(Case(view.name, f"page {max_page + 1} (la plus profonde en OFFSET)",
                          f"{url}?page={max_page}", page_target))
        after_cap = _next_link(client, f"{url}?page={max_page}")
        if after_cap:
            cases.append(Case(view.name, f"page {max_page + 2} (Suivante : keyset)", after_cap, page_target))
        middle = _middle_cursor(app, view, url)
        if middle:
            cases.append(Case(view.name, "milieu de la liste (keyset)", middle, page_target))
        if view._date_key(_sort_key(app, view, url)):
            cases.append(Case(view.name, "saut à une date", f"{url}?date={mid_emission:%d/%m/%Y}", page_target))
        for index, (column, _label) in enumerate(view._list_columns):
            if view.is_sortable(column):
                cases.append(Case(view.name, f"tri par {_label}", f"{url}?sort={index}", page_target))
        for name, arg, target in specific.get(endpoint, []):
            if isinstance(arg, tuple):
                found = _filter_arg(view, *arg)
                if found is None:
                    notes.append(f"{view.name} : pas de filtre « {arg[0]} » ; cas « {name} » non mesuré.")
                    continue
                arg = "?" + found
            cases.append(Case(view.name, name, url + arg, max(target, page_target)))
        if endpoint == "reglements":
            urls = fresh_payment_filters(*depots)
            cases.append(Case(view.name, "total, jeu de filtres nouveau (à froid)", next(urls), TOTALS, urls))
    details = (("factures", fac), ("reglements", reg), ("comptes_metier", cpt.id), ("citoyens", cit.id),
               ("individus", ind.id))
    for endpoint, ident in details:
        view = _view(app, endpoint)
        if view is not None:
            cases.append(Case(view.name, "détail (loupe)", f"/admin/{endpoint}/details/?id={ident}", None))
    others = (("Dépôt de factures", "/admin/depot_factures/", LIST),
              ("Dépôt de règlements", "/admin/depot_reglements/", LIST),
              ("Fiche famille", f"/admin/fiche_famille/?compte_id={heavy}", FICHE),
              ("Fiche famille", f"/admin/fiche_famille/?compte_id={typical}", FICHE),
              ("Tableau de bord", "/admin/", None))
    for screen, url, target in others:
        status = client.get(url).status_code
        if status != 200:
            notes.append(f"`{url}` : HTTP {status} lors de cette mesure, non mesuré.")
            continue
        name = "page"
        if "fiche_famille" in url:
            name = "famille avec des années d'historique" if str(heavy) in url else "famille ordinaire"
        cases.append(Case(screen, name, url, target))
    return cases, notes


def _sort_key(app, view, url):
    with app.test_request_context(url):
        return view._sort_key(None, None)


class Recorder:
    """The SQL statements a request runs, to time them again raw (the floor)."""

    def __init__(self, engine):
        self.engine = engine
        self.active = False
        self.statements = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and not executemany:
            self.statements.append((statement, parameters))

    def floor(self, repeat: int = 5) -> float:
        """Median over repeats of the summed raw execution + fetch time of the recorded statements (ms)."""
        raw = self.engine.raw_connection()
        try:
            totals = []
            for _ in range(repeat):
                cursor = raw.cursor()
                started = time.perf_counter()
                for statement, parameters in self.statements:
                    cursor.execute(statement, parameters)
                    if cursor.description:
                        cursor.fetchall()
                totals.append((time.perf_counter() - started) * 1000)
                cursor.close()
            raw.rollback()
            return statistics.median(totals)
        finally:
            raw.close()


def measure(app, client, cases, runs: int) -> list[dict]:
    from portail_admin.extensions import db

    with app.app_context():
        recorder = Recorder(db.engine)
    results = []
    for case in cases:
        for _ in range(2):
            response = client.get(case.next_url())
        if response.status_code != 200:
            results.append({"ecran": case.screen, "cas": case.name, "url": case.url, "erreur": response.status_code})
            log(f"  {case.screen} — {case.name} : HTTP {response.status_code}")
            continue
        times = []
        for _ in range(runs):
            url = case.next_url()
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        recorder.statements, recorder.active = [], True
        client.get(case.next_url())
        recorder.active = False
        with app.app_context():
            floor = recorder.floor()
        times.sort()
        median = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        result = {"ecran": case.screen, "cas": case.name, "url": case.url, "mediane_ms": round(median, 1),
                  "p95_ms": round(p95, 1), "plancher_ms": round(floor, 2), "ratio": round(median / max(floor, 0.01)),
                  "requetes": len(recorder.statements), "objectif_ms": case.target,
                  "atteint": None if case.target is None else median <= case.target}
        results.append(result)
        mark = "" if case.target is None else (" ok" if result["atteint"] else f" > {case.target}")
        log(f"  {median:7.1f} ms (p95 {p95:6.1f}, SQL {floor:6.2f}, {len(recorder.statements)} req.){mark}  "
            f"{case.screen} — {case.name}")
    return results


def measure_imports(name: str, rows: int) -> list[dict] | str:
    """Import throughput through the API and the job (helper bench/imports.py), on a scratch database."""
    try:
        from bench import imports
    except ImportError:
        return "bench/imports.py absent : débit d'import non mesuré."
    url = (f"sqlite:///{DATA / 'imports.db'}" if name == "sqlite"
           else DEFAULT_URLS["postgresql"].rsplit("/", 1)[0] + "/bench_imports")
    if name == "sqlite":
        (DATA / "imports.db").unlink(missing_ok=True)
    ensure_database(url)
    from bench.generate import _reset_schema

    app = make_app(url)
    _reset_schema(app)
    return imports.measure(app, rows=rows)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cœurs, Python {platform.python_version()}, "
            f"charge moyenne au départ {load[0]:.1f} (1 min)")


def database_version(app) -> str:
    from portail_admin.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return "SQLite " + db.session.execute(sa.text("select sqlite_version()")).scalar()
        return "PostgreSQL " + db.session.execute(sa.text("show server_version")).scalar().split()[0]


def render(name: str, meta: dict, results: list[dict], notes: list[str], imports, info: str) -> str:
    vol = ", ".join(f"{k} {v:,}".replace(",", " ") for k, v in meta["volumes"].items())
    lines = [f"{info}, mesuré le {dt.datetime.now():%d/%m/%Y %H:%M} — {meta['machine']}.  ",
             f"Données : échelle {meta['scale']} (graine {meta['seed']}, date de référence {meta['today']}) : {vol} ; "
             f"générées en {meta['total_s']:.0f} s.", "",
             "| Écran | Cas | Médiane (ms) | p95 (ms) | Plancher SQL (ms) | Ratio | Requêtes | Objectif | Atteint |",
             "|---|---|---:|---:|---:|---:|---:|---:|:-:|"]
    for r in results:
        if "erreur" in r:
            lines.append(f"| {r['ecran']} | {r['cas']} | HTTP {r['erreur']} | | | | | | ✗ |")
            continue
        target = "—" if r["objectif_ms"] is None else f"≤ {r['objectif_ms']}"
        met = "—" if r["atteint"] is None else ("✓" if r["atteint"] else "✗")
        lines.append(f"| {r['ecran']} | {r['cas']} | {r['mediane_ms']:.1f} | {r['p95_ms']:.1f} | "
                     f"{r['plancher_ms']:.2f} | {r['ratio']}× | {r['requetes']} | {target} | {met} |")
    measured = [r for r in results if r.get("atteint") is not None]
    ok = sum(1 for r in measured if r["atteint"])
    lines += ["", f"Objectifs atteints : {ok} / {len(measured)} cas."]
    if isinstance(imports, str):
        lines += ["", imports]
    elif imports:
        lines += ["", "| Import | Lignes | Secondes | Lignes/s | Objectif (lignes/s) |", "|---|---:|---:|---:|---:|"]
        for r in imports:
            target = r.get("objectif") or "—"
            lines.append(f"| {r['mesure']} | {r['lignes']} | {r['secondes']} | {r['lignes_par_seconde']} | "
                         f"{target} |")
    if notes:
        lines += ["", "Notes :"] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def write_section(key: str, text: str) -> None:
    """Replace the section between <!-- bench:key --> markers of docs/performance.md (append it if absent)."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    doc = DOC.read_text() if DOC.exists() else "# Performance\n"
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(doc)


def run(name: str, url: str, args) -> None:
    meta = ensure_data(name, url, args.scale, args.regenerate, args.reuse)
    meta["machine"] = machine()
    app = make_app(url)
    client = app.test_client()
    login(client)
    cases, notes = build_cases(app, client)
    if args.only:
        cases = [c for c in cases if re.search(args.only, f"{c.screen} {c.name} {c.url}", re.I)]
    log(f"[{name}] {len(cases)} cas, {args.runs} mesures chacun")
    results = measure(app, client, cases, args.runs)
    imports = [] if args.no_imports else measure_imports(name, args.import_rows)
    info = database_version(app)
    (DATA / f"results-{name}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1,
                                                          default=str))
    if not args.only:
        write_section(name, render(name, meta, results, notes, imports, info))
        log(f"[{name}] tableau écrit dans {DOC.relative_to(ROOT)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplie les volumes (1.0 : ceux du ticket)")
    parser.add_argument("--regenerate", action="store_true", help="régénérer les données même si elles existent")
    parser.add_argument("--reuse", action="store_true",
                        help="garder les données déjà générées même si la migration a changé depuis")
    parser.add_argument("--runs", type=int, default=15, help="mesures par cas (après 2 de chauffe)")
    parser.add_argument("--only", help="ne mesurer que les cas dont l'écran, le nom ou l'URL correspond (regex) ; "
                                       "le document n'est pas réécrit")
    parser.add_argument("--no-imports", action="store_true", help="ne pas mesurer le débit d'import")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--sqlite-url", default=DEFAULT_URLS["sqlite"])
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_URLS["postgresql"]))
    args = parser.parse_args(argv)
    targets = {"sqlite": args.sqlite_url, "postgresql": args.postgres_url}
    for name in (("sqlite", "postgresql") if args.db == "all" else (args.db,)):
        run(name, targets[name], args)


if __name__ == "__main__":
    main()
