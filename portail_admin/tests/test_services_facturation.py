"""Invoices and payments services: each filter, exact totals, monthly deposits, archiving, detail lookups."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from portail_admin.extensions import db
from portail_admin.models import Audit, CompteMetier, Facture, Operation, Reglement, Ventilation
from portail_admin.services import ServiceError, facturation

D = Decimal
PAYEUR_FORMULE = '=HYPERLINK("http://evil.example","cliquez")'


def jeu_facturation() -> dict:
    """Two families, five invoices (one archived) and five payments (one archived), with allocations.

    F1 10,90 partly paid (R2), F2 1 234,56 partly paid (R1, R4, R5), F3 paid (R2), F4 archived, F5 unpaid.
    R2 pays invoices n° 9028 and 9100: a payment that pays no invoice between n° 9029 and 9099.
    """
    a = CompteMetier(nom="DUPONT", prenom="Marie", emetteur="Divers", code="A1", univers="enfance")
    b = CompteMetier(nom="MARTIN", prenom="Paul", emetteur="Télé-services", code="B1", univers="eau")
    db.session.add_all([a, b])

    def facture(numero, ordre, compte, emission, montant, restant, **kw):
        kw.setdefault("emetteur", compte.emetteur)
        kw.setdefault("univers", compte.univers)
        f = Facture(numero=numero, numero_ordre=ordre, compte=compte, date_emission=emission,
                    date_echeance=emission + dt.timedelta(days=17), montant=D(montant), restant_du=D(restant),
                    date_depot=emission + dt.timedelta(days=1), **kw)
        db.session.add(f)
        return f

    f1 = facture("2018-241-9028", 9028, a, dt.date(2018, 10, 29), "10.90", "0.90", payable_en_ligne=True,
                 contexte="Restauration scolaire")
    f2 = facture("2018-241-9029", 9029, a, dt.date(2018, 11, 15), "1234.56", "234.26", contexte="Accueil de loisirs")
    f3 = facture("2019-300-9100", 9100, b, dt.date(2019, 1, 10), "50.00", "0", payable_en_ligne=True,
                 contexte="Restauration scolaire")
    f4 = facture("2017-100-8000", 8000, b, dt.date(2017, 3, 1), "20.00", "0", contexte="Multi-accueil", archive=True)
    f5 = facture("2019-300-9101", 9101, b, dt.date(2019, 2, 10), "75.00", "75.00", payable_en_ligne=True,
                 contexte="Accueil périscolaire")

    def reglement(numero, ordre, compte, regle_le, payeur, mode, montant, ventilations, **kw):
        kw.setdefault("emetteur", compte.emetteur)
        kw.setdefault("univers", compte.univers)
        r = Reglement(numero=numero, numero_ordre=ordre, compte=compte, regle_le=regle_le, payeur=payeur, mode=mode,
                      encaisse=D(montant), ventile=D(montant), en_ligne=mode == "carte", date_depot=regle_le,
                      ventilations=[Ventilation(facture=f, montant=D(m)) for f, m in ventilations], **kw)
        db.session.add(r)
        return r

    r1 = reglement("123175890", 500, a, dt.date(2018, 11, 20), PAYEUR_FORMULE, "cheque", "1000.00",
                   [(f2, "1000.00")], contexte="Accueil de loisirs")
    r2 = reglement("123175891", 501, b, dt.date(2019, 1, 12), "MARTIN Paul", "carte", "60.00",
                   [(f3, "50.00"), (f1, "10.00")], contexte="Restauration scolaire")
    r3 = reglement("123175892", 502, b, dt.date(2017, 3, 5), "MARTIN Paul", "especes", "20.00", [(f4, "20.00")],
                   archive=True)
    r4 = reglement("123175893", 503, a, dt.date(2019, 2, 1), "DUPONT Marie", "virement", "0.10", [(f2, "0.10")])
    r5 = reglement("123175894", 504, a, dt.date(2019, 2, 2), "DUPONT Marie", "virement", "0.20", [(f2, "0.20")])

    ops = [
        Operation(compte=a, date=dt.date(2018, 10, 29), type="facture", facture=f1, debit=D("10.90"),
                  solde=D("10.90"), libelle="Facture n° 2018-241-9028"),
        Operation(compte=a, date=dt.date(2018, 11, 15), type="facture", facture=f2, debit=D("1234.56"),
                  solde=D("1245.46"), libelle="Facture n° 2018-241-9029"),
        Operation(compte=b, date=dt.date(2019, 1, 10), type="facture", facture=f3, debit=D("50.00"),
                  solde=D("50.00"), libelle="Facture n° 2019-300-9100"),
        Operation(compte=b, date=dt.date(2019, 1, 12), type="reglement", reglement=r2, credit=D("60.00"),
                  solde=D("-10.00"), libelle="Règlement n° 123175891"),
    ]
    db.session.add_all(ops)
    # Rows added by hand, not by an import: the deposit summary is rebuilt as the write paths do.
    facturation.recalculer_totaux()
    db.session.commit()
    return {"a": a, "b": b, "f": [f1, f2, f3, f4, f5], "r": [r1, r2, r3, r4, r5], "ops": ops}


def numeros(model, filtres: dict) -> set[str]:
    rows = db.session.scalars(db.select(model.numero).where(*facturation.criteres(model, filtres)))
    return set(rows)


FACTURES = [
    ({}, {"2018-241-9028", "2018-241-9029", "2019-300-9100", "2019-300-9101"}),
    ({"archives": True}, {"2017-100-8000"}),
    ({"compte": "dupont"}, {"2018-241-9028", "2018-241-9029"}),
    ({"compte": "marie DUP"}, {"2018-241-9028", "2018-241-9029"}),
    ({"compte": "paul"}, {"2019-300-9100", "2019-300-9101"}),
    ({"compte": "%"}, set()),
    ({"compte": "upont"}, set()),
    ({"emetteur": "Télé-services"}, {"2019-300-9100", "2019-300-9101"}),
    ({"contexte": "Restauration scolaire"}, {"2018-241-9028", "2019-300-9100"}),
    ({"univers": "eau"}, {"2019-300-9100", "2019-300-9101"}),
    ({"depot_du": dt.date(2018, 11, 1)}, {"2018-241-9029", "2019-300-9100", "2019-300-9101"}),
    ({"depot_au": dt.date(2018, 12, 31)}, {"2018-241-9028", "2018-241-9029"}),
    ({"depot_du": dt.date(2018, 11, 16), "depot_au": dt.date(2018, 11, 16)}, {"2018-241-9029"}),
    ({"no_du": 9029}, {"2018-241-9029", "2019-300-9100", "2019-300-9101"}),
    ({"no_au": 9028}, {"2018-241-9028"}),
    ({"emise_du": dt.date(2018, 11, 1), "emise_au": dt.date(2018, 12, 31)}, {"2018-241-9029"}),
    ({"emise_au": dt.date(2018, 10, 29)}, {"2018-241-9028"}),
    ({"montant": D("1234.56")}, {"2018-241-9029"}),
    ({"compte": "martin", "contexte": "Restauration scolaire"}, {"2019-300-9100"}),
]

REGLEMENTS = [
    ({}, {"123175890", "123175891", "123175893", "123175894"}),
    ({"archives": True}, {"123175892"}),
    ({"compte": "dupont"}, {"123175890", "123175893", "123175894"}),
    ({"emetteur": "Télé-services"}, {"123175891"}),
    ({"contexte": "Accueil de loisirs"}, {"123175890"}),
    ({"univers": "eau"}, {"123175891"}),
    ({"en_ligne": "oui"}, {"123175891"}),
    ({"en_ligne": "non"}, {"123175890", "123175893", "123175894"}),
    ({"depot_du": dt.date(2019, 1, 1), "depot_au": dt.date(2019, 2, 1)}, {"123175891", "123175893"}),
    ({"no_du": 501, "no_au": 503}, {"123175891", "123175893"}),
    ({"fact_du": 9029, "fact_au": 9099}, {"123175890", "123175893", "123175894"}),
    ({"fact_du": 9100}, {"123175891"}),
    ({"fact_au": 9028}, {"123175891"}),
    ({"montant": D("0.10")}, {"123175893"}),
]


@pytest.mark.parametrize(("filtres", "attendu"), FACTURES)
def test_each_invoice_filter_returns_exactly_its_rows(app, filtres, attendu):
    jeu_facturation()
    assert numeros(Facture, filtres) == attendu


@pytest.mark.parametrize(("filtres", "attendu"), REGLEMENTS)
def test_each_payment_filter_returns_exactly_its_rows(app, filtres, attendu):
    jeu_facturation()
    assert numeros(Reglement, filtres) == attendu


def test_operation_filters(app):
    jeu = jeu_facturation()

    def libelles(filtres):
        return set(db.session.scalars(db.select(Operation.libelle).where(*facturation.criteres(Operation, filtres))))

    assert libelles({"compte": "dupont"}) == {"Facture n° 2018-241-9028", "Facture n° 2018-241-9029"}
    assert libelles({"compte_id": jeu["b"].id}) == {"Facture n° 2019-300-9100", "Règlement n° 123175891"}
    assert libelles({"du": dt.date(2018, 11, 1), "au": dt.date(2019, 1, 10)}) == {
        "Facture n° 2018-241-9029", "Facture n° 2019-300-9100"}
    assert libelles({"type": "reglement"}) == {"Règlement n° 123175891"}


def test_payment_totals_are_exact_decimal_sums(app):
    jeu_facturation()
    # 0,10 + 0,20 is 0.30000000000000004 in floats: the total must stay exact to the cent.
    assert facturation.total_reglements({}) == D("1060.30")
    assert facturation.total_reglements({"en_ligne": "non"}) == D("1000.30")
    assert facturation.total_reglements({"archives": True}) == D("20.00")
    assert facturation.total_reglements({"compte": "personne"}) == D("0")
    for filtres, _attendu in REGLEMENTS:
        expected = sum((r.encaisse for r in db.session.scalars(
            db.select(Reglement).where(*facturation.criteres(Reglement, filtres)))), D("0"))
        assert facturation.total_reglements(filtres) == expected


def test_totals_match_python_sum_on_demo_data(app, demo_data):
    rows = db.session.scalars(db.select(Reglement).where(Reglement.archive.is_(False))).all()
    assert facturation.total_reglements({}) == sum((r.encaisse for r in rows), D("0"))
    assert isinstance(facturation.total_reglements({}), Decimal)


def test_summary_totals_are_fresh_and_other_filters_cached_until_archiving(app):
    jeu = jeu_facturation()
    app.config["FACTURATION_CACHE_SECONDES"] = 60
    r1 = jeu["r"][0]
    assert facturation.total_reglements({}) == D("1060.30")
    assert facturation.total_reglements({"compte": "dupont"}) == D("1000.30")
    # A change written elsewhere (and its summary days rebuilt, as every write path does) shows at once...
    db.session.execute(db.update(Reglement).where(Reglement.id == r1.id).values(encaisse=D("1")))
    facturation.recalculer_totaux(Reglement, [r1.date_depot])
    assert facturation.total_reglements({}) == D("61.30")
    # ...while a total under a filter the summary cannot answer is reused until the cache is emptied.
    assert facturation.total_reglements({"compte": "dupont"}) == D("1000.30")
    facturation.archiver(Reglement, [jeu["r"][3].id])
    assert facturation.total_reglements({"compte": "dupont"}) == D("1.20")
    assert facturation.total_reglements({}) == D("61.20")


@pytest.mark.parametrize("model", [Facture, Reglement])
def test_monthly_deposits_equal_a_direct_sql_aggregate(app, demo_data, model):
    rows = facturation.depots_mensuels(model)
    assert rows, "les données de démonstration ont des dépôts"
    table, colonne = (("factures", "montant") if model is Facture else ("reglements", "encaisse"))
    total_rows = 0
    for row in rows:
        debut = dt.date(row["annee"], row["mois"], 1)
        fin = dt.date(row["annee"] + (row["mois"] == 12), row["mois"] % 12 + 1, 1)
        nombre, cents = db.session.execute(text(
            f"SELECT COUNT(*), COALESCE(SUM({colonne}), 0) FROM {table} WHERE date_depot >= :d AND date_depot < :f"),
            {"d": debut, "f": fin}).one()
        assert row["nombre"] == nombre
        assert row["total"] == D(cents) / 100
        total_rows += nombre
    assert total_rows == db.session.scalar(text(f"SELECT COUNT(*) FROM {table}"))
    assert [(r["annee"], r["mois"]) for r in rows] == sorted(((r["annee"], r["mois"]) for r in rows), reverse=True)


def test_last_twelve_months_fill_missing_months_with_zero(app):
    jeu_facturation()
    derniers = facturation.derniers_mois(facturation.depots_mensuels(Facture), dt.date(2019, 2, 20))
    assert [(r["annee"], r["mois"]) for r in derniers] == [(2018, m) for m in range(3, 13)] + [(2019, 1), (2019, 2)]
    par_mois = {(r["annee"], r["mois"]): (r["nombre"], r["total"]) for r in derniers}
    assert par_mois[(2018, 10)] == (1, D("10.90"))
    assert par_mois[(2018, 11)] == (1, D("1234.56"))
    assert par_mois[(2019, 2)] == (1, D("75.00"))
    assert par_mois[(2018, 12)] == (0, D("0"))


def test_archiving_changes_only_the_flag_and_is_audited(app):
    jeu = jeu_facturation()
    f1, f2 = jeu["f"][0], jeu["f"][1]
    assert facturation.archiver(Facture, [f1.id, str(f2.id)]) == 2
    assert facturation.archiver(Facture, [f1.id]) == 0
    db.session.commit()
    assert db.session.get(Facture, f1.id).archive is True
    assert db.session.get(Facture, f1.id).montant == D("10.90")
    entries = db.session.scalars(db.select(Audit).where(Audit.action == "archiver")).all()
    assert {(e.objet_type, e.objet_id) for e in entries} == {("Facture", str(f1.id)), ("Facture", str(f2.id))}
    assert facturation.archiver(Facture, [f1.id], archive=False) == 1
    assert db.session.get(Facture, f1.id).archive is False
    with pytest.raises(ServiceError):
        facturation.archiver(Operation, [1])


def test_detail_lookups(app):
    jeu = jeu_facturation()
    f1, f2 = jeu["f"][0], jeu["f"][1]
    r1, r2 = jeu["r"][0], jeu["r"][1]
    assert [(v.reglement.numero, v.montant) for v in facturation.reglements_de_facture(f2)] == [
        ("123175890", D("1000.00")), ("123175893", D("0.10")), ("123175894", D("0.20"))]
    assert [v.facture.numero for v in facturation.factures_de_reglement(r2)] == ["2018-241-9028", "2019-300-9100"]
    assert [v.facture.numero for v in facturation.factures_de_reglement(r1)] == ["2018-241-9029"]
    assert [v.reglement.numero for v in facturation.reglements_de_facture(f1)] == ["123175891"]


def test_contexts_for_the_filter(app):
    jeu_facturation()
    assert facturation.contextes(Facture) == ["Accueil de loisirs", "Accueil périscolaire", "Multi-accueil",
                                              "Restauration scolaire"]
