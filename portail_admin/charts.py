"""Charts drawn on the server as inline SVG: no script, works offline, readable by screen readers."""
import math
import zlib
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

#: Bar colours, one per series (contrast ≥ 3:1 on white).
COULEURS = ("#2f6ea5", "#c9731c", "#3b8a4f", "#8e44ad")


def _pas_rond(etendue: float, graduations: int) -> float:
    """A round step (1, 2, 5 × 10^n) so that about `graduations` steps cover `etendue`."""
    brut = etendue / graduations
    puissance = 10 ** math.floor(math.log10(brut))
    for multiple in (1, 2, 5, 10):
        if multiple * puissance >= brut:
            return multiple * puissance
    return 10 * puissance


def _fmt(nombre: float) -> str:
    """SVG coordinates: short, no exponent."""
    return f"{nombre:.1f}".rstrip("0").rstrip(".")


def bar_chart_svg(
    series: Mapping[str, Sequence],
    labels: Sequence[str],
    *,
    title: str,
    value_format: Callable = str,
    width: int = 720,
    height: int = 260,
    colors: Sequence[str] = COULEURS,
    id_prefix: str | None = None,
) -> Markup:
    """A bar chart (grouped bars when several series) as inline SVG.

    `series` maps each series' name to one value per label (int, float or Decimal; None counts as 0).
    `value_format` turns a value into text for the axis and the tooltips, e.g. `formatting.euros`.
    Every bar carries a <title> ("label — series : value") and the chart a <title> and <desc>.
    """
    noms = list(series)
    valeurs = {nom: [v or 0 for v in series[nom]] for nom in noms}
    for nom in noms:
        if len(valeurs[nom]) != len(labels):
            raise ValueError(f"La série « {nom} » n'a pas une valeur par libellé.")
    empreinte = zlib.crc32("|".join([title, *labels, *noms]).encode())
    ident = escape(id_prefix or f"graphique-{empreinte:08x}")

    toutes = [float(v) for nom in noms for v in valeurs[nom]] or [0.0]
    haut, bas = max(0.0, *toutes), min(0.0, *toutes)
    if haut == bas:
        haut = 1.0
    pas = _pas_rond(haut - bas, 5)
    if all(v.is_integer() for v in toutes):
        # Counts: no half-invoice graduations.
        pas = max(1.0, math.ceil(pas))
    haut = math.ceil(haut / pas) * pas
    bas = math.floor(bas / pas) * pas

    legende = 22 if len(noms) > 1 else 0
    gauche, droite, dessus, dessous = 86, 10, 12 + legende, 34
    zone_l, zone_h = width - gauche - droite, height - dessus - dessous

    def y(valeur: float) -> float:
        return dessus + (haut - valeur) / (haut - bas) * zone_h

    resume = " ; ".join(
        f"{label} : " + ", ".join(f"{nom} {value_format(valeurs[nom][i])}" if len(noms) > 1
                                  else value_format(valeurs[nom][i]) for nom in noms)
        for i, label in enumerate(labels))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graphique" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" aria-labelledby="{ident}-titre {ident}-desc">',
        f'<title id="{ident}-titre">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(resume)}</desc>',
    ]
    graduation = bas
    while graduation <= haut + pas / 2:
        gy = _fmt(y(graduation))
        parts.append(f'<line x1="{gauche}" x2="{width - droite}" y1="{gy}" y2="{gy}" stroke="#ddd" />')
        parts.append(f'<text x="{gauche - 6}" y="{gy}" dy="0.32em" text-anchor="end" font-size="11" '
                     f'fill="#555">{escape(value_format(_nombre(graduation, toutes)))}</text>')
        graduation += pas
    if labels:
        groupe = zone_l / len(labels)
        barre = groupe * 0.72 / len(noms)
        for i, label in enumerate(labels):
            x0 = gauche + i * groupe + groupe * 0.14
            for k, nom in enumerate(noms):
                valeur = valeurs[nom][i]
                top, base = y(max(float(valeur), 0.0)), y(min(float(valeur), 0.0))
                info = f"{label} — {nom} : {value_format(valeur)}" if len(noms) > 1 else \
                    f"{label} : {value_format(valeur)}"
                parts.append(
                    f'<rect x="{_fmt(x0 + k * barre)}" y="{_fmt(top)}" width="{_fmt(barre)}" '
                    f'height="{_fmt(base - top)}" fill="{escape(colors[k % len(colors)])}">'
                    f'<title>{escape(info)}</title></rect>')
            parts.append(f'<text x="{_fmt(gauche + (i + 0.5) * groupe)}" y="{height - dessous + 16}" '
                         f'text-anchor="middle" font-size="11" fill="#333">{escape(label)}</text>')
    zero = _fmt(y(0))
    parts.append(f'<line x1="{gauche}" x2="{width - droite}" y1="{zero}" y2="{zero}" stroke="#666" />')
    if legende:
        for k, nom in enumerate(noms):
            lx = gauche + k * 170
            parts.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{escape(colors[k % len(colors)])}" />')
            parts.append(f'<text x="{lx + 17}" y="14" font-size="12" fill="#333">{escape(nom)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nombre(graduation: float, valeurs: list[float]):
    """An axis value in the series' own kind: whole numbers stay int, others keep two decimals."""
    if all(float(v).is_integer() for v in valeurs) and float(graduation).is_integer():
        return int(graduation)
    return round(graduation, 2)
