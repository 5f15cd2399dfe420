"""Journey 8 in Chromium: an admin opens État des traitements and the detail of a failed run."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_etat_des_traitements_et_detail_d_un_import(page, connecter):
    connecter("admin@demo.fr")
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="État des traitements", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/traitements/$"))
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes.first).to_contain_text("Import individus en masse")

    # This morning's failed run: its detail lists the error with its line number and the log.
    lignes.first.get_by_title(re.compile("Afficher", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile(r"/admin/traitements/details/\?id=\d+"))
    expect(page.locator("table.erreurs tbody tr").first).to_contain_text("Famille inconnue : 99999999.")
    expect(page.locator("table.erreurs tbody tr").first.locator("td").first).to_have_text("3")
    expect(page.locator("pre.journal")).to_contain_text("Import refusé : 1 ligne en erreur.")
