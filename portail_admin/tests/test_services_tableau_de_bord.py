"""The dashboard's figures: new and late requests, last imports, overdue invoices, monthly deposits."""
import datetime as dt
from decimal import Decimal

from portail_admin.extensions import db
from portail_admin.models import CompteMetier, Demande, Facture, Parametre, Reglement, Traitement
from portail_admin.services import facturation, parametres
from portail_admin.services.tableau_de_bord import debut_hier, depots_annee, tableau_de_bord

#: 28/11/2026 09:00 UTC = 10:00 in Paris.
NOW = dt.datetime(2026, 11, 28, 9, 0)
TODAY = NOW.date()


def _compte():
    compte = CompteMetier(emetteur="Divers", code="C1", nom="MARTIN", prenom="Léa")
    db.session.add(compte)
    db.session.flush()
    return compte


def _demande(n, age, kind="contact", etat="a_traiter"):
    db.session.add(Demande(reference=f"D2026-{n:06d}", created_at=NOW - age, email=f"f{n}@exemple.fr", type=kind,
                           etat=etat))


def _facture(compte, n, montant, restant_du, echeance=None, depot=TODAY, archive=False):
    db.session.add(Facture(numero=f"F{n}", numero_ordre=n, compte=compte, date_emission=depot,
                           date_echeance=echeance, montant=Decimal(montant), restant_du=Decimal(restant_du),
                           date_depot=depot, archive=archive))


def _reglement(compte, n, montant, depot):
    db.session.add(Reglement(numero=f"R{n}", numero_ordre=n, compte=compte, regle_le=depot, mode="cheque",
                             encaisse=Decimal(montant), ventile=Decimal(montant), date_depot=depot))


def test_yesterday_starts_at_midnight_paris_time(app):
    # Winter: Paris is UTC+1, so yesterday's midnight in Paris is 23:00 UTC the day before.
    assert debut_hier(NOW) == dt.datetime(2026, 11, 26, 23, 0)
    # Summer: UTC+2; and just after midnight in Paris, "yesterday" is the Paris day before.
    assert debut_hier(dt.datetime(2026, 7, 1, 22, 30)) == dt.datetime(2026, 6, 30, 22, 0)


def test_new_requests_are_those_since_yesterday_midnight(app):
    _demande(1, dt.timedelta(hours=1))
    _demande(2, dt.timedelta(hours=33))  # 27/11 01:00 Paris: yesterday
    _demande(3, dt.timedelta(hours=35))  # 26/11 23:00 Paris: the day before
    db.session.commit()
    tdb = tableau_de_bord(NOW)
    assert tdb.nouvelles_demandes == 2
    assert tdb.depuis_date == dt.date(2026, 11, 27)


def test_late_requests_are_open_ones_older_than_their_types_threshold(app):
    parametres.ensure_defaults()  # contact 3 days, réservation 2, dossier famille 5
    _demande(1, dt.timedelta(days=4))  # contact, late
    _demande(2, dt.timedelta(days=2))  # contact, in time
    _demande(3, dt.timedelta(days=3), kind="reservation", etat="transmise")  # late
    _demande(4, dt.timedelta(days=4), kind="dossier_famille", etat="a_transmettre")  # in time
    _demande(5, dt.timedelta(days=30), etat="traitee")  # closed: never late
    db.session.commit()
    assert tableau_de_bord(NOW).demandes_en_retard == 2

    db.session.get(Parametre, "delai_contact").valeur = "1"
    db.session.commit()
    assert tableau_de_bord(NOW).demandes_en_retard == 3


def test_an_unreadable_threshold_falls_back_to_the_default(app):
    parametres.ensure_defaults()
    db.session.get(Parametre, "delai_contact").valeur = "trois"
    _demande(1, dt.timedelta(days=4))
    db.session.commit()
    assert tableau_de_bord(NOW).demandes_en_retard == 1


def test_last_imports_newest_first_and_bounded(app):
    for k in range(8):
        db.session.add(Traitement(created_at=NOW - dt.timedelta(hours=k), type="individus",
                                  resultat="erreur" if k == 1 else "succes"))
    db.session.commit()
    runs = tableau_de_bord(NOW).traitements
    assert [t.created_at for t in runs] == [NOW - dt.timedelta(hours=k) for k in range(6)]
    assert runs[1].resultat == "erreur"


def test_overdue_invoices_count_and_exact_amount(app):
    compte = _compte()
    hier = TODAY - dt.timedelta(days=1)
    _facture(compte, 1, "10.10", "10.10", echeance=hier)
    _facture(compte, 2, "20.20", "0.20", echeance=hier - dt.timedelta(days=100))  # partly paid
    _facture(compte, 3, "5.00", "0", echeance=hier)  # paid
    _facture(compte, 4, "7.00", "7.00", echeance=TODAY)  # due today: not yet overdue
    _facture(compte, 5, "8.00", "8.00", echeance=None)  # no due date
    _facture(compte, 6, "9.00", "9.00", echeance=hier, archive=True)  # archived
    db.session.commit()
    tdb = tableau_de_bord(NOW)
    assert (tdb.echues_nombre, tdb.echues_total) == (2, Decimal("10.30"))


def test_deposits_of_the_year_per_month(app):
    compte = _compte()
    _facture(compte, 1, "0.10", "0", depot=dt.date(2026, 1, 5))
    _facture(compte, 2, "0.20", "0", depot=dt.date(2026, 1, 31))
    _facture(compte, 3, "100.00", "0", depot=dt.date(2026, 3, 1))
    _facture(compte, 4, "999.00", "0", depot=dt.date(2025, 12, 31))  # last year
    _reglement(compte, 1, "12.34", dt.date(2026, 3, 15))
    _reglement(compte, 2, "1.00", dt.date(2027, 1, 1))  # next year
    facturation.recalculer_totaux()
    db.session.commit()
    mois = depots_annee(2026)
    assert [m.mois for m in mois] == list(range(1, 13))
    assert (mois[0].factures_nombre, mois[0].factures_total) == (2, Decimal("0.30"))
    assert (mois[2].factures_nombre, mois[2].factures_total) == (1, Decimal("100.00"))
    assert (mois[2].reglements_nombre, mois[2].reglements_total) == (1, Decimal("12.34"))
    assert sum(m.factures_nombre for m in mois) == 3 and sum(m.reglements_nombre for m in mois) == 1


def test_overdue_invoices_are_reused_for_a_minute_requests_and_deposits_stay_live(app):
    compte = _compte()
    _facture(compte, 1, "10.00", "10.00", echeance=TODAY - dt.timedelta(days=3))
    facturation.recalculer_totaux()
    db.session.commit()
    tdb = tableau_de_bord(NOW)
    assert (tdb.echues_nombre, sum(m.factures_nombre for m in tdb.depots)) == (1, 1)
    _facture(compte, 2, "5.00", "5.00", echeance=TODAY - dt.timedelta(days=3))
    _demande(1, dt.timedelta(hours=1))
    facturation.recalculer_totaux(Facture, [TODAY])
    db.session.commit()
    tdb = tableau_de_bord(NOW)
    assert (tdb.echues_nombre, tdb.nouvelles_demandes) == (1, 1)
    assert [(m.mois, m.factures_nombre, m.factures_total) for m in tdb.depots if m.factures_nombre] == [
        (11, 2, Decimal("15.00"))]

    app.config["TABLEAU_DE_BORD_CACHE_SECONDES"] = 0
    tdb = tableau_de_bord(NOW)
    assert (tdb.echues_nombre, tdb.echues_total) == (2, Decimal("15.00"))
