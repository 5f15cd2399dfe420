"""Set-based writing of validated rows: one INSERT ... ON CONFLICT DO UPDATE per chunk, by Enfance reference."""
import re
from operator import itemgetter

from .champs import TypeImport

#: SQL types of the columns whose absence means "leave as it is" on update.
TYPES_SQL = {"archive": "BOOLEAN", "restant_du": "BIGINT", "ventile": "BIGINT"}
#: What an insert stores when such a column is absent.
DEFAUTS_INSERT = {"archive": "false", "restant_du": ":montant", "ventile": "0"}


class Upsert:
    """The statement of a type for a dialect, and how to turn a validated row into its parameters."""

    def __init__(self, spec: TypeImport, dialecte: str):
        self.spec = spec
        self.dialecte = dialecte
        table = spec.table
        connues = {c.colonne for c in spec.champs} | set(spec.fixes) | {"synchronise_le"}
        #: Columns the batch does not carry but that need a value on insert (created_at...): model defaults.
        self.par_defaut = {col.name: col.default for col in spec.model.__table__.columns
                           if col.name not in connues and not col.primary_key and col.default is not None}
        self.colonnes = ([c.colonne for c in spec.champs] + list(spec.fixes) + ["synchronise_le"]
                         + list(self.par_defaut))
        valeurs, mises_a_jour = [], {}
        for champ in spec.champs:
            col = champ.colonne
            if champ.facultatif_maj:
                param = f"CAST(:{col} AS {TYPES_SQL[col]})"
                valeurs.append(f"COALESCE({param}, {DEFAUTS_INSERT[col]})")
                if col == "restant_du":
                    # Absent: what the invoice amount minus the payments allocated to it leaves.
                    mises_a_jour[col] = (f"COALESCE({param}, excluded.montant - (SELECT COALESCE(SUM(v.montant), 0) "
                                         f"FROM ventilations v WHERE v.facture_id = {table}.id))")
                else:
                    mises_a_jour[col] = f"COALESCE({param}, {table}.{col})"
            else:
                valeurs.append(f":{col}")
                mises_a_jour[col] = f"excluded.{col}"
        for col in spec.fixes:
            valeurs.append(f":{col}")
            mises_a_jour[col] = f"excluded.{col}"
        valeurs.append(":synchronise_le")
        valeurs.extend(f":{col}" for col in self.par_defaut)
        compares = {col: expr for col, expr in mises_a_jour.items() if col not in spec.cle}
        if dialecte == "postgresql":
            change = (f"({', '.join(f'{table}.{c}' for c in compares)}) IS DISTINCT FROM "
                      f"({', '.join(compares.values())})")
        else:
            change = " OR ".join(f"{table}.{c} IS NOT {expr}" for c, expr in compares.items())
        sets = ", ".join(f"{c} = {expr}" for c, expr in compares.items())
        sql = (f"INSERT INTO {table} ({', '.join(self.colonnes)}) VALUES ({', '.join(valeurs)}) "
               f"ON CONFLICT ({', '.join(spec.cle)}) DO UPDATE SET {sets}, "
               f"synchronise_le = excluded.synchronise_le WHERE {change}")
        # Named parameters become positional ones: a tuple per row is the fastest executemany input.
        noms = re.findall(r":([a-z_]+)\b", sql)
        marque = "%s" if dialecte == "postgresql" else "?"
        self.sql = re.sub(r":([a-z_]+)\b", marque, sql)
        position = {col: i for i, col in enumerate(self.colonnes)}
        self._ordre = itemgetter(*(position[n] for n in noms))

    def constantes(self, synchronise_le: str) -> tuple:
        """The values every row of the batch shares: fixed columns, sync time, insert defaults."""
        defauts = tuple(d.arg(None) if d.is_callable else d.arg for d in self.par_defaut.values())
        return tuple(self.spec.fixes.values()) + (synchronise_le,) + defauts

    def parametres(self, lignes: list, constantes: tuple) -> list:
        ordre = self._ordre
        return [ordre(ligne + constantes) for ligne in lignes]



