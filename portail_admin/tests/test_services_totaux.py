"""The deposit summary (totaux_depots): equal to the invoices and payments after every write path, fresh totals."""
import datetime as dt
import io
import json
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.models import CompteMetier, Facture, Reglement, TotalDepot, sum_exact
from portail_admin.services import facturation, synchro

from .conftest import base_vide
from .test_services_facturation import jeu_facturation

D = Decimal


def direct(model) -> list[tuple]:
    """What the summary must hold for a table, by a GROUP BY over the table itself."""
    montant = model.montant if model is Facture else model.encaisse
    en_ligne = [model.en_ligne] if model is Reglement else []
    groupe = [model.date_depot, model.emetteur, model.contexte, model.univers, model.archive, *en_ligne]
    rows = db.session.execute(sa.select(*groupe, sa.func.count(), sa.func.sum(montant)).group_by(*groupe)).all()
    if model is Facture:
        rows = [(*row[:5], False, *row[5:]) for row in rows]
    return sorted((*row[:6], int(row[6]), row[7]) for row in rows)


def resume(model) -> list[tuple]:
    """The summary's rows for a table, in the same shape as direct()."""
    t = TotalDepot
    return sorted(tuple(row) for row in db.session.execute(
        sa.select(t.date_depot, t.emetteur, t.contexte, t.univers, t.archive, t.en_ligne, t.nombre, t.total)
        .where(t.nature == model.__tablename__)))


def assert_resume_exact():
    for model in (Facture, Reglement):
        assert resume(model) == direct(model), model.__tablename__


def importer(type_import, lignes):
    """Receive a batch and run it in this process, as the import job does."""
    traitement = synchro.recevoir(type_import, io.BytesIO(json.dumps(lignes).encode()), "json")
    db.session.commit()
    traitement = synchro.demarrer(traitement.id, None)
    db.session.commit()
    synchro.importer(traitement)
    db.session.commit()
    assert traitement.resultat == "succes", traitement.erreurs
    return traitement


COMPTES = [{"code": "F001", "nom": "MARTIN", "prenom": "Julie"}, {"code": "F002", "nom": "DURAND", "prenom": "Marc"}]
FACTURES = [
    {"numero": "F-1", "compte": "F001", "date_emission": "2025-01-10", "date_depot": "2025-01-11", "montant": "40.10",
     "emetteur": "Divers", "contexte": "Restauration scolaire"},
    {"numero": "F-2", "compte": "F001", "date_emission": "2025-01-10", "date_depot": "2025-01-11", "montant": "0.20",
     "emetteur": "Divers", "contexte": "Restauration scolaire"},
    {"numero": "F-3", "compte": "F002", "date_emission": "2025-02-10", "date_depot": "2025-02-12", "montant": "25.50",
     "emetteur": "Télé-services", "contexte": "Accueil de loisirs", "archive": True},
]
REGLEMENTS = [
    {"numero": "R-1", "compte": "F001", "regle_le": "2025-03-01", "date_depot": "2025-03-02", "mode": "carte",
     "encaisse": "30.10", "en_ligne": True, "contexte": "Restauration scolaire"},
    {"numero": "R-2", "compte": "F001", "regle_le": "2025-03-01", "date_depot": "2025-03-02", "mode": "cheque",
     "encaisse": "0.10", "contexte": "Restauration scolaire"},
    {"numero": "R-3", "compte": "F002", "regle_le": "2025-03-05", "date_depot": "2025-03-06", "mode": "especes",
     "encaisse": "0.20", "emetteur": "Télé-services"},
]


