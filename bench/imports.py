"""Import throughput through the API and the job (rows/s), and the peak memory of a 1M-row NDJSON import.

Alone: `python -m bench.imports [--rows N] [--memoire N]` on DATABASE_URL (or a temporary SQLite file).
From the benchmark runner: `measure(app_factory_or_app_or_url, rows=100_000) -> list[dict]`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

PREFIXE = "BENCH-"
#: The issue's targets, rows per second through the API and the job.
OBJECTIFS = {"sqlite": 50_000, "postgresql": 20_000}


def _ecrire_individus(chemin: str, rows: int, comptes: int, variante: str = "") -> None:
    with open(chemin, "w") as sortie:
        for i in range(rows):
            sortie.write(json.dumps({
                "reference": f"{PREFIXE}I{i}", "compte": f"{PREFIXE}F{i % comptes}", "nom": f"Nom{i % 977}{variante}",
                "prenom": f"Prénom{i % 331}", "date_naissance": f"{2005 + i % 18}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "role": ("enfant", "responsable", "conjoint")[i % 3],
            }, ensure_ascii=False) + "\n")


def _ecrire_comptes(chemin: str, comptes: int) -> None:
    with open(chemin, "w") as sortie:
        for i in range(comptes):
            sortie.write(json.dumps({"code": f"{PREFIXE}F{i}", "emetteur": "Divers", "nom": f"Famille{i}",
                                     "prenom": "Bench"}) + "\n")


class _Client:
    """Posts a stored NDJSON file to the import API and waits for the run's end: Flask test client or HTTP."""

    def __init__(self, cible, token=None):
        self.app = None
        self.url = None
        if isinstance(cible, str):
            self.url = cible.rstrip("/")
            self.token = token or os.environ["BENCH_API_TOKEN"]
        else:
            self.app = cible() if callable(cible) and not hasattr(cible, "test_client") else cible
            self.token = token

    def preparer(self) -> None:
        if self.app is None:
            return
        from portail_admin.extensions import db
        from portail_admin.models import Individu
        from portail_admin.services.api_tokens import create_token

        with self.app.app_context():
            if self.token is None:
                _t, self.token = create_token(f"bench-imports-{time.time_ns()}", "enfance")
            # Fresh individuals each time, so the first import measures inserts.
            db.session.execute(db.delete(Individu).where(Individu.reference.like(f"{PREFIXE}%")))
            db.session.commit()

    def dialecte(self) -> str:
        if self.app is None:
            return os.environ.get("BENCH_DIALECTE", "?")
        from portail_admin.extensions import db

        with self.app.app_context():
            return db.engine.dialect.name

    def importer(self, type_import: str, chemin: str) -> dict:
        entetes = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/x-ndjson",
                   "Content-Length": str(os.path.getsize(chemin))}
        if self.app is not None:
            with open(chemin, "rb") as corps, self.app.test_client() as client:
                reponse = client.post(f"/api/v1/enfance/imports/{type_import}", input_stream=corps, headers=entetes)
                statut = reponse.get_json()
                while statut.get("resultat") in ("en_attente", "en_cours"):
                    time.sleep(0.2)
                    statut = client.get(statut["statut_url"], headers=entetes).get_json()
            return statut
        with open(chemin, "rb") as corps:
            requete = urllib.request.Request(f"{self.url}/api/v1/enfance/imports/{type_import}", data=corps,
                                             headers=entetes, method="POST")
            with urllib.request.urlopen(requete) as reponse:  # noqa: S310 (the benchmark's own server)
                statut = json.load(reponse)
        while statut.get("resultat") in ("en_attente", "en_cours"):
            time.sleep(0.2)
            requete = urllib.request.Request(self.url + statut["statut_url"], headers=entetes)
            with urllib.request.urlopen(requete) as reponse:  # noqa: S310
                statut = json.load(reponse)
        return statut


