"""Money is exact: Decimal in Python, integer cents in the database, sums exact to the cent on both databases."""
import datetime as dt
import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.formatting import euros
from portail_admin.models import CompteMetier, Facture, Reglement, sum_exact

from .conftest import base_vide


def amounts(n=3000, seed=7):
    rng = random.Random(seed)
    return [Decimal(rng.randint(1, 99_999_99)) / 100 for _ in range(n)]


def _load_and_sum(url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    values = amounts()
    with app.app_context():
        db.drop_all()
        db.create_all()
        compte = CompteMetier(emetteur="Divers", code="X1", nom="TEST")
        db.session.add(compte)
        db.session.flush()
        db.session.execute(sa.insert(Facture), [
            {"numero": f"F{i}", "numero_ordre": i, "compte_id": compte.id, "date_emission": dt.date(2024, 1, 1),
             "date_depot": dt.date(2024, 1, 1), "montant": v, "restant_du": v, "archive": i % 3 == 0}
            for i, v in enumerate(values)])
        db.session.commit()
        total = sum_exact(Facture.montant)
        archived = sum_exact(Facture.montant, Facture.archive.is_(True))
        stored = db.session.scalar(sa.select(Facture.montant).where(Facture.numero == "F5"))
        empty = sum_exact(Reglement.encaisse)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return values, total, archived, stored, empty


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_filtered_sum_equals_sum_of_decimals_to_the_cent(backend, tmp_path, request):
    url = base_vide(backend, tmp_path, request, "money")
    values, total, archived, stored, empty = _load_and_sum(url)
    assert isinstance(total, Decimal) and total == sum(values)
    assert archived == sum(v for i, v in enumerate(values) if i % 3 == 0)
    assert stored == values[5] and stored.as_tuple().exponent == -2
    assert empty == Decimal("0")


def test_amounts_with_fractions_of_cents_are_refused(app):
    compte = CompteMetier(emetteur="Divers", code="X2", nom="TEST")
    db.session.add(compte)
    db.session.flush()
    db.session.add(Facture(numero="F1", numero_ordre=1, compte=compte, date_emission=dt.date(2024, 1, 1),
                           date_depot=dt.date(2024, 1, 1), montant=Decimal("10.005"), restant_du=Decimal("0")))
    with pytest.raises(sa.exc.StatementError, match="centime"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("value,text", [(Decimal("1234.56"), "1\u00a0234,56\u00a0€"), (Decimal("0"), "0,00\u00a0€"),
                                        (Decimal("878509.72"), "878\u00a0509,72\u00a0€"),
                                        (Decimal("-10.9"), "-10,90\u00a0€"), (None, "")])
def test_euros_are_shown_the_french_way(value, text):
    assert euros(value) == text
