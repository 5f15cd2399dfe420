"""Benchmark data: a seeded municipality at scale, loaded set-based (SQLite executemany, PostgreSQL COPY)."""
import datetime as dt
import json
import random
import time
import unicodedata
from decimal import Decimal

import sqlalchemy as sa
from faker.providers.person.fr_FR import Provider as Noms

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.models import Demande, Montant, Reglement, TotalDepot, Traitement
from portail_admin.services import facturation

#: Rows at scale 1.0 (the issue's volumes); --scale multiplies them.
VOLUMES = {
    "citoyens": 100_000,
    "comptes_metier": 120_000,
    "individus": 300_000,
    "factures": 1_000_000,
    "reglements": 1_000_000,
    "traitements": 40_000,
    "demandes": 200_000,
}
#: Families with years of history (hundreds of invoices and payments): the family timeline's worst case.
HEAVY_FAMILIES = 50
HEAVY_INVOICES = 400
SEED = 2026
#: Rows per executemany / COPY batch.
BATCH = 20_000
EMETTEURS = ("Télé-services", "Divers")
CONTEXTES = ("Restauration scolaire", "Accueil périscolaire", "Accueil de loisirs", "Multi-accueil")
DOMAINES = ("opmal.com", "laposte.net", "orange.fr", "gmail.com", "free.fr", "mairie-exemple.fr")
MODES = tuple(Reglement.MODES)
BIG_TABLES = ("citoyens", "comptes_metier", "individus", "inscriptions", "factures", "reglements", "ventilations",
              "operations", "traitements", "demandes")


def ascii_slug(text: str) -> str:
    """"Élodie-Anne" -> "elodie-anne" (e-mail local parts)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in text.lower() if c.isalnum() or c in ".-")


def volumes(scale: float) -> dict:
    """The row counts at a scale (at least a handful of each, so a tiny run still exercises every screen)."""
    return {name: max(int(n * scale), 20) for name, n in VOLUMES.items()}


class Loader:
    """Bulk insert into one table: executemany on SQLite, COPY on PostgreSQL; columns the generator does not
    know (added later by other features) get their model default or NULL."""

    def __init__(self, connection, dialect: str, now: dt.datetime):
        self.conn = connection
        self.dialect = dialect
        #: Stands for "now" in time defaults, so that a run is reproducible.
        self.now = now

    def load(self, table_name: str, columns: tuple, rows) -> int:
        table = db.metadata.tables[table_name]
        extra_cols, extra_vals = [], []
        for column in table.columns:
            if column.name in columns:
                continue
            if column.default is not None:
                value = column.default.arg if column.default.is_scalar else self._call_default(column)
                value = self.now if isinstance(value, dt.datetime) else value
            elif column.nullable or column.primary_key:
                continue
            else:
                raise ValueError(f"{table_name}.{column.name} : colonne obligatoire sans valeur par défaut")
            extra_cols.append(column.name)
            extra_vals.append(self._bind(column, value))
        names = ", ".join(tuple(columns) + tuple(extra_cols))
        binders = [self._converter(table.columns[name]) for name in columns]
        values = ([v if f is None or v is None else f(v) for f, v in zip(binders, row, strict=True)] + extra_vals
                  for row in rows)
        cursor = self.conn.connection.dbapi_connection.cursor()
        count = 0
        if self.dialect == "postgresql":
            with cursor.copy(f"COPY {table_name} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
                    count += 1
            return count
        insert = f"INSERT INTO {table_name} ({names}) VALUES ({', '.join('?' for _ in names.split(', '))})"
        batch = []
        for row in values:
            batch.append(row)
            if len(batch) >= BATCH:
                cursor.executemany(insert, batch)
                count += len(batch)
                batch.clear()
        cursor.executemany(insert, batch)
        return count + len(batch)

    @staticmethod
    def _call_default(column):
        arg = column.default.arg
        try:
            return arg(None)
        except TypeError:
            return arg()

    def _converter(self, column):
        """The conversion _bind applies to this column's values, chosen once per column (speed)."""
        if isinstance(column.type, sa.JSON):
            return json.dumps
        if isinstance(column.type, Montant):
            return lambda v: int(v * 100)
        if self.dialect == "sqlite":
            if isinstance(column.type, sa.DateTime):
                return lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(column.type, sa.Date):
                return dt.date.isoformat
            if isinstance(column.type, sa.Boolean):
                return int
        return None

    def _bind(self, column, value):
        """Python value -> what the raw driver stores for this column (Montant cents, JSON text, ISO dates)."""
        if value is None:
            return None
        kind = column.type
        if isinstance(kind, sa.JSON):
            return json.dumps(value)
        if isinstance(value, Decimal):
            return int(value * 100)
        if self.dialect == "sqlite":
            if isinstance(value, dt.datetime):
                return value.strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, bool):
                return int(value)
        return value


