"""Streamed CSV and XLSX exports of any list, with spreadsheet formulas neutralised."""
import csv
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..formatting import aujourdhui, date_fr, datetime_fr, oui_non

#: A cell starting with one of these is run as a formula by Excel, LibreOffice or Google Sheets.
DANGEREUX = ("=", "+", "-", "@", "\t", "\r")
#: Excel's hard limit, header included.
XLSX_MAX_LIGNES = 1_048_576
#: Types of column: how a value is written in each format.
TYPES = ("texte", "montant", "date", "datetime", "entier", "booleen")


@dataclass(frozen=True)
class Colonne:
    """One exported column: its French header, how to read the value from a row, and its type."""

    titre: str
    valeur: Callable[[Any], Any]
    type: str = "texte"

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"Type de colonne inconnu : {self.type}")


def neutraliser(texte: str) -> str:
    """A text a spreadsheet would run as a formula, prefixed with a quote so it stays text."""
    if texte and texte.startswith(DANGEREUX):
        return "'" + texte
    return texte


def montant_csv(value) -> str:
    """Decimal("1234.5") -> "1234,50": a number French Excel reads, without thousands separator."""
    return f"{Decimal(value):.2f}".replace(".", ",")


def _cellule_csv(colonne: Colonne, row) -> str:
    value = colonne.valeur(row)
    if value is None:
        return ""
    if colonne.type == "montant":
        return montant_csv(value)
    if colonne.type == "date":
        return date_fr(value)
    if colonne.type == "datetime":
        return datetime_fr(value)
    if colonne.type == "booleen":
        return oui_non(value)
    if colonne.type == "entier":
        return str(int(value))
    return neutraliser(str(value))


class _Tampon:
    """A file-like object that hands back what csv.writer writes, so each line can be yielded."""

    def write(self, value: str) -> str:
        return value


def csv_lignes(lignes: Iterable, colonnes: list[Colonne]) -> Iterator[str]:
    """The CSV file line by line: UTF-8 BOM for Excel, semicolon separator, French header and values."""
    writer = csv.writer(_Tampon(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([neutraliser(c.titre) for c in colonnes])
    for row in lignes:
        yield writer.writerow([_cellule_csv(c, row) for c in colonnes])


def _cellule_xlsx(feuille, colonne: Colonne, row) -> WriteOnlyCell:
    value = colonne.valeur(row)
    if value is None:
        return WriteOnlyCell(feuille, value=None)
    if colonne.type == "montant":
        cell = WriteOnlyCell(feuille, value=Decimal(value))
        cell.number_format = '#,##0.00\\ "€"'
    elif colonne.type == "date":
        cell = WriteOnlyCell(feuille, value=value)
        cell.number_format = "DD/MM/YYYY"
    elif colonne.type == "datetime":
        cell = WriteOnlyCell(feuille, value=value)
        cell.number_format = "DD/MM/YYYY HH:MM"
    elif colonne.type == "booleen":
        cell = WriteOnlyCell(feuille, value=oui_non(value))
    elif colonne.type == "entier":
        cell = WriteOnlyCell(feuille, value=int(value))
    else:
        cell = WriteOnlyCell(feuille, value=neutraliser(str(value)))
        # openpyxl turns any string starting with "=" into a formula: force a plain string.
        cell.data_type = "s"
    return cell


def xlsx_fichier(lignes: Iterable, colonnes: list[Colonne], titre: str = "Export") -> str:
    """Write the rows to a temporary XLSX file (openpyxl write-only: constant memory); returns its path."""
    classeur = Workbook(write_only=True)
    feuille = classeur.create_sheet(title=titre[:31])
    feuille.append([neutraliser(c.titre) for c in colonnes])
    for row in lignes:
        feuille.append([_cellule_xlsx(feuille, c, row) for c in colonnes])
    handle, path = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(handle)
    try:
        classeur.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def flux_fichier(path: str, taille: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a temporary file in chunks, then delete it (also when the client goes away)."""
    try:
        with open(path, "rb") as fichier:
            while chunk := fichier.read(taille):
                yield chunk
    finally:
        os.unlink(path)


def nom_fichier(base: str, fmt: str, today: dt.date | None = None) -> str:
    """factures-2026-03-14.csv."""
    return f"{base}-{(today or aujourdhui()).isoformat()}.{fmt}"

