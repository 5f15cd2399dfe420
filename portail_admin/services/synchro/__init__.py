"""Mass imports from Enfance: receive a batch to a file, validate it all, then upsert it in one transaction.

How a run goes (see docs/architecture.md, "How an import flows"):
1. recevoir() streams the batch to instance/imports/ (a JSON list becomes NDJSON) and creates the Traitement.
2. The job calls demarrer() (claims the run), then importer():
   - validation pass over the whole file, streaming: every bad row is reported with its line number, and the
     good rows, already converted and with their references resolved, are spooled to a side file;
   - if any row is bad, nothing is written: the run ends "erreur" with the list;
   - otherwise the write pass upserts the spooled rows chunk by chunk in the caller's single transaction.
3. Progress and heartbeat go through a separate autocommit connection (Progression), so they are visible
   while the import's transaction is open; the final state is written in that transaction, atomically.
"""
import contextlib
import gc
import json
import marshal
import os
import secrets
import shutil
import time
from itertools import islice

from flask import current_app
from sqlalchemy import bindparam, text, update

from ...extensions import db
from ...formatting import datetime_fr
from ...models import Traitement, utcnow
from .. import ServiceError, audit, facturation
from .champs import REFERENCES, TYPES, Invalide, compiler_ligne, montant, numero_ordre, verifier_ensemble
from .ecriture import UpsertCopy, UpsertSqlite
from .lecture import Lecteur, LotInvalide, copier_ndjson, format_de, json_vers_ndjson

__all__ = ["TYPES", "LotInvalide", "recevoir", "demarrer", "importer", "relancer", "marquer_echec",
           "interrompre", "chemin_fichier", "FORMATS"]

#: Rows validated (and written) per chunk.
TAILLE_BLOC = 5000
#: Errors kept on the run (all are counted).
MAX_ERREURS = 1000
#: Resolved references remembered per batch and kind (bounds the memory of a huge batch).
MAX_CACHE = 200_000
#: Formats accepted for a batch.
FORMATS = ("json", "ndjson", "csv")
EN_COURS = ("en_attente", "en_cours")
#: SQLite page cache during an import's write pass, in KiB.
CACHE_SQLITE_KO = 32768


def dossier_imports() -> str:
    """Where batches are kept for a relaunch: IMPORTS_FOLDER, or instance/imports."""
    dossier = current_app.config.get("IMPORTS_FOLDER") or os.path.join(current_app.instance_path, "imports")
    os.makedirs(dossier, exist_ok=True)
    return dossier


def chemin_fichier(nom: str) -> str:
    return os.path.join(dossier_imports(), os.path.basename(nom))


def _journal(traitement: Traitement, ligne: str) -> None:
    traitement.journal = (traitement.journal or "") + f"{datetime_fr(utcnow())} {ligne}\n"


def recevoir(type_import: str, flux, format: str, source: str = "api") -> Traitement:
    """Store a batch read from flux (a binary stream) and create its run, "en attente". The caller commits.

    Raises LotInvalide (nothing kept) when the envelope is unreadable: empty, not a JSON list, not NDJSON.
    """
    if type_import not in TYPES:
        raise ServiceError(f"Type d'import inconnu : « {type_import} » (types : {', '.join(TYPES)}).")
    if format not in FORMATS:
        raise ServiceError(f"Format inconnu : « {format} » (formats : {', '.join(FORMATS)}).")
    extension = "csv" if format == "csv" else "ndjson"
    nom = f"{utcnow():%Y%m%d-%H%M%S}-{type_import}-{secrets.token_hex(6)}.{extension}"
    chemin = chemin_fichier(nom)
    try:
        with open(chemin, "wb") as sortie:
            if format == "json":
                nombre = json_vers_ndjson(flux, sortie)
            elif format == "ndjson":
                nombre = copier_ndjson(flux, sortie)
            else:
                shutil.copyfileobj(flux, sortie, 1 << 20)
                nombre = None
        if nombre is None:
            with open(chemin, "rb") as fichier:
                nombre = max(sum(1 for ligne in fichier if ligne.strip()) - 1, 0)
            if nombre == 0:
                raise LotInvalide("Le fichier CSV ne contient aucune ligne après l'en-tête.")
    except BaseException:
        os.unlink(chemin)
        raise
    traitement = Traitement(type=type_import, univers="enfance", nombre=nombre, fichier=nom, source=source,
                            resultat="en_attente", avancement=0, erreurs=[], compteurs={}, journal="")
    _journal(traitement, f"Lot reçu ({source}, {format}) : {nombre} ligne(s).")
    db.session.add(traitement)
    db.session.flush()
    return traitement