class UpsertCopy:
    """PostgreSQL: COPY a chunk into a temporary table, then one INSERT … SELECT … ON CONFLICT per shape.

    Several times faster than executemany there. A reference repeated within the chunk keeps its last line
    (DISTINCT ON … ORDER BY the line's order). The columns whose absence means "leave as it is" split the chunk
    by shape (present or absent), each with its own SET clause, since ON CONFLICT only sees `excluded`.
    """

    TEMP = "_lot_import"

    def __init__(self, spec: TypeImport, dialecte: str = "postgresql"):
        self.spec = spec
        table = spec.table
        base = Upsert(spec, "postgresql")
        self.colonnes = base.colonnes
        self.par_defaut = base.par_defaut
        facultatives = [c.colonne for c in spec.champs if c.facultatif_maj]
        cle = ", ".join(spec.cle)
        self.creer = (f"CREATE TEMP TABLE IF NOT EXISTS {self.TEMP}_{table} ON COMMIT DROP AS "
                      f"SELECT {', '.join(self.colonnes)} FROM {table} WITH NO DATA; "
                      f"ALTER TABLE {self.TEMP}_{table} ADD COLUMN IF NOT EXISTS _ordre bigint")
        self.temp = f"{self.TEMP}_{table}"
        self.copie = f"COPY {self.temp} ({', '.join(self.colonnes)}, _ordre) FROM STDIN"
        self.requetes = []
        for masque in range(1 << len(facultatives)):
            presentes = {col for i, col in enumerate(facultatives) if masque >> i & 1}
            valeurs, mises_a_jour = [], {}
            for col in self.colonnes:
                if col in facultatives and col not in presentes:
                    defaut = DEFAUTS_INSERT[col].replace(":montant", "d.montant")
                    valeurs.append(defaut)
                    if col == "restant_du":
                        mises_a_jour[col] = (f"excluded.montant - (SELECT COALESCE(SUM(v.montant), 0) "
                                             f"FROM ventilations v WHERE v.facture_id = {table}.id)")
                    else:
                        mises_a_jour[col] = f"{table}.{col}"
                else:
                    valeurs.append(f"d.{col}")
                    mises_a_jour[col] = f"excluded.{col}"
            compares = {c: e for c, e in mises_a_jour.items()
                        if c not in spec.cle and c != "synchronise_le" and c not in self.par_defaut}
            filtre = " AND ".join(f"d.{col} IS {'NOT ' if col in presentes else ''}NULL" for col in facultatives)
            self.requetes.append(
                f"WITH d AS (SELECT DISTINCT ON ({cle}) * FROM {self.temp} ORDER BY {cle}, _ordre DESC) "
                f"INSERT INTO {table} ({', '.join(self.colonnes)}) SELECT {', '.join(valeurs)} FROM d"
                f"{' WHERE ' + filtre if filtre else ''} "
                f"ON CONFLICT ({cle}) DO UPDATE SET "
                f"{', '.join(f'{c} = {e}' for c, e in compares.items())}, synchronise_le = excluded.synchronise_le "
                f"WHERE ({', '.join(f'{table}.{c}' for c in compares)}) IS DISTINCT FROM "
                f"({', '.join(compares.values())})")

    def constantes(self, synchronise_le: str) -> tuple:
        defauts = tuple(d.arg(None) if d.is_callable else d.arg for d in self.par_defaut.values())
        return tuple(self.spec.fixes.values()) + (synchronise_le,) + defauts

    def ecrire(self, curseur, lignes: list, constantes: tuple, premier: int) -> int:
        """Upsert one chunk; returns the rows inserted or changed."""
        curseur.execute(self.creer)
        curseur.execute(f"TRUNCATE {self.temp}")
        with curseur.copy(self.copie) as copie:
            for ordre, ligne in enumerate(lignes, start=premier):
                copie.write_row(ligne + constantes + (ordre,))
        ecrites = 0
        for requete in self.requetes:
            curseur.execute(requete)
            ecrites += max(curseur.rowcount, 0)
        return ecrites
