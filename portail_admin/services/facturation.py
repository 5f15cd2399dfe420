"""Invoices and payments: monthly deposit figures."""
from sqlalchemy import func

from ..extensions import db
from ..models import Facture


def depots_mensuels(model) -> list[dict]:
    """Per deposit month, newest first: number of invoices (or payments) and their total amount."""
    amount = model.montant if model is Facture else model.encaisse
    year = func.extract("year", model.date_depot).label("annee")
    month = func.extract("month", model.date_depot).label("mois")
    rows = db.session.execute(
        db.select(year, month, func.count(model.id), func.coalesce(func.sum(amount), 0))
        .group_by(year, month)
        .order_by(year.desc(), month.desc())
    ).all()
    return [{"annee": int(y), "mois": int(m), "nombre": n, "total": total} for y, m, n, total in rows]