def demarrer(traitement_id: int, job_id: str | None) -> Traitement | None:
    """Claim a run for this job: only a run waiting (or left running by this same job) is taken.

    A duplicate or stale job finds nothing to claim and does nothing. The caller commits.
    """
    maintenant = utcnow()
    condition = [Traitement.id == traitement_id, Traitement.resultat.in_(EN_COURS)]
    if job_id:
        condition.append(db.or_(Traitement.job_id == job_id, Traitement.job_id.is_(None)))
    pris = db.session.execute(
        update(Traitement).where(*condition)
        .values(resultat="en_cours", debut=maintenant, fin=None, heartbeat=maintenant, avancement=0)
        .execution_options(synchronize_session=False)).rowcount
    if not pris:
        return None
    traitement = db.session.get(Traitement, traitement_id, populate_existing=True)
    _journal(traitement, "Début du traitement.")
    return traitement


class Progression:
    """Writes avancement and heartbeat through its own autocommit connection, at most once a second.

    The import's transaction stays open meanwhile: on PostgreSQL the run's row is not touched by that
    transaction until its very end, so the two never wait for each other. SQLite allows one writer at a
    time: during the write pass the import's transaction holds the lock, so progress is not written
    there (suspendre) and the run jumps from the validation's 50 % to 100 % at the commit.
    """

    INTERVALLE = 1.0

    def __init__(self, traitement_id: int):
        self.traitement_id = traitement_id
        self.derniere = 0.0
        self.suspendue = False
        self.sqlite = db.engine.dialect.name == "sqlite"

    def suspendre_si_sqlite(self) -> None:
        self.suspendue = self.sqlite

    def __call__(self, avancement: int) -> None:
        maintenant = time.monotonic()
        if self.suspendue or maintenant - self.derniere < self.INTERVALLE:
            return
        self.derniere = maintenant
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connexion:
            connexion.execute(update(Traitement).where(Traitement.id == self.traitement_id,
                                                       Traitement.resultat == "en_cours")
                              .values(avancement=avancement, heartbeat=utcnow()))


