"""Writing validated rows by Enfance key: read-and-compare on SQLite, COPY then INSERT … ON CONFLICT on PostgreSQL."""
from operator import itemgetter

from .champs import TypeImport

#: What an insert stores when a column whose absence means "leave as it is" on update is absent.
DEFAUTS_INSERT = {"archive": "false", "restant_du": ":montant", "ventile": "0"}


class Colonnes:
    """The columns a type writes on insert, and the values every row of a batch shares."""

    def __init__(self, spec: TypeImport):
        self.spec = spec
        connues = {c.colonne for c in spec.champs} | set(spec.fixes) | {"synchronise_le"}
        #: Columns the batch does not carry but that need a value on insert (created_at...): model defaults.
        self.par_defaut = {col.name: col.default for col in spec.model.__table__.columns
                           if col.name not in connues and not col.primary_key and col.default is not None}
        self.colonnes = ([c.colonne for c in spec.champs] + list(spec.fixes) + ["synchronise_le"]
                         + list(self.par_defaut))

    def constantes(self, synchronise_le: str) -> tuple:
        """The values every row of the batch shares: fixed columns, sync time, insert defaults."""
        defauts = tuple(d.arg(None) if d.is_callable else d.arg for d in self.par_defaut.values())
        return tuple(self.spec.fixes.values()) + (synchronise_le,) + defauts


class UpsertSqlite(Colonnes):
    """SQLite: read the chunk's rows already there, insert the new ones, update only the columns that differ.

    An UPDATE rewrites the entries of every index on a column it sets, changed or not (individus has eight);
    setting only what differs writes a modified batch about 40 % faster than an INSERT … ON CONFLICT DO UPDATE
    of every column, and an unchanged row costs one indexed read. A key repeated within the chunk keeps its
    last line. A column whose absence means "leave as it is" is left alone when absent (restant_du: montant
    minus the payments allocated to the invoice, as on PostgreSQL).
    """

    def __init__(self, spec: TypeImport):
        super().__init__(spec)
        table, colonnes = spec.table, self.colonnes
        avec_fixes = len(spec.champs) + len(spec.fixes)
        self.synchronise_le = avec_fixes
        facultatives = {c.colonne for c in spec.champs if c.facultatif_maj}
        #: (position in a row with its constants, facultative column or None) of each column compared.
        self.comparees = [(i, colonnes[i] if colonnes[i] in facultatives else None)
                          for i in range(avec_fixes) if colonnes[i] not in spec.cle]
        self.montant = colonnes.index("montant") if "restant_du" in facultatives else None
        positions_cle = [colonnes.index(c) for c in spec.cle]
        self.cle = _uplet(positions_cle)
        self.cle_lue = _uplet(range(1, 1 + len(spec.cle)))
        self.debut = 1 + len(spec.cle)
        alloue = (f", (SELECT COALESCE(SUM(v.montant), 0) FROM ventilations v WHERE v.facture_id = {table}.id)"
                  if self.montant is not None else "")
        self.lire = (f"SELECT id, {', '.join(spec.cle)}, {', '.join(colonnes[i] for i, _f in self.comparees)}"
                     f"{alloue} FROM {table} WHERE {spec.cle[-1]} IN ({{}})")
        self.derniere_cle = itemgetter(positions_cle[-1])
        # Numbered parameters: an absent facultative column takes its insert default (restant_du: the montant).
        montant = f"?{self.montant + 1}" if self.montant is not None else ""
        valeurs = [f"COALESCE(?{i + 1}, {DEFAUTS_INSERT[col].replace(':montant', montant)})" if col in facultatives
                   else f"?{i + 1}" for i, col in enumerate(colonnes)]
        self.inserer = f"INSERT INTO {table} ({', '.join(colonnes)}) VALUES ({', '.join(valeurs)})"
        self.table = table
        self.modifier: dict[tuple, str] = {}

    def ecrire(self, curseur, lignes: list, constantes: tuple, _premier: int) -> int:
        """Upsert one chunk; returns the rows inserted or changed."""
        cle = self.cle
        par_cle = {cle(ligne): ligne for ligne in lignes}
        existantes = self._existantes(curseur, par_cle)
        nouvelles, modifiees = [], {}
        comparees, debut = self.comparees, self.debut
        # The fast path compares a whole row at once; columns absent from every row of the chunk are left out.
        gardees = [(i, rang) for rang, (i, facultative) in enumerate(comparees)
                   if not facultative or facultative == "restant_du"
                   or any(ligne[i] is not None for ligne in par_cle.values())]
        projection = _uplet([i for i, _r in gardees])
        projection_lue = _uplet([debut + rang for _i, rang in gardees])
        for valeur_cle, ligne in par_cle.items():
            valeurs = ligne + constantes
            ancienne = existantes.get(valeur_cle)
            if ancienne is None:
                nouvelles.append(valeurs)
                continue
            if projection(valeurs) == projection_lue(ancienne):
                continue
            changees = self._differences(valeurs, ancienne)
            if changees:
                positions = tuple(i for i, _v in changees)
                modifiees.setdefault(positions, []).append(
                    (*(v for _i, v in changees), valeurs[self.synchronise_le], ancienne[0]))
        if nouvelles:
            curseur.executemany(self.inserer, nouvelles)
        for positions, parametres in modifiees.items():
            curseur.executemany(self._modifier(positions), parametres)
        return len(nouvelles) + sum(map(len, modifiees.values()))

    def _existantes(self, curseur, par_cle: dict) -> dict:
        """{key: (id, key..., compared columns..., [allocated])} of the chunk's rows already in the table."""
        derniere = self.derniere_cle
        valeurs = list({derniere(ligne) for ligne in par_cle.values()})
        cle_lue, existantes = self.cle_lue, {}
        for debut in range(0, len(valeurs), 2000):
            morceau = valeurs[debut:debut + 2000]
            for ligne in curseur.execute(self.lire.format(", ".join("?" * len(morceau))), morceau):
                valeur_cle = cle_lue(ligne)
                if valeur_cle in par_cle:
                    existantes[valeur_cle] = ligne
        return existantes

    def _differences(self, valeurs: tuple, ancienne: tuple) -> list:
        """(position, new value) of each column that differs from the stored row."""
        changees = []
        for rang, (position, facultative) in enumerate(self.comparees):
            valeur = valeurs[position]
            if valeur is None and facultative:
                if facultative != "restant_du":
                    continue
                valeur = valeurs[self.montant] - ancienne[-1]
            if valeur != ancienne[self.debut + rang]:
                changees.append((position, valeur))
        return changees

    def _modifier(self, positions: tuple) -> str:
        if positions not in self.modifier:
            sets = ", ".join(f"{self.colonnes[i]} = ?" for i in positions)
            self.modifier[positions] = f"UPDATE {self.table} SET {sets}, synchronise_le = ? WHERE id = ?"
        return self.modifier[positions]


