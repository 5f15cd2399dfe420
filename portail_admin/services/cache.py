"""Short-lived, per-app caches for costly aggregates (global totals, monthly and dashboard figures)."""
import time

from flask import current_app

#: Entries kept at most per cache; beyond that the cache starts over (filter signatures are unbounded).
MAX_ENTREES = 512


def _espace(nom: str) -> dict:
    # One cache per app: a test's fresh app never sees another test's figures.
    return current_app.extensions.setdefault(f"cache_{nom}", {})


def memo(nom: str, cle, calcul, ttl: float):
    """calcul() reused for ttl seconds under (nom, cle); ttl 0 computes every time."""
    if not ttl:
        return calcul()
    cache = _espace(nom)
    maintenant = time.monotonic()
    entree = cache.get(cle)
    if entree is None or entree[0] <= maintenant:
        if len(cache) >= MAX_ENTREES:
            cache.clear()
        entree = cache[cle] = (maintenant + ttl, calcul())
    return entree[1]


def vider(nom: str) -> None:
    """Forget every entry of one cache (after a change its figures depend on)."""
    _espace(nom).clear()