def test_imports_keep_the_summary_exact_even_when_rows_move_to_another_day(app):
    importer("comptes", COMPTES)
    importer("factures", FACTURES)
    importer("reglements", REGLEMENTS)
    assert_resume_exact()
    assert facturation.total_reglements({}) == D("30.40")
    assert [(r["annee"], r["mois"], r["nombre"], r["total"]) for r in facturation.depots_mensuels(Facture)] == [
        (2025, 2, 1, D("25.50")), (2025, 1, 2, D("40.30"))]

    # Re-imported: R-1 changes amount, R-2 moves to another deposit day, R-3 is archived; F-1 moves month.
    importer("reglements", [{**REGLEMENTS[0], "encaisse": "31.00"}, {**REGLEMENTS[1], "date_depot": "2025-04-01"},
                            {**REGLEMENTS[2], "archive": True}])
    importer("factures", [{**FACTURES[0], "date_depot": "2025-02-01"}])
    assert_resume_exact()
    # The day R-2 left keeps only R-1; the summary holds no row for a day that lost all its rows.
    jours = {row[0] for row in resume(Reglement)}
    assert jours == {dt.date(2025, 3, 2), dt.date(2025, 3, 6), dt.date(2025, 4, 1)}
    assert facturation.total_reglements({}) == D("31.10")
    assert facturation.total_reglements({"archives": True}) == D("0.20")
    assert [(r["annee"], r["mois"], r["nombre"], r["total"]) for r in facturation.depots_mensuels(Facture)] == [
        (2025, 2, 2, D("65.60")), (2025, 1, 1, D("0.20"))]

    # The same batch again changes nothing.
    avant = resume(Reglement)
    importer("reglements", [{**REGLEMENTS[0], "encaisse": "31.00"}])
    assert resume(Reglement) == avant


def test_archiving_and_unarchiving_keep_the_summary_exact(app):
    jeu = jeu_facturation()
    assert_resume_exact()
    assert facturation.archiver(Reglement, [r.id for r in jeu["r"][:2]]) == 2
    assert facturation.archiver(Facture, [jeu["f"][0].id]) == 1
    db.session.commit()
    assert_resume_exact()
    assert facturation.total_reglements({}) == D("0.30")
    assert facturation.total_reglements({"archives": True}) == D("1080.00")
    facturation.archiver(Reglement, [jeu["r"][0].id, jeu["r"][2].id], archive=False)
    db.session.commit()
    assert_resume_exact()
    assert facturation.total_reglements({}) == D("1020.30")


def test_demo_data_fills_the_summary(app, demo_data):
    assert resume(Reglement), "les données de démonstration ont des règlements"
    assert_resume_exact()


SUMMARY_FILTERS = [
    {},
    {"archives": True},
    {"emetteur": "Divers"},
    {"emetteur": "Télé-services"},
    {"contexte": "Restauration scolaire"},
    {"contexte": "Multi-accueil", "archives": True},
    {"univers": "enfance"},
    {"univers": "eau"},
    {"en_ligne": "oui"},
    {"en_ligne": "non"},
    {"depot_du": dt.date.today() - dt.timedelta(days=200)},
    {"depot_au": dt.date.today() - dt.timedelta(days=200)},
    {"depot_du": dt.date.today() - dt.timedelta(days=400), "depot_au": dt.date.today() - dt.timedelta(days=100),
     "emetteur": "Divers", "en_ligne": "non", "contexte": "Accueil de loisirs", "univers": "enfance"},
    {"depot_du": dt.date(1999, 1, 1), "depot_au": dt.date(1999, 12, 31)},
]


@pytest.mark.parametrize("filtres", SUMMARY_FILTERS)
def test_totals_from_the_summary_equal_the_payments_sum(app, demo_data, filtres):
    attendu = sum_exact(Reglement.encaisse, *facturation.criteres(Reglement, filtres))
    statements = []

    def noter(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", noter)
    try:
        total = facturation.total_reglements(filtres)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", noter)
    assert total == attendu and isinstance(total, Decimal)
    assert len(statements) == 1 and "totaux_depots" in statements[0] and "FROM reglements" not in statements[0]
    if filtres in ({}, {"en_ligne": "non"}):
        assert total > 0


def test_a_total_changed_by_another_process_shows_at_once(app, database_url):
    importer("comptes", COMPTES)
    importer("reglements", REGLEMENTS)
    app.config["FACTURATION_CACHE_SECONDES"] = 60
    assert facturation.total_reglements({}) == D("30.40")
    assert facturation.total_reglements({"en_ligne": "oui", "depot_du": dt.date(2025, 3, 1)}) == D("30.10")
    assert facturation.depots_mensuels(Reglement)[0]["total"] == D("30.40")
    db.session.commit()
    # An RQ worker (another process, its own app and connection) imports and archives.
    worker = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None,
                         "IMPORTS_FOLDER": app.config["IMPORTS_FOLDER"]})
    with worker.app_context():
        importer("reglements", [{**REGLEMENTS[0], "encaisse": "100.00"}])
        facturation.archiver(Reglement, [db.session.scalar(sa.select(Reglement.id).where(Reglement.numero == "R-3"))])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    assert facturation.total_reglements({}) == D("100.10")
    assert facturation.total_reglements({"en_ligne": "oui", "depot_du": dt.date(2025, 3, 1)}) == D("100.00")
    assert facturation.depots_mensuels(Reglement)[0]["total"] == D("100.30")


