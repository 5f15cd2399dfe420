"""Journey 9 in Chromium: each figure of the dashboard leads to the list that explains it."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _nombre(locator) -> int:
    return int(locator.inner_text().strip())


def test_les_demandes_nouvelles_et_en_retard_menent_a_leur_liste(page, connecter):
    connecter()
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()

    # New requests since yesterday: the list filtered on those days, this morning's request in it.
    nouvelles = _nombre(page.locator("#chiffre-nouvelles"))
    assert nouvelles >= 1
    page.locator("#chiffre-nouvelles").click()
    expect(page).to_have_url(re.compile(r"/admin/demandes/\?flt0_date_de_la_demande_between=[\d-]+\+to\+[\d-]+$"))
    expect(page.get_by_role("cell", name="D-E2E-000001")).to_be_visible()
    expect(page.locator("table.model-list tbody tr")).to_have_count(nouvelles)

    # Late requests: as many rows as the figure (up to a page), each with its red delay badge.
    page.go_back()
    en_retard = _nombre(page.locator("#chiffre-retard"))
    assert en_retard >= 1
    page.locator("#chiffre-retard").click()
    expect(page).to_have_url(re.compile(r"/admin/demandes/\?en_retard=1$"))
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes).to_have_count(min(en_retard, 20))
    expect(lignes.locator(".delai-retard")).to_have_count(min(en_retard, 20))


def test_les_factures_echues_menent_a_la_liste_des_impayees(page, connecter):
    connecter()
    assert _nombre(page.locator("#chiffre-echues")) >= 1
    assert re.fullmatch(r"[\d\u00a0]+,\d\d\u00a0€", page.locator("#montant-echues").inner_text())
    page.locator("#chiffre-echues").click()
    expect(page).to_have_url(re.compile(r"/admin/factures/\?echues=1$"))
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes.first).to_be_visible()
    expect(lignes.locator(".badge", has_text=re.compile(r"^Payée$"))).to_have_count(0)
    aujourd_hui = dt.date.today()
    for echeance in lignes.locator("td.col-date_echeance").all_inner_texts():
        assert dt.datetime.strptime(echeance.strip(), "%d/%m/%Y").date() < aujourd_hui


def test_les_depots_de_l_annee_menent_aux_depots_et_aux_factures_du_mois(page, connecter):
    connecter()
    # The chart is drawn in the page (no script); the legend leads to the monthly deposit screen.
    expect(page.locator("#carte-depots svg rect").first).to_be_attached()
    page.locator("#lien-depot-factures").click()
    expect(page).to_have_url(re.compile(r"/admin/depot_factures/$"))
    expect(page.locator("h4", has_text="Dépôt de factures")).to_be_visible()  # the screen's title

    # The monthly detail leads to the invoices deposited that month.
    page.go_back()
    page.get_by_text("Détail par mois").click()
    janvier = page.locator("#depots-par-mois tbody tr").first.locator("td").nth(1)
    factures_janvier = _nombre(janvier)
    janvier.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/admin/factures/\?depot_du=\d{4}-01-01&depot_au=\d{4}-01-31$"))
    expect(page.locator("table.model-list tbody tr")).to_have_count(min(factures_janvier, 20))


def test_les_derniers_imports_menent_a_leur_detail(page, connecter):
    connecter("admin@demo.fr")
    carte = page.locator("#carte-traitements")
    expect(carte.locator("tbody tr")).to_have_count(6)
    # This morning's failed import comes first, in red.
    echec = carte.locator("tbody tr").first
    expect(echec).to_have_class(re.compile(r"\btable-danger\b"))
    expect(echec).to_contain_text("En erreur")
    echec.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/admin/traitements/details/\?id=\d+"))
    expect(page.locator("body")).to_contain_text("Famille inconnue : 99999999.")
    page.go_back()
    page.locator("#lien-traitements").click()
    expect(page).to_have_url(re.compile(r"/admin/traitements/$"))
    expect(page.locator("table.model-list tbody tr").first).to_be_visible()