class _Validation:
    """The validation pass: converts rows, resolves references per chunk, spools the good rows."""

    def __init__(self, type_import: str, spool):
        self.type = type_import
        self.spec = TYPES[type_import]
        self.convertir_ligne = compiler_ligne(self.spec)
        self.noms = [c.nom for c in self.spec.champs]
        self.refs = [(i, c.reference) for i, c in enumerate(self.spec.champs) if c.reference]
        self.ensemble = type_import in ("periodes", "fermetures", "inscriptions", "factures", "reglements")
        self.spool = spool
        self.erreurs: list[dict] = []
        self.total_erreurs = 0
        self.nombre = 0
        #: {reference: ({key: id}, ambiguous keys)} already resolved in this batch.
        self.cache: dict[str, tuple[dict, set]] = {}

    def erreur(self, ligne, champ, message) -> None:
        self.total_erreurs += 1
        if len(self.erreurs) < MAX_ERREURS:
            self.erreurs.append({"ligne": ligne, "champ": champ, "message": message})

    def bloc(self, lignes: list) -> None:
        convertis, extras = [], []
        convertir_ligne, erreur = self.convertir_ligne, self.erreur
        for ligne, objet in lignes:
            if type(objet) is str:
                erreur(ligne, None, objet[:1].upper() + objet[1:])
                continue
            valeurs, bonne = convertir_ligne(objet, ligne, erreur)
            extra = None
            if bonne and self.ensemble:
                bonne, extra = self._ensemble(ligne, valeurs, objet)
            # A bad row still has its references checked (every error is reported); nothing is spooled then.
            convertis.append((ligne, valeurs))
            extras.append(extra)
        self._references(convertis, extras)

    def _ensemble(self, ligne, valeurs, objet):
        nommees = dict(zip(self.noms, valeurs, strict=True))
        bonne = True
        if self.type in ("factures", "reglements"):
            if nommees["numero_ordre"] is None:
                ordre = numero_ordre(nommees["numero"])
                if ordre is None:
                    self.erreur(ligne, "numero_ordre", "numéro d'ordre obligatoire (le numéro ne finit pas "
                                                       "par des chiffres).")
                    bonne = False
                valeurs[self.noms.index("numero_ordre")] = ordre
            if nommees["date_depot"] is None:
                depot = nommees["date_emission" if self.type == "factures" else "regle_le"]
                valeurs[self.noms.index("date_depot")] = depot
        for champ, message in verifier_ensemble(self.type, nommees):
            self.erreur(ligne, champ, message)
            bonne = False
        extra = None
        if self.type == "reglements" and "ventilations" in objet:
            extra = self._ventilations(ligne, objet["ventilations"], nommees)
            if extra is False:
                return False, None
            total = sum(m for _f, m in extra)
            if nommees["ventile"] is None:
                valeurs[self.noms.index("ventile")] = total
            elif nommees["ventile"] != total:
                self.erreur(ligne, "ventile", "le montant ventilé ne correspond pas au total des ventilations.")
                bonne = False
            if total > nommees["encaisse"]:
                self.erreur(ligne, "ventilations", "le total des ventilations dépasse le montant encaissé.")
                bonne = False
        return bonne, extra

    def _ventilations(self, ligne, brutes, nommees):
        if isinstance(brutes, str):
            # A CSV cell carries the list as JSON text.
            try:
                brutes = json.loads(brutes)
            except ValueError:
                brutes = None
        if not isinstance(brutes, list):
            self.erreur(ligne, "ventilations", "liste attendue : [{\"facture\": numéro, \"montant\": euros}].")
            return False
        resultat = []
        for rang, brute in enumerate(brutes, start=1):
            if not isinstance(brute, dict) or not brute.get("facture"):
                self.erreur(ligne, "ventilations", f"ventilation {rang} : numéro de facture obligatoire.")
                return False
            try:
                numero = str(brute["facture"]).strip()
                if brute.get("montant") in (None, ""):
                    raise Invalide("obligatoire.")
                centimes = montant(brute["montant"])
            except Invalide as exc:
                self.erreur(ligne, "ventilations", f"ventilation {rang} : montant : {exc}")
                return False
            if not centimes:
                self.erreur(ligne, "ventilations", f"ventilation {rang} : montant nul.")
                return False
            resultat.append((numero, centimes))
        return resultat

    def _references(self, convertis, extras) -> None:
        """Replace each referenced key by its id (one query per reference and chunk); unknown ones are errors."""
        for index, reference in self.refs:
            cles = {valeurs[index] for _l, valeurs in convertis if valeurs[index] is not None}
            if not cles:
                continue
            trouves, ambigus = self._resoudre_avec_cache(reference, cles)
            if not cles.isdisjoint(ambigus) or not cles.issubset(trouves):
                libelle = REFERENCES[reference][3]
                nom = self.noms[index]
                for ligne, valeurs in convertis:
                    cle = valeurs[index]
                    if cle in ambigus:
                        self.erreur(ligne, nom, f"{libelle} « {cle} » ambigu : plusieurs comptes Enfance ont ce code.")
                    elif cle is not None and cle not in trouves:
                        self.erreur(ligne, nom, f"{libelle} « {cle} » inconnu.")
            trouve = trouves.get
            for _ligne, valeurs in convertis:
                valeurs[index] = trouve(valeurs[index])
        if self.type == "reglements":
            self._factures_ventilees(convertis, extras)
        if self.total_erreurs:
            return
        lignes = [tuple(valeurs) for _l, valeurs in convertis]
        _ecrire_bloc(self.spool, (lignes, extras if self.type == "reglements" else None))

    def _resoudre_avec_cache(self, reference: str, cles: set) -> tuple[dict, set]:
        """_resoudre, remembering the keys already seen in this batch (families recur from chunk to chunk)."""
        connus, ambigus = self.cache.setdefault(reference, ({}, set()))
        if len(connus) > MAX_CACHE:
            connus.clear()
        manquants = cles.difference(connus)
        if manquants:
            trouves, doubles = _resoudre(reference, manquants)
            connus.update(trouves)
            ambigus.update(doubles)
        return connus, ambigus

    def _factures_ventilees(self, convertis, extras) -> None:
        numeros = {numero for extra in extras if extra for numero, _m in extra}
        if not numeros:
            return
        factures = {}
        for morceau in _morceaux(sorted(numeros)):
            factures.update({numero: (ident, compte) for numero, ident, compte in db.session.execute(
                text("SELECT numero, id, compte_id FROM factures WHERE numero IN :cles")
                .bindparams(bindparam("cles", expanding=True)), {"cles": morceau})})
        index_compte = self.noms.index("compte")
        for position, ((ligne, valeurs), extra) in enumerate(zip(convertis, extras, strict=True)):
            if not extra:
                continue
            resolues = []
            for numero, centimes in extra:
                if numero not in factures:
                    self.erreur(ligne, "ventilations", f"facture « {numero} » inconnue.")
                    continue
                ident, compte = factures[numero]
                if valeurs[index_compte] is not None and compte != valeurs[index_compte]:
                    self.erreur(ligne, "ventilations", f"la facture « {numero} » est celle d'un autre compte.")
                    continue
                resolues.append((ident, centimes))
            extras[position] = resolues


