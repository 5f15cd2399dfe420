"""Journey 7 in Chromium: an admin edits the accusé de réception's variable part, previews it, saves it."""
import pytest
from playwright.sync_api import expect

from portail_admin.extensions import db
from portail_admin.models import ModeleNotification

pytestmark = pytest.mark.e2e

TEXTE = "Bonjour [civilite] [nom], nous traitons votre demande [reference] au plus vite."


def _partie_variable(serveur) -> str:
    return serveur.lire(lambda: db.session.scalar(
        db.select(ModeleNotification.partie_variable).where(ModeleNotification.code == "accuse_reception")))


def test_modifier_l_accuse_de_reception_apercu_puis_enregistrement(page, connecter, serveur):
    avant = _partie_variable(serveur)
    connecter("admin@demo.fr")
    page.goto("/admin/notifications/")
    ligne = page.locator("table.model-list tbody tr", has_text="Accusé de réception")
    ligne.get_by_title("Modifier enregistrement").click()
    expect(page.get_by_label("Partie fixe (non modifiable)")).to_have_attribute("readonly", "")

    # Preview: the example family's values replace the placeholders; nothing is saved yet.
    page.get_by_label("Partie variable").fill(TEXTE)
    page.get_by_role("button", name="Aperçu").click()
    apercu = page.locator(".apercu-corps")
    expect(apercu).to_contain_text("Bonjour Mme MARTIN, nous traitons votre demande D2026-000123")
    expect(page.get_by_label("Partie variable")).to_have_value(TEXTE)
    assert _partie_variable(serveur) == avant

    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".alert-success")).to_contain_text("Accusé de réception enregistré.")
    expect(page.get_by_label("Partie variable")).to_have_value(TEXTE)
    assert _partie_variable(serveur) == TEXTE