def test_progress_written_between_chunks_never_waits_on_the_import(app, database_url, monkeypatch):
    """The summary's lookups must not flush the run's pending changes: its row would then be locked by the import
    while the progress connection updates it (PostgreSQL; SQLite writes no progress during the write pass)."""
    options = {"connect_args": {"options": "-c lock_timeout=3000"}} if database_url.startswith("postgres") else {}
    worker = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None,
                         "IMPORTS_FOLDER": app.config["IMPORTS_FOLDER"], "SQLALCHEMY_ENGINE_OPTIONS": options})
    monkeypatch.setattr(synchro, "TAILLE_BLOC", 1)
    monkeypatch.setattr(synchro.Progression, "INTERVALLE", 0)
    db.session.commit()
    with worker.app_context():
        importer("comptes", COMPTES)
        traitement = importer("factures", FACTURES)
        assert traitement.avancement == 100
        assert_resume_exact()
        db.session.remove()
        db.engine.dispose()


def test_recalculer_totaux_command_rebuilds_the_summary(app, runner):
    jeu_facturation()
    db.session.execute(sa.delete(TotalDepot))
    db.session.execute(sa.update(Reglement).values(contexte="Multi-accueil"))
    db.session.commit()
    result = runner.invoke(args=["recalculer-totaux"])
    assert result.exit_code == 0, result.output
    assert "Totaux des dépôts recalculés (factures) : 5 ligne(s)" in result.output
    assert "Totaux des dépôts recalculés (reglements) : 5 ligne(s)" in result.output
    assert_resume_exact()
    assert facturation.total_reglements({"contexte": "Multi-accueil"}) == D("1060.30")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0002_fills_the_summary_from_existing_rows(backend, tmp_path, request):
    url = base_vide(backend, tmp_path, request, "totaux_0002")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(revision="0001")
        compte = CompteMetier(emetteur="Divers", code="A1", nom="DUPONT")
        db.session.add(compte)
        for n, (jour, montant, archive) in enumerate([(dt.date(2024, 5, 2), "0.10", False),
                                                       (dt.date(2024, 5, 2), "0.20", False),
                                                       (dt.date(2024, 5, 2), "9.99", True),
                                                       (dt.date(2024, 6, 1), "1234.56", False)]):
            db.session.add(Facture(numero=f"F{n}", numero_ordre=n, compte=compte, date_emission=jour,
                                   montant=D(montant), restant_du=D(montant), date_depot=jour, archive=archive))
            db.session.add(Reglement(numero=f"R{n}", numero_ordre=n, compte=compte, regle_le=jour, mode="carte",
                                     encaisse=D(montant), ventile=D(0), en_ligne=n % 2 == 0, date_depot=jour,
                                     archive=archive))
        db.session.commit()
        upgrade()
        try:
            assert_resume_exact()
            assert len(resume(Reglement)) == 4 and len(resume(Facture)) == 3
            assert facturation.total_reglements({}) == D("1234.86")
        finally:
            db.session.remove()
            db.engine.dispose()


def test_two_writers_rebuilding_the_same_day_both_succeed(app, database_url):
    """Two workers archive payments of the same deposit day at the same time: the second waits, nothing collides."""
    jeu = jeu_facturation()
    premier, second = jeu["r"][3], jeu["r"][4]
    second.date_depot = premier.date_depot
    facturation.recalculer_totaux(Reglement)
    db.session.commit()
    ids = premier.id, second.id
    worker = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None})
    erreurs, demarre = [], threading.Event()

    def archiver_le_second():
        with worker.app_context():
            try:
                demarre.set()
                facturation.archiver(Reglement, [ids[1]])
                db.session.commit()
            except Exception as exc:  # reported by the assertion below
                erreurs.append(exc)
            finally:
                db.session.remove()

    facturation.archiver(Reglement, [ids[0]])  # rebuilt, not yet committed
    fil = threading.Thread(target=archiver_le_second)
    fil.start()
    demarre.wait(5)
    time.sleep(0.5)
    db.session.commit()
    fil.join(30)
    with worker.app_context():
        db.engine.dispose()
    assert not fil.is_alive() and erreurs == []
    assert_resume_exact()
    assert facturation.total_reglements({"archives": True}) == D("20.30")