def _ecrire_bloc(spool, bloc) -> None:
    # Length-prefixed: marshal.load on a file reads value by value, loads() on one read is many times faster.
    donnees = marshal.dumps(bloc)
    spool.write(len(donnees).to_bytes(8, "little"))
    spool.write(donnees)


def _lire_bloc(spool):
    taille = spool.read(8)
    if not taille:
        return None
    return marshal.loads(spool.read(int.from_bytes(taille, "little")))


def _morceaux(valeurs: list, taille: int = 2000):
    for debut in range(0, len(valeurs), taille):
        yield valeurs[debut:debut + taille]


def _resoudre(reference: str, cles: set) -> tuple[dict, set]:
    """{key: id} of the records a chunk names, and the keys that match more than one record."""
    table, colonne, condition, _libelle = REFERENCES[reference]
    where = f" AND {condition}" if condition else ""
    marque = "%s" if db.engine.dialect.name == "postgresql" else "?"
    trouves, ambigus = {}, set()
    curseur = db.session.connection().connection.cursor()
    try:
        for morceau in _morceaux(list(cles)):
            curseur.execute(f"SELECT {colonne}, id FROM {table} WHERE {colonne} IN "
                            f"({', '.join([marque] * len(morceau))}){where}", morceau)
            for cle, ident in curseur.fetchall():
                if cle in trouves:
                    ambigus.add(cle)
                trouves[cle] = ident
    finally:
        curseur.close()
    return trouves, ambigus


