"""Reading an import batch without holding it in memory: JSON list to NDJSON on arrival, NDJSON and CSV rows."""
import codecs
import csv
import json
from collections.abc import Iterator

import orjson

from .. import ServiceError

#: Size of the blocks read from the request body or a file.
BLOC = 1 << 20
#: A single element larger than this in a JSON list is refused (protects memory).
ELEMENT_MAX = 4 << 20


class LotInvalide(ServiceError):
    """A batch whose envelope cannot be read (empty, not a JSON list, not NDJSON...)."""


def copier_ndjson(flux, sortie) -> int:
    """Copy an NDJSON body block by block to sortie; returns its number of lines.

    Only the first non-blank line is parsed here (a body that is not NDJSON at all is refused at once);
    the other lines are checked by the import itself, which reports each bad line with its number.
    """
    lignes = 0
    tete = b""
    dernier = b"\n"
    while bloc := flux.read(BLOC):
        sortie.write(bloc)
        lignes += bloc.count(b"\n")
        dernier = bloc[-1:]
        if len(tete) < ELEMENT_MAX and not _premiere_ligne(tete):
            tete += bloc[:ELEMENT_MAX - len(tete)]
    if dernier != b"\n":
        lignes += 1
    premiere = _premiere_ligne(tete) or tete.strip()
    if not premiere:
        raise LotInvalide("Le lot est vide : aucune ligne NDJSON reçue.")
    try:
        objet = json.loads(premiere)
    except (ValueError, RecursionError) as exc:
        raise LotInvalide(f"Première ligne : ce n'est pas du JSON valide ({_raison(exc)}).") from exc
    if not isinstance(objet, dict):
        raise LotInvalide("Première ligne : chaque ligne NDJSON doit être un objet JSON ({...}).")
    return lignes


def _premiere_ligne(donnees: bytes) -> bytes:
    """The first non-blank complete line of donnees, or b"" when there is none yet."""
    for ligne in donnees.splitlines(keepends=True):
        if ligne.strip():
            return ligne if ligne.endswith((b"\n", b"\r")) else b""
    return b""


def json_vers_ndjson(flux, sortie) -> int:
    """Turn a JSON list read from flux into NDJSON written to sortie, one element per line; returns the count.

    The list is parsed element by element with JSONDecoder.raw_decode over a bounded buffer, so a list of a
    million rows never sits in memory. Each element keeps its original text (newlines outside strings are
    only whitespace, so they become spaces).
    """
    decodeur = json.JSONDecoder()
    texte = codecs.getincrementaldecoder("utf-8")(errors="strict")
    tampon = ""
    position = 0
    fini = False
    etat = "debut"
    compte = 0

    def remplir() -> bool:
        nonlocal tampon, position, fini
        if fini:
            return False
        bloc = flux.read(BLOC)
        try:
            tampon = tampon[position:] + texte.decode(bloc, final=not bloc)
        except UnicodeDecodeError as exc:
            raise LotInvalide("Le corps de la requête n'est pas en UTF-8.") from exc
        position = 0
        if not bloc:
            fini = True
        return True

    def sauter_blancs() -> bool:
        nonlocal position
        while True:
            while position < len(tampon) and tampon[position] in " \t\r\n":
                position += 1
            if position < len(tampon):
                return True
            if not remplir():
                return False

    while True:
        if not sauter_blancs():
            if etat == "fin":
                return compte
            if etat == "debut":
                raise LotInvalide("Le lot est vide : le corps de la requête ne contient rien.")
            raise LotInvalide("Le tableau JSON n'est pas terminé (« ] » manquant).")
        car = tampon[position]
        if etat == "debut":
            if car != "[":
                raise LotInvalide("Le corps doit être un tableau JSON de lignes ([{...}, {...}]).")
            position += 1
            etat = "premier"
        elif etat == "premier" and car == "]":
            raise LotInvalide("Le lot est vide : le tableau JSON ne contient aucune ligne.")
        elif etat in ("premier", "element"):
            while True:
                try:
                    _valeur, fin = decodeur.raw_decode(tampon, position)
                except RecursionError as exc:
                    raise LotInvalide(f"Élément {compte + 1} du tableau : JSON trop imbriqué.") from exc
                except ValueError as exc:
                    if len(tampon) - position > ELEMENT_MAX:
                        raise LotInvalide(f"Élément {compte + 1} du tableau : trop volumineux.") from exc
                    if not remplir():
                        raise LotInvalide(
                            f"Élément {compte + 1} du tableau : JSON invalide ({_raison(exc)}).") from exc
                    continue
                # A value that ends exactly at the buffer's end may continue in the next block (a number).
                if fin == len(tampon) and not fini:
                    remplir()
                    continue
                break
            sortie.write(tampon[position:fin].replace("\n", " ").replace("\r", " ").encode() + b"\n")
            compte += 1
            position = fin
            etat = "apres"
        elif etat == "apres":
            position += 1
            if car == "]":
                etat = "fin"
            elif car == ",":
                etat = "element"
            else:
                raise LotInvalide(f"Après l'élément {compte} du tableau : « , » ou « ] » attendu.")
        elif etat == "fin":
            raise LotInvalide("Du texte suit la fin du tableau JSON.")


