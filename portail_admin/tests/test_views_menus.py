"""The back-office shell: the seed's five menus in order, each entry listing demo rows under French headers."""
import re

import pytest

MENUS = [
    ("Citoyens", ["Comptes citoyens", "Comptes métiers"]),
    ("Facturation", ["Factures", "Règlements", "Relevé d&#39;opérations", "Dépôt de factures",
                     "Dépôt de règlements"]),
    ("Famille", ["Individus", "Activités", "Structures", "Classes", "Périodes", "Fermetures",
                 "Pièces justificatives"]),
    ("Demandes", []),
    ("Administration", ["Notifications", "Paramètres", "État des traitements", "Agents", "Journal"]),
]

#: Each menu entry, the headers the seed shows, and a column that demo rows fill.
SCREENS = [
    ("citoyens", ["Email", "Nom", "Prénom", "Partenaire"]),
    ("comptes_metier", ["Émetteur", "Code compte", "Compte", "Email", "Associé"]),
    ("factures", ["Numéro", "Date d'émission", "Destinataire", "Montant", "Restant dû", "Payable en ligne",
                  "Date d'échéance"]),
    ("reglements", ["Réglé le", "Numéro unique", "Payeur", "Mode de règlement", "Encaissé", "Ventilé"]),
    ("operations", ["Date", "Compte", "Opération", "Libellé", "Débit", "Crédit", "Solde"]),
    ("individus", ["Nom - Prénom", "Référence", "Date de synchronisation", "Rôle", "Archive"]),
    ("activites", ["Activité", "Référence", "Structure", "Date de synchronisation"]),
    ("structures", ["Structure", "Référence", "Date de synchronisation"]),
    ("classes", ["Classe", "Référence", "Structure", "Date de synchronisation"]),
    ("periodes", ["Période", "Référence", "Activité", "Date de synchronisation"]),
    ("fermetures", ["Activité", "Référence", "Date de synchronisation"]),
    ("pieces", ["Pièce justificative", "Référence", "Date de synchronisation"]),
    ("demandes", ["Référence", "Date de la demande", "Compte citoyen", "Email", "Type", "État", "Délai"]),
    ("notifications", ["Notification"]),
    ("traitements", ["Date", "Durée", "Avancement %", "Univers", "Type", "Nombre", "Résultat"]),
    ("agents", ["Email", "Nom", "Prénom", "Rôle"]),
]


def headers(page: str) -> list[str]:
    found = re.findall(r'<th class="column-header[^"]*">\s*(?:<a[^>]*>)?\s*([^<]+?)\s*<', page)
    return [h.replace("&#39;", "'") for h in found]


def menu_items(page: str) -> list[str]:
    """The navigation bar's entries, top-level and nested, in page order."""
    nav = re.sub(r"<!--.*?-->", "", page[page.index("<nav"):page.index("</nav>")])
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<a[^>]*>([^<]+)(?:<i[^>]*></i>)?</a>", nav)
            if text.strip()]


def test_menus_are_the_seeds_five_in_order(client, auth, demo_data):
    auth.login("admin@demo.fr")
    items = menu_items(client.get("/admin/").get_data(as_text=True))
    expected = ["Portail Famille", "Accueil"]
    for menu, entries in MENUS:
        expected += [menu, *[entry.replace("&#39;", "'") for entry in entries]]
    assert [i.replace("&#39;", "'") for i in items] == expected


@pytest.mark.parametrize("endpoint,expected", SCREENS)
def test_each_menu_entry_lists_demo_rows_with_the_seeds_headers(client, auth, demo_data, endpoint, expected):
    auth.login("admin@demo.fr")
    page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    assert headers(page)[: len(expected)] == expected or set(expected) <= set(headers(page))
    rows = re.findall(r'<td class="list-buttons-column">', page)
    assert rows, f"aucune ligne sur /admin/{endpoint}/"


@pytest.mark.parametrize("endpoint,noun", [("depot_factures", "factures"), ("depot_reglements", "règlements")])
def test_monthly_deposit_screens_show_months_and_amounts(client, auth, demo_data, endpoint, noun):
    auth.login()
    page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    assert f"Nombre de {noun}" in page
    assert re.search(r"\d{2}/20\d\d</td><td>\d+</td><td>[\d\u00a0]+,\d\d\u00a0€", page)


def test_french_formats_in_lists(client, auth, demo_data):
    auth.login()
    page = client.get("/admin/factures/").get_data(as_text=True)
    assert re.search(r"<td[^>]*>\s*\d{2}/\d{2}/20\d\d\s*</td>", page)
    assert re.search(r"\d+,\d\d\u00a0€", page)