@contextlib.contextmanager
def _sans_ramasse_miettes():
    """Pause the cyclic garbage collector during a run (restored after it, as it was).

    The passes allocate several objects per row (parsed dict, values, tuples), all acyclic and freed by
    reference counting; each collection they trigger would walk the whole process's heap for nothing,
    about a quarter of a 100k-row import's time on SQLite (0.45 s of 1.8 s).
    """
    actif = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if actif:
            gc.enable()


@_sans_ramasse_miettes()
def importer(traitement: Traitement) -> dict:
    """Validate the whole batch, then write it in the current transaction; the caller commits (or rolls back).

    A batch with a bad row writes nothing and ends "erreur" with every error; a database failure raises
    (the caller rolls back, nothing is written, the job's retry or failure handling takes over).
    """
    chemin = chemin_fichier(traitement.fichier or "")
    if not traitement.fichier or not os.path.exists(chemin):
        _terminer_en_erreur(traitement, [{"ligne": None, "champ": None,
                                          "message": "Fichier du lot introuvable : relance impossible."}], 0)
        return _bilan(traitement)
    progression = Progression(traitement.id)
    taille = os.path.getsize(chemin) or 1
    lecteur = Lecteur(chemin, format_de(chemin))
    spool_chemin = f"{chemin}.{secrets.token_hex(4)}.spool"
    chrono = time.monotonic()
    try:
        with open(spool_chemin, "wb") as spool:
            validation = _Validation(traitement.type, spool)
            lignes = iter(lecteur)
            while bloc := list(islice(lignes, TAILLE_BLOC)):
                validation.nombre += len(bloc)
                validation.bloc(bloc)
                progression(int(50 * lecteur.lus / taille))
        traitement.nombre = validation.nombre
        if validation.nombre == 0:
            validation.erreur(None, None, "Le lot ne contient aucune ligne.")
        if validation.total_erreurs:
            # The validation went through the whole file (half of the work); the write pass never started.
            traitement.avancement = 50
            _terminer_en_erreur(traitement, validation.erreurs, validation.total_erreurs)
            return _bilan(traitement)
        _journal(traitement, f"Validation : {validation.nombre} ligne(s) correcte(s) "
                             f"en {time.monotonic() - chrono:.1f} s.")
        progression(50)
        chrono = time.monotonic()
        ecrites = _ecrire(traitement, spool_chemin, validation.nombre, progression)
        _journal(traitement, f"Écriture en {time.monotonic() - chrono:.1f} s.")
    finally:
        if os.path.exists(spool_chemin):
            os.unlink(spool_chemin)
    traitement.compteurs = {"lignes": validation.nombre, "ecrites": ecrites,
                            "inchangees": validation.nombre - ecrites, "erreurs": 0}
    traitement.resultat = "succes"
    traitement.avancement = 100
    traitement.erreurs = []
    traitement.fin = traitement.heartbeat = utcnow()
    _journal(traitement, f"Import terminé : {ecrites} ligne(s) créée(s) ou modifiée(s), "
                         f"{validation.nombre - ecrites} inchangée(s).")
    audit.record("import", traitement, {"type": traitement.type, **traitement.compteurs})
    return _bilan(traitement)


def _terminer_en_erreur(traitement: Traitement, erreurs: list, total: int) -> None:
    traitement.resultat = "erreur"
    # By line: a row's reference errors are found after the chunk's other checks.
    traitement.erreurs = sorted(erreurs, key=lambda erreur: erreur["ligne"] or 0)
    traitement.compteurs = {"lignes": traitement.nombre, "ecrites": 0, "inchangees": 0, "erreurs": total}
    traitement.fin = traitement.heartbeat = utcnow()
    suite = f" ({len(erreurs)} premières listées)" if total > len(erreurs) else ""
    _journal(traitement, f"Import refusé : {total} erreur(s){suite} ; aucune donnée n'a été écrite.")
    audit.record("import", traitement, {"type": traitement.type, "erreurs": total})