def _uplet(positions):
    """A function taking these positions of a row as a tuple (itemgetter gives a bare value for one position)."""
    positions = list(positions)
    if len(positions) == 1:
        position = positions[0]
        return lambda ligne: (ligne[position],)
    return itemgetter(*positions) if positions else lambda _ligne: ()


class UpsertCopy(Colonnes):
    """PostgreSQL: COPY a chunk into a temporary table, then one INSERT … SELECT … ON CONFLICT per shape.

    Several times faster than executemany there. A reference repeated within the chunk keeps its last line
    (DISTINCT ON … ORDER BY the line's order). The columns whose absence means "leave as it is" split the chunk
    by shape (present or absent), each with its own SET clause, since ON CONFLICT only sees `excluded`.
    """

    TEMP = "_lot_import"

    def __init__(self, spec: TypeImport):
        super().__init__(spec)
        table = spec.table
        facultatives = [c.colonne for c in spec.champs if c.facultatif_maj]
        cle = ", ".join(spec.cle)
        self.creer = (f"CREATE TEMP TABLE IF NOT EXISTS {self.TEMP}_{table} ON COMMIT DROP AS "
                      f"SELECT {', '.join(self.colonnes)} FROM {table} WITH NO DATA; "
                      f"ALTER TABLE {self.TEMP}_{table} ADD COLUMN IF NOT EXISTS _ordre bigint")
        self.temp = f"{self.TEMP}_{table}"
        self.cree = False
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

    def ecrire(self, curseur, lignes: list, constantes: tuple, premier: int) -> int:
        """Upsert one chunk; returns the rows inserted or changed."""
        if not self.cree:
            # The temporary table lasts until the import's commit: created for the first chunk only.
            curseur.execute(self.creer)
            self.cree = True
        curseur.execute(f"TRUNCATE {self.temp}")
        with curseur.copy(self.copie) as copie:
            for ordre, ligne in enumerate(lignes, start=premier):
                copie.write_row(ligne + constantes + (ordre,))
        ecrites = 0
        for requete in self.requetes:
            curseur.execute(requete)
            ecrites += max(curseur.rowcount, 0)
        return ecrites
