"""Journey 6 in Chromium: an agent answers a contact request, which becomes "Traitée" with the reply in its history."""
import re

import pytest
from playwright.sync_api import expect

from portail_admin.extensions import db
from portail_admin.models import Demande

pytestmark = pytest.mark.e2e

REPONSE = "Bonjour, votre facture de septembre est disponible dans votre espace. Cordialement."


def test_repondre_a_une_demande_de_contact(page, connecter, serveur):
    reference = serveur.lire(lambda: db.session.scalar(
        db.select(Demande.reference).where(Demande.type == "contact", Demande.etat == "a_traiter",
                                           Demande.reference != "D-E2E-000001").order_by(Demande.id)))
    connecter()
    page.get_by_role("link", name="Demandes", exact=True).click()
    page.get_by_placeholder(re.compile("Rechercher|Search", re.IGNORECASE)).fill(reference)
    page.keyboard.press("Enter")
    ligne = page.locator("table.model-list tbody tr")
    expect(ligne).to_have_count(1)
    expect(ligne).to_contain_text("À traiter")
    ligne.get_by_title(re.compile("Afficher", re.IGNORECASE)).click()

    page.get_by_label("Réponse à la famille").fill(REPONSE)
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.locator(".alert-success")).to_contain_text(f"la demande {reference} est traitée")
    expect(page.locator("table.table").first.locator("tr", has_text="État")).to_contain_text("Traitée")
    reponse = page.locator("table.historique tbody tr", has_text="Réponse de la collectivité")
    expect(reponse).to_contain_text(REPONSE)
    expect(reponse).to_contain_text("agent@demo.fr")
    expect(page.get_by_role("button", name="Envoyer la réponse")).to_have_count(0)