def _bilan(traitement: Traitement) -> dict:
    return {"traitement": traitement.id, "resultat": traitement.resultat, **(traitement.compteurs or {})}


def _ecrire(traitement: Traitement, spool_chemin: str, nombre: int, progression: Progression) -> int:
    """The write pass: every spooled chunk upserted in the session's transaction; returns rows written."""
    dialecte = db.engine.dialect.name
    upsert = (UpsertCopy if dialecte == "postgresql" else UpsertSqlite)(TYPES[traitement.type])
    maintenant = utcnow()
    constantes = upsert.constantes(maintenant.strftime("%Y-%m-%d %H:%M:%S.%f"))
    curseur = db.session.connection().connection.cursor()
    progression.suspendre_si_sqlite()
    ecrites = faites = 0
    cache = None
    # Invoices and payments: the deposit days touched (before and after the write) get their totals rebuilt.
    totalise = TYPES[traitement.type].model if traitement.type in ("factures", "reglements") else None
    jours = set()
    if dialecte == "sqlite":
        # A larger page cache for the duration of the import: index maintenance stops thrashing (~2x faster).
        cache = curseur.execute("PRAGMA cache_size").fetchone()[0]
        curseur.execute(f"PRAGMA cache_size = -{CACHE_SQLITE_KO}")
    try:
        with open(spool_chemin, "rb") as spool:
            while (bloc := _lire_bloc(spool)) is not None:
                lignes, extras = bloc
                if totalise:
                    jours |= facturation.jours_de_depot(totalise, [ligne[0] for ligne in lignes])
                ecrites += upsert.ecrire(curseur, lignes, constantes, faites)
                if extras is not None:
                    _ventiler(curseur, dialecte, [ligne[0] for ligne in lignes], extras)
                if totalise:
                    jours |= facturation.jours_de_depot(totalise, [ligne[0] for ligne in lignes])
                faites += len(lignes)
                progression(50 + int(50 * faites / nombre))
    finally:
        if cache is not None:
            curseur.execute(f"PRAGMA cache_size = {int(cache)}")
        curseur.close()
    if totalise:
        facturation.recalculer_totaux(totalise, jours)
    return ecrites


def _ventiler(curseur, dialecte: str, numeros: list, extras: list) -> None:
    """Replace the allocations of the payments that carry some, then recompute the invoices' restant dû.

    Unchanged allocations are left alone, so a batch imported twice leaves the same rows.
    """
    marque = "%s" if dialecte == "postgresql" else "?"
    nouvelles = {numero: sorted(extra) for numero, extra in zip(numeros, extras, strict=True) if extra is not None}
    if not nouvelles:
        return
    liste = list(nouvelles)
    ids = {}
    for morceau in _morceaux(liste):
        curseur.execute(f"SELECT numero, id FROM reglements WHERE numero IN ({', '.join([marque] * len(morceau))})",
                        morceau)
        ids.update(curseur.fetchall())
    anciennes: dict[int, list] = {}
    for morceau in _morceaux(list(ids.values())):
        curseur.execute(f"SELECT reglement_id, facture_id, montant FROM ventilations "
                        f"WHERE reglement_id IN ({', '.join([marque] * len(morceau))})", morceau)
        for reglement_id, facture_id, centimes in curseur.fetchall():
            anciennes.setdefault(reglement_id, []).append((facture_id, centimes))
    a_remplacer, a_inserer, factures = [], [], set()
    for numero, nouvelle in nouvelles.items():
        reglement_id = ids[numero]
        ancienne = sorted(anciennes.get(reglement_id, []))
        if ancienne == nouvelle:
            continue
        a_remplacer.append(reglement_id)
        a_inserer.extend((reglement_id, facture_id, centimes) for facture_id, centimes in nouvelle)
        factures.update(f for f, _m in ancienne)
        factures.update(f for f, _m in nouvelle)
    for morceau in _morceaux(a_remplacer):
        curseur.execute(f"DELETE FROM ventilations WHERE reglement_id IN ({', '.join([marque] * len(morceau))})",
                        morceau)
    if a_inserer:
        curseur.executemany(f"INSERT INTO ventilations (reglement_id, facture_id, montant) "
                            f"VALUES ({marque}, {marque}, {marque})", a_inserer)
    plus_grand = "GREATEST" if dialecte == "postgresql" else "MAX"
    for morceau in _morceaux(sorted(factures)):
        curseur.execute(f"UPDATE factures SET restant_du = {plus_grand}(0, montant - "
                        f"(SELECT COALESCE(SUM(v.montant), 0) FROM ventilations v WHERE v.facture_id = factures.id)) "
                        f"WHERE id IN ({', '.join([marque] * len(morceau))})", morceau)


