"""The benchmark generator on a tiny volume: counts, consistent links, exact amounts, reproducible, both databases."""
import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from bench.generate import generate, volumes

from .conftest import base_vide
from .test_services_totaux import assert_resume_exact

SCALE = 0.0002
TODAY = dt.date(2026, 1, 15)


def fingerprint(url: str) -> dict:
    """Row counts and a digest of the contents of the main tables."""
    engine = sa.create_engine(url)
    found = {}
    with engine.connect() as conn:
        for table in ("citoyens", "comptes_metier", "individus", "factures", "reglements", "ventilations",
                      "operations", "traitements", "demandes"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
            found[table] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest())
    engine.dispose()
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_generator_fills_consistent_data_with_exact_amounts(backend, tmp_path, request):
    from portail_admin import create_app
    from portail_admin.extensions import db
    from portail_admin.models import CompteMetier, Facture, Operation, Reglement, sum_exact

    url = base_vide(backend, tmp_path, request, "bench_a")
    meta = generate(url, scale=SCALE, today=TODAY, log=lambda _m: None)
    expected = volumes(SCALE)
    assert meta["volumes"] == expected
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        assert count(Facture) == expected["factures"] and count(Reglement) == expected["reglements"]
        assert count(CompteMetier) == expected["comptes_metier"]
        factures = db.session.scalars(sa.select(Facture)).all()
        assert all(f.compte.univers == "enfance" for f in factures)
        assert all(0 <= f.restant_du <= f.montant and (f.montant * 100) % 1 == 0 for f in factures)
        assert sum_exact(Facture.montant) == sum(f.montant for f in factures)
        assert count(Operation) == expected["factures"] + expected["reglements"]
        # The running balance of each family ends at what it was invoiced minus what it paid.
        compte = factures[0].compte_id
        last = db.session.scalars(sa.select(Operation).where(Operation.compte_id == compte)
                                  .order_by(Operation.date.desc(), Operation.type.desc(), Operation.id.desc())).first()
        owed = sum_exact(Facture.montant, Facture.compte_id == compte) - sum_exact(Reglement.encaisse,
                                                                                   Reglement.compte_id == compte)
        assert last.solde == owed
        # The deposit summary is rebuilt after the load.
        assert_resume_exact()
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        db.engine.dispose()


def test_generator_is_reproducible(tmp_path):
    first = f"sqlite:///{tmp_path / 'un.db'}"
    second = f"sqlite:///{tmp_path / 'deux.db'}"
    generate(first, scale=SCALE, today=TODAY, log=lambda _m: None)
    generate(second, scale=SCALE, today=TODAY, log=lambda _m: None)
    assert fingerprint(first) == fingerprint(second)
