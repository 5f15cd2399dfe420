"""Streamed CSV and XLSX exports: French formats and formulas neutralised."""
import datetime as dt
import io
import os
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from portail_admin.services import exports
from portail_admin.services.exports import Colonne

COLONNES = [
    Colonne("Payeur", lambda r: r.payeur),
    Colonne("Réglé le", lambda r: r.date, "date"),
    Colonne("Encaissé", lambda r: r.montant, "montant"),
    Colonne("En ligne", lambda r: r.en_ligne, "booleen"),
    Colonne("N°", lambda r: r.n, "entier"),
]
DANGEREUX = ['=HYPERLINK("http://evil","x")', "+33 1 23", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def rows(payeurs):
    return [SimpleNamespace(payeur=p, date=dt.date(2018, 10, 29), montant=Decimal("1234.56"), en_ligne=i % 2 == 0,
                            n=i) for i, p in enumerate(payeurs)]


@pytest.mark.parametrize("texte", DANGEREUX)
def test_neutraliser_prefixes_a_quote(texte):
    assert exports.neutraliser(texte) == "'" + texte


def test_neutraliser_leaves_ordinary_text():
    assert exports.neutraliser("DUPONT Marie") == "DUPONT Marie"
    assert exports.neutraliser("") == ""


def test_csv_is_french_excel_csv():
    text = "".join(exports.csv_lignes(rows(["DUPONT Marie", None]), COLONNES))
    assert text.startswith("\ufeffPayeur;Réglé le;Encaissé;En ligne;N°\r\n")
    lines = text.lstrip("\ufeff").split("\r\n")
    assert lines[1] == "DUPONT Marie;29/10/2018;1234,56;Oui;0"
    assert lines[2] == ";29/10/2018;1234,56;Non;1"


def test_csv_neutralises_formulas():
    text = "".join(exports.csv_lignes(rows(DANGEREUX), COLONNES))
    assert "'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")" in text
    for line in text.split("\r\n")[1:]:
        if line:
            assert line[0] in "'\"", line


def test_csv_streams_line_by_line():
    generator = exports.csv_lignes(iter(rows(["a", "b", "c"])), COLONNES)
    assert next(generator).startswith("\ufeffPayeur")
    assert next(generator).startswith("a;")


def test_xlsx_has_numbers_dates_and_neutralised_text():
    path = exports.xlsx_fichier(rows(["DUPONT Marie", *DANGEREUX]), COLONNES, titre="Règlements")
    try:
        feuille = load_workbook(path).active
        assert feuille.title == "Règlements"
        assert [c.value for c in feuille[1]] == ["Payeur", "Réglé le", "Encaissé", "En ligne", "N°"]
        payeur, date, montant, en_ligne, n = feuille[2]
        assert payeur.value == "DUPONT Marie"
        assert date.value == dt.datetime(2018, 10, 29) and date.number_format == "DD/MM/YYYY"
        assert montant.value == 1234.56 and montant.data_type == "n"
        assert en_ligne.value == "Oui" and n.value == 0
        for i, texte in enumerate(DANGEREUX, start=3):
            cell = feuille.cell(row=i, column=1)
            assert cell.data_type == "s"
            # XML reads a stored carriage return back as a line feed.
            assert cell.value == "'" + texte.replace("\r", "\n")
    finally:
        os.unlink(path)


def test_flux_fichier_streams_then_deletes():
    path = exports.xlsx_fichier(rows(["a"]), COLONNES)
    data = b"".join(exports.flux_fichier(path, taille=100))
    assert not os.path.exists(path)
    assert load_workbook(io.BytesIO(data)).active["A2"].value == "a"


def test_unknown_column_type_is_refused():
    with pytest.raises(ValueError):
        Colonne("x", lambda r: r, "formule")


def test_nom_fichier():
    assert exports.nom_fichier("factures", "csv", dt.date(2026, 3, 14)) == "factures-2026-03-14.csv"