def relancer(traitement: Traitement, agent) -> Traitement:
    """Put a finished run back in the queue from its stored file (admins). The caller enqueues and commits."""
    if traitement.resultat in EN_COURS:
        raise ServiceError("Ce traitement est déjà en attente ou en cours : il ne peut pas être relancé.")
    if not traitement.fichier or not os.path.exists(chemin_fichier(traitement.fichier)):
        raise ServiceError("Le fichier de ce lot n'est plus disponible : relance impossible.")
    traitement.resultat = "en_attente"
    traitement.avancement = 0
    traitement.erreurs = []
    traitement.compteurs = {}
    traitement.debut = traitement.fin = traitement.heartbeat = None
    traitement.job_id = None
    _journal(traitement, f"Relance demandée par {getattr(agent, 'email', 'la ligne de commande')}.")
    audit.record("relancer", traitement, {"type": traitement.type})
    db.session.flush()
    return traitement


def marquer_echec(traitement_id: int, message: str, nouvelle_tentative: bool = False) -> bool:
    """A failed execution: "erreur" with the message, or back to "en attente" when a retry is due.

    Written only while the run is still waiting or running, so a late call never undoes a success.
    The caller commits.
    """
    traitement = db.session.get(Traitement, traitement_id)
    if traitement is None or traitement.resultat not in EN_COURS:
        return False
    if nouvelle_tentative:
        traitement.resultat = "en_attente"
        _journal(traitement, f"Tentative échouée : {message} Nouvelle tentative programmée.")
    else:
        traitement.resultat = "erreur"
        traitement.fin = utcnow()
        traitement.erreurs = [{"ligne": None, "champ": None, "message": message}]
        _journal(traitement, f"Échec : {message}")
    db.session.flush()
    return True


def interrompre(traitement: Traitement, message: str) -> bool:
    """Mark a run found dead by the sweep, only if it is still as the sweep saw it (a live run is never hit).

    The caller commits.
    """
    condition = [Traitement.id == traitement.id, Traitement.resultat == traitement.resultat]
    condition.append(Traitement.heartbeat.is_(None) if traitement.heartbeat is None
                     else Traitement.heartbeat == traitement.heartbeat)
    fait = db.session.execute(
        update(Traitement).where(*condition)
        .values(resultat="erreur", fin=utcnow(), erreurs=[{"ligne": None, "champ": None, "message": message}],
                journal=Traitement.journal + f"{datetime_fr(utcnow())} {message}\n")
        .execution_options(synchronize_session=False)).rowcount
    if fait:
        db.session.expire(traitement)
        audit.record("interrompu", traitement, {"message": message})
        db.session.flush()
    return bool(fait)


def a_verifier() -> list[Traitement]:
    """Runs waiting or running, for the sweep to check; few at any time, found on the resultat index."""
    return list(db.session.scalars(db.select(Traitement).where(Traitement.resultat.in_(EN_COURS))
                                   .order_by(Traitement.id)))
