"""Journeys 2 and 3 in Chromium: from a citizen account to its family and back; unsubscribing a family account."""
import re

import pytest
from playwright.sync_api import expect

from portail_admin.extensions import db
from portail_admin.models import CompteMetier

pytestmark = pytest.mark.e2e


def _comptes_associes(serveur, rang: int) -> CompteMetier:
    """The rang-th family account (univers Enfance) that has a citizen account: each journey its own."""
    def requete():
        compte = db.session.scalars(db.select(CompteMetier).where(
            CompteMetier.univers == "enfance", CompteMetier.citoyen_id.is_not(None)).order_by(CompteMetier.id)
        ).all()[rang]
        return {"id": compte.id, "code": compte.code, "libelle": compte.libelle, "email": compte.citoyen.email,
                "individus": len(compte.individus)}
    return serveur.lire(requete)


def test_du_compte_citoyen_a_la_famille_et_retour(page, connecter, serveur):
    compte = _comptes_associes(serveur, 3)
    connecter()
    page.get_by_role("link", name="Citoyens").click()
    page.get_by_role("link", name="Comptes citoyens").click()
    expect(page).to_have_url(re.compile(r"/admin/citoyens/"))

    # Find the citizen account by e-mail.
    page.get_by_label("Rechercher").fill(compte["email"])
    page.get_by_role("button", name="Rechercher").click()
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes).to_have_count(1)
    expect(lignes.first).to_contain_text(compte["email"])

    # Its family accounts: exactly this one, shown as associated.
    lignes.first.get_by_title("Comptes familles").click()
    expect(page.get_by_role("heading", name=re.compile("Comptes familles du compte citoyen"))).to_contain_text(
        compte["email"])
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes).to_have_count(1)
    expect(lignes.first).to_contain_text(compte["code"])
    expect(lignes.first).to_contain_text(f"Associé ({compte['email']})")
    url_comptes = page.url

    # Its individuals: the family's members only.
    lignes.first.get_by_title("Individus").click()
    expect(page.locator(".compte-filtre")).to_contain_text(compte["libelle"])
    expect(page.locator("table.model-list tbody tr")).to_have_count(compte["individus"])

    # And back to the family account.
    page.go_back()
    expect(page).to_have_url(url_comptes)
    expect(page.locator("table.model-list tbody tr")).to_have_count(1)


def test_desabonner_un_compte_famille_le_rend_orphelin(page, connecter, serveur):
    compte = _comptes_associes(serveur, 5)
    connecter()
    page.goto("/admin/comptes_metier/")
    page.get_by_label("Rechercher").fill(compte["code"])
    page.get_by_role("button", name="Rechercher").click()
    ligne = page.locator("table.model-list tbody tr")
    expect(ligne).to_have_count(1)
    expect(ligne).to_contain_text(f"Associé ({compte['email']})")

    page.once("dialog", lambda dialog: dialog.accept())
    ligne.get_by_title("Désabonner").click()
    expect(page.locator(".alert-success")).to_contain_text("désormais orphelin")
    expect(ligne).to_have_count(1)
    expect(ligne).to_contain_text("Orphelin")
    expect(ligne.get_by_title("Désabonner")).to_have_count(0)