def measure(cible, rows: int = 100_000, token: str | None = None) -> list[dict]:
    """Import `rows` individuals (and their family accounts) end to end; one dict per measurement.

    cible: an app factory, a Flask app (in-process: jobs run inline unless REDIS_URL is set and a worker
    runs), or the base URL of a running server (token: an "enfance" API token, or BENCH_API_TOKEN).
    """
    client = _Client(cible, token)
    client.preparer()
    dialecte = client.dialecte()
    comptes = max(1, rows // 3)
    resultats = []
    with tempfile.TemporaryDirectory() as dossier:
        fichier_comptes = os.path.join(dossier, "comptes.ndjson")
        _ecrire_comptes(fichier_comptes, comptes)
        fichier = os.path.join(dossier, "individus.ndjson")
        _ecrire_individus(fichier, rows, comptes)
        fichier_modifie = os.path.join(dossier, "individus-modifies.ndjson")
        _ecrire_individus(fichier_modifie, rows, comptes, variante="b")
        for libelle, type_import, chemin, lignes in (
            ("comptes familles (création ou inchangés)", "comptes", fichier_comptes, comptes),
            ("individus, création", "individus", fichier, rows),
            ("individus, même lot rejoué (rien ne change)", "individus", fichier, rows),
            ("individus, tous modifiés", "individus", fichier_modifie, rows),
        ):
            debut, cpu = time.perf_counter(), time.process_time()
            statut = client.importer(type_import, chemin)
            duree, cpu = time.perf_counter() - debut, time.process_time() - cpu
            if statut.get("resultat") != "succes":
                raise RuntimeError(f"Import {type_import} en échec : {statut}")
            resultats.append({
                "mesure": f"Import {libelle} (API + tâche)", "base": dialecte, "lignes": lignes,
                "secondes": round(duree, 3), "lignes_par_seconde": int(lignes / duree),
                "objectif": OBJECTIFS.get(dialecte) if type_import == "individus" else None,
                "ecrites": statut.get("compteurs", {}).get("ecrites"),
                # CPU time of this process (in-process mode): on a loaded machine, the closest to an idle one's
                # wall time on SQLite; on PostgreSQL the server's own CPU is not in it.
                "cpu_secondes": round(cpu, 3) if client.app is not None else None,
            })
    return resultats


def _rss_ko(champ: str) -> int:
    with open("/proc/self/status") as status:
        for ligne in status:
            if ligne.startswith(champ + ":"):
                return int(ligne.split()[1])
    return 0


def _memoire_enfant(rows: int, database_url: str) -> dict:
    """In this (fresh) process: import `rows` individuals from a file and report the peak RSS growth."""
    from portail_admin import create_app
    from portail_admin.extensions import db

    dossier = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None, "SERVER_NAME": "localhost",
                      "IMPORTS_FOLDER": os.path.join(dossier, "imports")})
    with app.app_context():
        if database_url.startswith("sqlite"):
            db.create_all()
    client = _Client(app)
    client.preparer()
    comptes = max(1, rows // 3)
    fichier_comptes = os.path.join(dossier, "comptes.ndjson")
    _ecrire_comptes(fichier_comptes, comptes)
    client.importer("comptes", fichier_comptes)
    fichier = os.path.join(dossier, "individus.ndjson")
    _ecrire_individus(fichier, rows, comptes)
    # Reset the peak (VmHWM) so that only the import itself counts.
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    avant = _rss_ko("VmRSS")
    debut = time.perf_counter()
    statut = client.importer("individus", fichier)
    duree = time.perf_counter() - debut
    pic = _rss_ko("VmHWM")
    return {"mesure": "Pic de mémoire, import NDJSON d'individus", "base": client.dialecte(), "lignes": rows,
            "resultat": statut.get("resultat"), "secondes": round(duree, 3),
            "lignes_par_seconde": int(rows / duree), "taille_fichier_mo": round(os.path.getsize(fichier) / 2**20),
            "croissance_rss_mo": round((pic - avant) / 1024, 1), "objectif_mo": 100}


def mesurer_memoire(rows: int = 1_000_000, database_url: str | None = None) -> dict:
    """Peak RSS growth of a `rows`-row NDJSON import, measured in a fresh process."""
    database_url = database_url or f"sqlite:///{tempfile.mkdtemp()}/memoire.db"
    sortie = subprocess.run([sys.executable, "-m", "bench.imports", "--enfant-memoire", str(rows),
                             "--database", database_url], capture_output=True, text=True, check=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(sortie.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memoire", type=int, default=0, help="Mesurer aussi le pic de mémoire pour N lignes.")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--enfant-memoire", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.enfant_memoire:
        print(json.dumps(_memoire_enfant(args.enfant_memoire, args.database)))
        return
    from portail_admin import create_app
    from portail_admin.extensions import db

    database = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench-imports.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": None, "SERVER_NAME": "localhost",
                      "IMPORTS_FOLDER": tempfile.mkdtemp()})
    with app.app_context():
        db.create_all()
    resultats = measure(app, rows=args.rows)
    if args.memoire:
        resultats.append(mesurer_memoire(args.memoire, database))
    for ligne in resultats:
        print(json.dumps(ligne, ensure_ascii=False))


if __name__ == "__main__":
    main()