def _raison(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg}, colonne {exc.colno}"
    if isinstance(exc, RecursionError):
        return "trop imbriqué"
    return str(exc)


class Lecteur:
    """Iterates a stored batch as (line number, dict or error message); .lus tells the bytes read so far."""

    def __init__(self, chemin: str, format: str):
        self.chemin = chemin
        self.format = format
        self.lus = 0

    def __iter__(self) -> Iterator[tuple[int, dict | str]]:
        if self.format == "csv":
            return self._csv()
        return self._ndjson()

    def _ndjson(self):
        charger = orjson.loads
        with open(self.chemin, "rb") as fichier:
            for numero, brute in enumerate(fichier, start=1):
                self.lus += len(brute)
                try:
                    objet = charger(brute)
                except orjson.JSONDecodeError:
                    # Blank, not UTF-8, or what only the standard parser reads (NaN, lone surrogates...) or
                    # reports in its own words: the slow path decides, as it always did. (One difference: an
                    # integer beyond 64 bits comes as a float from orjson, so a text field refuses it.)
                    objet, message = _ligne_ndjson(brute)
                    if message:
                        yield numero, message
                        continue
                    if objet is None:
                        continue
                if type(objet) is not dict:
                    yield numero, "chaque ligne doit être un objet JSON ({...})."
                    continue
                yield numero, objet

    def _lignes_texte(self, fichier):
        for brute in fichier:
            self.lus += len(brute)
            yield brute.decode("utf-8-sig" if self.lus == len(brute) else "utf-8")

    def _csv(self):
        with open(self.chemin, "rb") as fichier:
            entete = fichier.readline()
            fichier.seek(0)
            separateur = ";" if entete.count(b";") > entete.count(b",") else ","
            lignes = self._lignes_texte(fichier)
            lecteur = csv.reader(lignes, delimiter=separateur)
            try:
                noms = [nom.strip() for nom in next(lecteur)]
            except StopIteration:
                return
            except UnicodeDecodeError:
                yield 1, "encodage invalide (UTF-8 attendu)."
                return
            while True:
                try:
                    valeurs = next(lecteur)
                except StopIteration:
                    return
                except UnicodeDecodeError:
                    yield lecteur.line_num + 1, "encodage invalide (UTF-8 attendu)."
                    return
                except csv.Error as exc:
                    yield lecteur.line_num, f"CSV illisible ({exc})."
                    return
                if not any(v.strip() for v in valeurs):
                    continue
                if len(valeurs) > len(noms):
                    yield lecteur.line_num, f"{len(valeurs)} colonnes pour {len(noms)} en-têtes."
                    continue
                # A short row leaves its last columns absent.
                yield lecteur.line_num, {n: v for n, v in zip(noms, valeurs, strict=False) if v != ""}


def _ligne_ndjson(brute: bytes) -> tuple:
    """One NDJSON line through the standard parser: (value, None), (None, error message), or (None, None) if blank.

    A line reaches it only when orjson refused it, so a value is never null here.
    """
    try:
        texte = brute.decode()
    except UnicodeDecodeError:
        return None, "encodage invalide (UTF-8 attendu)."
    if texte.isspace() or not texte:
        return None, None
    try:
        return json.loads(texte), None
    except (ValueError, RecursionError) as exc:
        return None, f"ce n'est pas du JSON valide ({_raison(exc)})."


def format_de(chemin: str) -> str:
    """"csv" or "ndjson", from the stored file's name."""
    return "csv" if chemin.lower().endswith(".csv") else "ndjson"
