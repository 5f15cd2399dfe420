"""The server-side SVG bar chart: valid markup, one titled bar per value, escaping, zero months."""
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from markupsafe import Markup

from portail_admin.charts import bar_chart_svg
from portail_admin.formatting import euros

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: Markup) -> ET.Element:
    return ET.fromstring(str(svg))


def test_one_series_draws_one_titled_bar_per_label():
    svg = bar_chart_svg({"Montant": [Decimal("1234.56"), 0, Decimal("10.90")]}, ["10/2018", "11/2018", "12/2018"],
                        title="Montant des factures déposées", value_format=euros)
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Montant des factures déposées"
    assert "10/2018 : 1\u00a0234,56\u00a0€" in root.find(f"{SVG}desc").text
    bars = root.findall(f"{SVG}rect")
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "10/2018 : 1\u00a0234,56\u00a0€", "11/2018 : 0,00\u00a0€", "12/2018 : 10,90\u00a0€"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == 0 and heights[0] > heights[2] > 0
    assert "<script" not in str(svg)


def test_several_series_are_grouped_with_a_legend():
    svg = bar_chart_svg({"Factures": [3, 5], "Règlements": [2, 0]}, ["janv.", "févr."], title="Dépôts")
    root = parse(svg)
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "janv. — Factures : 3" in titles and "févr. — Règlements : 0" in titles
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Factures" in texts and "Règlements" in texts
    # Counts: whole-number graduations only.
    assert all("." not in t for t in texts if t and t[0].isdigit())


def test_text_is_escaped():
    svg = bar_chart_svg({"<b>": [1]}, ["<script>alert(1)</script>"], title='"><img src=x>')
    assert "<script>" not in str(svg) and "<img" not in str(svg)
    root = parse(svg)
    assert root.find(f"{SVG}title").text == '"><img src=x>'


def test_all_zero_and_negative_values():
    parse(bar_chart_svg({"Montant": [0, 0]}, ["a", "b"], title="Rien"))
    root = parse(bar_chart_svg({"Solde": [Decimal("-5.5"), Decimal("10")]}, ["a", "b"], title="Soldes"))
    bars = root.findall(f"{SVG}rect")
    assert all(float(b.get("height")) > 0 for b in bars)


def test_each_series_needs_one_value_per_label():
    with pytest.raises(ValueError):
        bar_chart_svg({"Montant": [1, 2]}, ["a"], title="x")
