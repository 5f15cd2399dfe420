"""Journeys 4 and 5 in Chromium: filtering invoices and opening one; the payments' page and global totals."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portail_admin.extensions import db
from portail_admin.formatting import euros
from portail_admin.models import Facture, Reglement, sum_exact

pytestmark = pytest.mark.e2e


def _montant(texte: str) -> Decimal:
    """ "1 234,56 €" -> Decimal("1234.56")."""
    return Decimal(re.sub(r"[^\d,-]", "", texte).replace(",", "."))


def test_filtrer_les_factures_par_date_et_montant_voir_les_archivees_en_ouvrir_une(page, connecter, serveur):
    def choisir():
        live = db.session.scalars(db.select(Facture).where(Facture.archive.is_(False)).order_by(Facture.id)).first()
        archivees = db.session.scalar(db.select(db.func.count()).select_from(Facture).where(Facture.archive))
        return {"numero": live.numero, "emission": live.date_emission, "montant": live.montant,
                "archivees": archivees}
    facture = serveur.lire(choisir)
    assert facture["archivees"] > 0
    connecter()
    page.goto("/admin/factures/")

    # Emitted on that day, for that amount (typed the French way): the invoice is in the list, and only such rows.
    page.get_by_label("Émise entre").fill(facture["emission"].isoformat())
    page.get_by_label("et le").fill(facture["emission"].isoformat())
    page.get_by_label("Montant", exact=True).fill(f"{facture['montant']:.2f}".replace(".", ","))
    page.get_by_role("button", name="Rechercher").click()
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes.filter(has_text=facture["numero"])).to_have_count(1)
    emission = facture["emission"].strftime("%d/%m/%Y")
    for ligne in lignes.all():
        expect(ligne.locator("td.col-date_emission")).to_have_text(emission)
        expect(ligne.locator("td.col-montant")).to_have_text(euros(facture["montant"]))

    # The archived invoices only, then open one: its detail says so and lists its lines.
    page.get_by_role("link", name="Réinitialiser").click()
    page.get_by_label("Afficher que les factures archivées").check()
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(r"archives=y"))
    lignes = page.locator("table.model-list tbody tr")
    expect(lignes).to_have_count(min(facture["archivees"], 20))
    numero = lignes.first.locator("td.col-numero").inner_text().strip()
    lignes.first.get_by_title(re.compile("Afficher", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile(r"/admin/factures/details/\?id=\d+"))
    details = page.locator("table.table").first
    expect(details).to_contain_text(numero)
    expect(details.locator("tr", has_text="Archivée")).to_contain_text("Oui")
    expect(page.get_by_role("heading", name="Lignes de la facture")).to_be_visible()
    expect(page.get_by_role("button", name="Désarchiver la facture")).to_be_visible()


def test_reglements_total_de_la_page_et_total_global(page, connecter, serveur):
    totaux = serveur.lire(lambda: {
        "global": sum_exact(Reglement.encaisse, Reglement.archive.is_(False)),
        "en_ligne": sum_exact(Reglement.encaisse, Reglement.archive.is_(False), Reglement.en_ligne.is_(True)),
    })
    connecter()
    page.goto("/admin/reglements/")

    def verifier(total_global):
        encaisses = page.locator("table.model-list tbody td.col-encaisse").all_inner_texts()
        assert encaisses
        texte = page.locator(".totaux-reglements").inner_text()
        affiche = re.search(r"Total des règlements affichés sur cet écran : (.+?) / Total global de l'ensemble "
                            r"de la liste : (.+)$", texte.strip())
        assert affiche, texte
        assert _montant(affiche.group(1)) == sum(_montant(e) for e in encaisses)
        assert affiche.group(2).strip() == euros(total_global)

    verifier(totaux["global"])
    # Filtered on online payments, the global total is the filtered list's.
    page.get_by_label("En ligne").select_option("oui")
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(r"en_ligne=oui"))
    verifier(totaux["en_ligne"])
