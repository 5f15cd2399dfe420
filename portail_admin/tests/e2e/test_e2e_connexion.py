"""Journey 1 in Chromium: a wrong password gets the French error, the right one opens the back-office, logout."""
import pytest
from playwright.sync_api import expect

from portail_admin.tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def test_connexion_erreur_puis_deconnexion(page):
    page.goto("/admin/")
    expect(page).to_have_url("/login?next=/admin/")
    page.get_by_label("Adresse e-mail").fill("agent@demo.fr")
    page.get_by_label("Mot de passe").fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("Identifiants incorrects.")

    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url("/admin/")
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    expect(page.locator("nav")).to_contain_text("agent@demo.fr")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("alert")).to_have_text("Vous êtes déconnecté(e).")
    page.goto("/admin/")
    expect(page).to_have_url("/login?next=/admin/")