def _reset_schema(app) -> None:
    """Empty database with the schema of the migrations (so /readyz sees them at head)."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


def _secondary_indexes():
    """The (non-constraint) indexes of the big tables: dropped during the load, rebuilt after (much faster)."""
    return [index for name in BIG_TABLES for index in db.metadata.tables[name].indexes]


def generate(url: str, scale: float = 1.0, seed: int = SEED, today: dt.date | None = None, log=print) -> dict:
    """Fill the database at url with a reproducible municipality; returns counts and timings."""
    today = today or dt.date.today()
    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    _reset_schema(app)
    vol = volumes(scale)
    timings = {}
    with app.app_context():
        _small_tables()
        db.session.commit()
        dialect = db.engine.dialect.name
        with db.engine.connect() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql("SET session_replication_role = replica")  # no FK triggers during the load
            else:
                conn.exec_driver_sql("PRAGMA synchronous = OFF")
            indexes = _secondary_indexes()
            for index in indexes:
                index.drop(conn)
            loader = Loader(conn, dialect, dt.datetime.combine(today, dt.time(6, 0)))
            rng = random.Random(seed)
            for name, step in _steps(rng, vol, today):
                t0 = time.perf_counter()
                n = step(loader)
                timings[name] = (n, time.perf_counter() - t0)
                log(f"  {name:<14} {n:>9} lignes en {timings[name][1]:.1f} s")
            t0 = time.perf_counter()
            n = _operations(conn)
            timings["operations"] = (n, time.perf_counter() - t0)
            log(f"  {'operations':<14} {n:>9} lignes en {timings['operations'][1]:.1f} s")
            t0 = time.perf_counter()
            for index in indexes:
                index.create(conn)
            timings["index"] = (len(indexes), time.perf_counter() - t0)
            log(f"  {'index':<14} {len(indexes):>9} reconstruits en {timings['index'][1]:.1f} s")
            if dialect == "postgresql":
                for table in BIG_TABLES:
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"COALESCE((SELECT max(id) FROM {table}), 1))")
                conn.exec_driver_sql("SET session_replication_role = DEFAULT")
            conn.commit()
        t0 = time.perf_counter()
        # The deposit summary, rebuilt in full from the loaded invoices and payments.
        facturation.recalculer_totaux()
        db.session.commit()
        n = db.session.scalar(sa.select(sa.func.count()).select_from(TotalDepot))
        timings["totaux_depots"] = (n, time.perf_counter() - t0)
        log(f"  {'totaux_depots':<14} {n:>9} lignes en {timings['totaux_depots'][1]:.1f} s")
        t0 = time.perf_counter()
        if dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        timings["analyze"] = (0, time.perf_counter() - t0)
        db.engine.dispose()
    total = time.perf_counter() - started
    log(f"  total : {total:.0f} s")
    return {"scale": scale, "seed": seed, "today": today.isoformat(), "volumes": vol,
            "timings": {k: [n, round(s, 2)] for k, (n, s) in timings.items()}, "total_s": round(total, 1)}


def _small_tables() -> None:
    """Agents, settings and reference data: a few rows, through the services."""
    from portail_admin.models import Activite, Classe, Periode, PieceJustificative, Structure
    from portail_admin.services import demo, parametres
    from portail_admin.services.agents import create_agent

    parametres.ensure_defaults()
    for email, role, nom, prenom in demo.DEMO_AGENTS:
        agent = create_agent(email, demo.DEMO_PASSWORD, role=role)
        agent.nom, agent.prenom = nom, prenom
    now = dt.datetime(2026, 1, 1, 6, 0)
    for i in range(1, 41):
        db.session.add(Structure(id=i, reference=f"S{i:04d}", nom=f"Structure {i:02d}", type="école",
                                 synchronise_le=now))
    for i in range(1, 121):
        db.session.add(Activite(id=i, reference=f"A{i:04d}", nom=f"{CONTEXTES[i % 4]} {i:03d}",
                                structure_id=(i % 40) + 1, synchronise_le=now))
    for i in range(1, 201):
        db.session.add(Classe(id=i, reference=f"C{i:04d}", nom=("CP", "CE1", "CE2", "CM1", "CM2")[i % 5],
                              structure_id=(i % 40) + 1, annee_scolaire="2025-2026", synchronise_le=now))
    for i in range(1, 601):
        start = dt.date(2024, 9, 1) + dt.timedelta(days=(i % 20) * 30)
        db.session.add(Periode(id=i, reference=f"P{i:05d}", nom=f"Période {i}", activite_id=(i % 120) + 1,
                               date_debut=start, date_fin=start + dt.timedelta(days=29), synchronise_le=now))
    for i, nom in enumerate(("Attestation d'assurance", "Carnet de vaccination", "Avis d'imposition"), start=1):
        db.session.add(PieceJustificative(id=i, reference=f"PJ{i}", nom=nom, obligatoire=True))
    db.session.flush()


def _steps(rng: random.Random, vol: dict, today: dt.date):
    """(name, function(loader) -> rows) for each big table, in foreign-key order."""
    noms = Noms.last_names
    prenoms = Noms.first_names_male + Noms.first_names_female
    n_cit, n_cpt, n_ind = vol["citoyens"], vol["comptes_metier"], vol["individus"]
    n_fac, n_reg = vol["factures"], vol["reglements"]
    now = dt.datetime.combine(today, dt.time(6, 0))
    horizon = 8 * 365  # invoices over eight years
    first_day = today - dt.timedelta(days=horizon)
    enfance = []  # ids of the family accounts (univers Enfance)
    compte_nom = {}
    factures = []  # (id, compte_id, date_emission, montant_cents, restant_cents)

    def citoyens(loader):
        def rows():
            for i in range(1, n_cit + 1):
                nom, prenom = rng.choice(noms), rng.choice(prenoms)
                shown = nom.upper() if rng.random() < 0.3 else nom
                email = f"{ascii_slug(prenom)}.{ascii_slug(nom)}.{i}@{rng.choice(DOMAINES)}"
                yield (i, email, shown, prenom, rng.choice(("M", "MME")), rng.random() < 0.01,
                       now - dt.timedelta(minutes=rng.randrange(horizon * 1440)))
        return loader.load("citoyens", ("id", "email", "nom", "prenom", "civilite", "partenaire", "created_at"),
                           rows())

    def comptes(loader):
        def rows():
            for i in range(1, n_cpt + 1):
                univers = "enfance" if i <= HEAVY_FAMILIES or rng.random() < 0.85 else rng.choice(("eau", "divers"))
                nom, prenom = rng.choice(noms), rng.choice(prenoms)
                citoyen = rng.randint(1, n_cit) if rng.random() < 0.8 else None
                email = f"{ascii_slug(prenom)}.{ascii_slug(nom)}.f{i}@{rng.choice(DOMAINES)}"
                if univers == "enfance":
                    enfance.append(i)
                compte_nom[i] = f"{nom.upper()} {prenom}"
                yield (i, univers, rng.choice(EMETTEURS), f"F{i:07d}", nom.upper(), prenom, email, citoyen,
                       now - dt.timedelta(hours=rng.randrange(24 * 30)), rng.random() < 0.02,
                       now - dt.timedelta(days=rng.randrange(horizon)))
        return loader.load("comptes_metier", ("id", "univers", "emetteur", "code", "nom", "prenom", "email",
                                              "citoyen_id", "synchronise_le", "archive", "created_at"), rows())

    enfants = []

    def individus(loader):
        def rows():
            i = 0
            while i < n_ind:
                for compte in enfance:
                    if i >= n_ind:
                        break
                    roles = ["responsable"] + (["conjoint"] if rng.random() < 0.6 else [])
                    roles += ["enfant"] * rng.randint(1, 3)
                    nom = compte_nom[compte].split(" ")[0]
                    for role in roles:
                        if i >= n_ind:
                            break
                        i += 1
                        age = rng.randint(1, 17) if role == "enfant" else rng.randint(25, 60)
                        if role == "enfant":
                            enfants.append(i)
                        yield (i, f"I{i:08d}", compte, nom, rng.choice(prenoms),
                               today - dt.timedelta(days=age * 365 + rng.randrange(365)), role,
                               now - dt.timedelta(hours=rng.randrange(24 * 60)), rng.random() < 0.03)
        return loader.load("individus", ("id", "reference", "compte_id", "nom", "prenom", "date_naissance", "role",
                                         "synchronise_le", "archive"), rows())

    def inscriptions(loader):
        def rows():
            for i, individu in enumerate(enfants, start=1):
                periode = rng.randint(1, 600)
                start = dt.date(2025, 9, 1)
                yield (i, f"N{i:08d}", individu, (periode % 120) + 1, periode, rng.randint(1, 200), start,
                       start + dt.timedelta(days=300), now, False)
        return loader.load("inscriptions", ("id", "reference", "individu_id", "activite_id", "periode_id",
                                            "classe_id", "date_debut", "date_fin", "synchronise_le", "archive"),
                           rows())

    def compte_facture(i):
        # The first families get hundreds of invoices (years of history); the rest share the others.
        heavy = HEAVY_FAMILIES * HEAVY_INVOICES
        if i <= heavy and n_fac > 4 * heavy:
            return enfance[(i - 1) % HEAVY_FAMILIES]
        return rng.choice(enfance)

    def factures_step(loader):
        def rows():
            for i in range(1, n_fac + 1):
                compte = compte_facture(i)
                emission = first_day + dt.timedelta(days=rng.randrange(horizon))
                montant = rng.randint(500, 45_000)
                roll = rng.random()
                restant = 0 if roll < 0.7 else montant if roll < 0.9 else rng.randint(1, montant - 1)
                factures.append((i, compte, emission, montant, restant))
                depot = emission + dt.timedelta(days=rng.randint(0, 5))
                yield (i, f"{emission.year}-{rng.randint(100, 999)}-{i:07d}", i, compte, emission,
                       emission + dt.timedelta(days=30) if rng.random() < 0.97 else None,
                       Decimal(montant) / 100, Decimal(restant) / 100, rng.random() < 0.6,
                       rng.choice(EMETTEURS), rng.choice(CONTEXTES), "enfance", depot,
                       depot.year * 100 + depot.month, rng.random() < 0.05, now)
        return loader.load("factures", ("id", "numero", "numero_ordre", "compte_id", "date_emission",
                                        "date_echeance", "montant", "restant_du", "payable_en_ligne", "emetteur",
                                        "contexte", "univers", "date_depot", "numero_depot", "archive",
                                        "synchronise_le"), rows())

    paiements = []  # (reglement id, facture id, cents)

    def reglements(loader):
        def rows():
            for i in range(1, n_reg + 1):
                fid, compte, emission, montant, restant = factures[(i - 1) % len(factures)]
                paye = montant - restant if montant > restant else rng.randint(500, 20_000)
                regle = min(emission + dt.timedelta(days=rng.randint(0, 40)), today)
                mode = rng.choice(MODES)
                paiements.append((i, fid, paye))
                depot = regle + dt.timedelta(days=rng.randint(0, 3))
                yield (i, f"R{regle.year}{i:08d}", i, compte, regle, compte_nom[compte], mode,
                       Decimal(paye) / 100, Decimal(paye) / 100, mode == "carte", rng.choice(EMETTEURS),
                       rng.choice(CONTEXTES), "enfance", depot, depot.year * 100 + depot.month,
                       rng.random() < 0.05, now)
        return loader.load("reglements", ("id", "numero", "numero_ordre", "compte_id", "regle_le", "payeur", "mode",
                                          "encaisse", "ventile", "en_ligne", "emetteur", "contexte", "univers",
                                          "date_depot", "numero_depot", "archive", "synchronise_le"), rows())

    def ventilations(loader):
        rows = ((rid, rid, fid, Decimal(cents) / 100) for rid, fid, cents in paiements)
        return loader.load("ventilations", ("id", "reglement_id", "facture_id", "montant"), rows)

    def traitements(loader):
        def rows():
            n = vol["traitements"]
            for i in range(1, n + 1):
                created = now - dt.timedelta(minutes=(n - i) * 60 + rng.randrange(60))
                duree = dt.timedelta(seconds=rng.randint(1, 600))
                resultat = "succes" if rng.random() < 0.95 else "erreur"
                erreurs = [] if resultat == "succes" else [{"ligne": 3, "message": "Référence manquante."}]
                yield (i, created, created, created + duree, "enfance", rng.choice(tuple(Traitement.TYPES)),
                       rng.randint(1, 50_000), 100, resultat, erreurs, "", "api")
        return loader.load("traitements", ("id", "created_at", "debut", "fin", "univers", "type", "nombre",
                                           "avancement", "resultat", "erreurs", "journal", "source"), rows())

    def demandes(loader):
        def rows():
            n = vol["demandes"]
            types, etats = tuple(Demande.TYPES), tuple(Demande.ETATS)
            for i in range(1, n + 1):
                created = now - dt.timedelta(minutes=(n - i) * 20 + rng.randrange(20))
                compte = rng.choice(enfance)
                citoyen = rng.randint(1, n_cit)
                yield (i, f"D{created.year}-{i:06d}", created, citoyen, compte, f"famille{citoyen}@opmal.com",
                       rng.choice(types), rng.choice(etats), {"message": "Demande de la famille."})
        return loader.load("demandes", ("id", "reference", "created_at", "citoyen_id", "compte_id", "email", "type",
                                        "etat", "contenu"), rows())

    return (("citoyens", citoyens), ("comptes_metier", comptes), ("individus", individus),
            ("inscriptions", inscriptions), ("factures", factures_step), ("reglements", reglements),
            ("ventilations", ventilations), ("traitements", traitements), ("demandes", demandes))


def _operations(conn) -> int:
    """The statement of operations, set-based: one line per invoice and payment, running balance per family."""
    conn.exec_driver_sql("""
        INSERT INTO operations (compte_id, date, type, libelle, debit, credit, solde, facture_id, reglement_id)
        SELECT compte_id, date, type, libelle, debit, credit,
               SUM(debit - credit) OVER (PARTITION BY compte_id ORDER BY date, type, ref
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               facture_id, reglement_id
        FROM (
            SELECT compte_id, date_emission AS date, 'facture' AS type, 'Facture ' || numero AS libelle,
                   montant AS debit, 0 AS credit, id AS facture_id, NULL AS reglement_id, id AS ref
            FROM factures
            UNION ALL
            SELECT compte_id, regle_le, 'reglement', 'Règlement ' || numero, 0, encaisse, NULL, id, id
            FROM reglements
        ) AS lignes
        ORDER BY compte_id, date, type, ref
    """)
    return conn.exec_driver_sql("SELECT count(*) FROM operations").scalar()
