"""Prefix search that an ordinary index serves: "starts with" as half-open ranges, in the usual letter cases."""
from sqlalchemy import and_, or_


def prefix_bounds(term: str) -> tuple[str, str]:
    """The half-open range [term, next) holding exactly the strings that start with term (binary order)."""
    last = ord(term[-1])
    return term, term[:-1] + chr(min(last + 1, 0x10FFFF))


def case_variants(term: str) -> list[str]:
    """How names are usually typed: lower case, UPPER CASE, Capitalised; the term itself first."""
    variants = []
    for v in (term, term.lower(), term.upper(), term[:1].upper() + term[1:].lower()):
        if v not in variants:
            variants.append(v)
    return variants


def starts_with(column, term: str):
    """SQL: the column starts with term as typed, in lower case, UPPER CASE or Capitalised (index ranges).

    Ranges rather than LIKE 'term%': the column's ordinary index serves them on SQLite and PostgreSQL alike,
    whatever the collation.
    """
    ranges = []
    for variant in case_variants(term):
        low, high = prefix_bounds(variant)
        ranges.append(and_(column >= low, column < high))
    return or_(*ranges)
