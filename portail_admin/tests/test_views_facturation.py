"""Facturation screens: invoices, payments and their totals, statement, monthly deposits, exports, archiving."""
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portail_admin.extensions import db
from portail_admin.formatting import aujourdhui, euros
from portail_admin.models import Audit, Facture, Reglement
from portail_admin.services import facturation
from portail_admin.services.agents import create_agent

from .conftest import DEMO_PASSWORD, csrf_token
from .test_services_facturation import PAYEUR_FORMULE, jeu_facturation

NBSP = "\u00a0"


@pytest.fixture
def jeu(app, auth):
    """The hand-made invoices and payments, and a logged-in agent."""
    data = jeu_facturation()
    create_agent("agent@demo.fr", DEMO_PASSWORD)
    db.session.commit()
    auth.login()
    return data


def shown(body: str) -> set[str]:
    """The numbers in the list's Numéro column."""
    return set(re.findall(r'<td class="col-numero">\s*([^<\s]+)', body))


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_invoice_list_has_the_seed_columns_filters_and_french_formats(client, jeu):
    body = page(client, "/admin/factures/")
    for header in ("Numéro", "Date d&#39;émission", "Destinataire", "Montant", "Restant dû", "Payable en ligne",
                   "Date d&#39;échéance", "Actions"):
        assert header in body
    for label in ("Compte (nom, prénom)", "-- Émetteur --", "-- Contexte --", "-- Univers --", "Date de dépôt du",
                  "du n°", "au n°", "Émise entre", "et le", "Montant", "Rechercher", "Réinitialiser",
                  "Afficher que les factures archivées", "Exporter (CSV)", "Exporter (Excel)"):
        assert label in body, label
    assert re.search(r'<input[^>]*type="checkbox"[^>]*name="archives"|<input[^>]*name="archives"[^>]*type="checkbox"',
                     body)
    assert "29/10/2018" in body and f"10,90{NBSP}€" in body and f"1{NBSP}234,56{NBSP}€" in body
    assert "15/11/2018" in body  # due date of 2018-241-9028
    assert "Partiellement payée" in body and "Impayée" in body and ">Payée<" in body
    a = jeu["a"]
    assert f'href="/admin/comptes_metier/details/?id={a.id}">DUPONT Marie</a>' in body
    assert shown(body) == {"2018-241-9028", "2018-241-9029", "2019-300-9100", "2019-300-9101"}


INVOICE_FILTERS = [
    ("compte=dupont", {"2018-241-9028", "2018-241-9029"}),
    ("compte=Marie+DUPONT", {"2018-241-9028", "2018-241-9029"}),
    ("emetteur=Télé-services", {"2019-300-9100", "2019-300-9101"}),
    ("contexte=Restauration+scolaire", {"2018-241-9028", "2019-300-9100"}),
    ("univers=eau", {"2019-300-9100", "2019-300-9101"}),
    ("depot_du=2018-11-01&depot_au=2018-12-31", {"2018-241-9029"}),
    ("no_du=9029&no_au=9100", {"2018-241-9029", "2019-300-9100"}),
    ("emise_du=01/11/2018&emise_au=31/12/2018", {"2018-241-9029"}),
    ("emise_au=29/10/2018", {"2018-241-9028"}),
    ("montant=1+234,56", {"2018-241-9029"}),
    ("montant=10,90+€", {"2018-241-9028"}),
    ("archives=y", {"2017-100-8000"}),
    ("archives=y&compte=dupont", set()),
    ("compte=&emetteur=&contexte=&univers=&depot_du=&no_du=&montant=",
     {"2018-241-9028", "2018-241-9029", "2019-300-9100", "2019-300-9101"}),
]


def test_invoice_filters_show_exactly_their_rows(client, jeu):
    for query, attendu in INVOICE_FILTERS:
        assert shown(page(client, f"/admin/factures/?{query}")) == attendu, query


def test_overdue_filter_shows_exactly_the_unpaid_invoices_past_their_due_date(client, jeu):
    attendu = set(db.session.scalars(db.select(Facture.numero).where(
        Facture.archive.is_(False), Facture.restant_du > 0, Facture.date_echeance < aujourdhui())))
    body = page(client, "/admin/factures/?echues=1")
    assert attendu and shown(body) == attendu
    assert ">Payée<" not in body
    assert re.search(r'name="echues"[^>]*checked|checked[^>]*name="echues"', body)


def test_archived_checkbox_toggles_between_live_and_archived_invoices(client, jeu):
    live = page(client, "/admin/factures/")
    assert "2017-100-8000" not in shown(live)
    assert not re.search(r'name="archives"[^>]*checked|checked[^>]*name="archives"', live)
    archived = page(client, "/admin/factures/?archives=y")
    assert shown(archived) == {"2017-100-8000"}
    assert re.search(r'name="archives"[^>]*checked|checked[^>]*name="archives"', archived)


def test_bad_filter_values_get_a_french_message_not_an_error(client, jeu):
    body = page(client, "/admin/factures/?montant=abc&depot_du=31/02/2018&no_du=douze")
    assert "Montant invalide" in body
    assert "pas une date valide" in body and "pas un entier valide" in body
    assert len(shown(body)) == 4


def test_sort_links_keep_the_filters(client, jeu):
    body = page(client, "/admin/factures/?compte=dupont&archives=y")
    sort_links = re.findall(r'href="([^"]*sort=[^"]*)"', body)
    assert sort_links and all("compte=dupont" in link and "archives=y" in link for link in sort_links)


def test_invoice_detail_shows_lines_payments_and_what_remains(client, jeu):
    f2 = jeu["f"][1]
    body = page(client, f"/admin/factures/details/?id={f2.id}")
    assert "Règlements affectés" in body
    for numero in ("123175890", "123175893", "123175894"):
        assert numero in body
    assert f"1{NBSP}000,00{NBSP}€" in body and "20/11/2018" in body and "Chèque" in body
    assert f"Restant dû : <strong>234,26{NBSP}€</strong>" in body
    assert "payable en ligne : <strong>Non</strong>" in body
    assert "Archiver la facture" in body


def test_archived_invoice_detail_still_opens(client, jeu):
    body = page(client, f"/admin/factures/details/?id={jeu['f'][3].id}")
    assert "2017-100-8000" in body and "Désarchiver la facture" in body


def test_archive_action_posts_with_csrf_and_is_audited(client, jeu):
    f1 = jeu["f"][0]
    token = csrf_token(client, "/admin/factures/")
    response = client.post("/admin/factures/action/", data={
        "csrf_token": token, "action": "archiver", "rowid": [str(f1.id)], "url": "/admin/factures/"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Facture, f1.id).archive is True
    assert db.session.scalar(db.select(Audit).where(Audit.action == "archiver")).objet_id == str(f1.id)
    assert "2018-241-9028" not in shown(page(client, "/admin/factures/"))
    assert "2018-241-9028" in shown(page(client, "/admin/factures/?archives=y"))

    detail = f"/admin/factures/details/?id={f1.id}"
    client.post("/admin/factures/action/", data={
        "csrf_token": csrf_token(client, detail), "action": "desarchiver", "rowid": str(f1.id), "url": detail})
    db.session.expire_all()
    assert db.session.get(Facture, f1.id).archive is False


def test_archive_action_without_csrf_changes_nothing(client, jeu):
    f1 = jeu["f"][0]
    client.post("/admin/factures/action/", data={"action": "archiver", "rowid": str(f1.id)})
    db.session.expire_all()
    assert db.session.get(Facture, f1.id).archive is False


def test_invoices_are_read_only(client, jeu):
    f1 = jeu["f"][0]
    assert client.get(f"/admin/factures/edit/?id={f1.id}").status_code in (302, 403, 404)
    client.post(f"/admin/factures/edit/?id={f1.id}", data={"montant": "1", "csrf_token": csrf_token(
        client, "/admin/factures/")})
    db.session.expire_all()
    assert db.session.get(Facture, f1.id).montant == Decimal("10.90")


def test_payment_list_columns_and_both_totals(client, jeu):
    body = page(client, "/admin/reglements/")
    for header in ("Réglé le", "Numéro unique", "Payeur", "Mode de règlement", "Encaissé", "Ventilé", "Actions",
                   "-- En ligne --", "Fact. du n°", "Afficher que les règlements archivés"):
        assert header in body, header
    assert "Titres émis" not in body and "Chèque" in body and "Carte bancaire en ligne" in body
    assert (f"Total des règlements affichés sur cet écran : <strong>1{NBSP}060,30{NBSP}€</strong>" in body)
    assert f"Total global de l'ensemble de la liste : <strong>1{NBSP}060,30{NBSP}€</strong>" in body
    # The payer's text is escaped, never markup.
    assert "=HYPERLINK(&#34;http://evil.example&#34;" in body or "=HYPERLINK(&quot;" in body


PAYMENT_FILTERS = [
    ("en_ligne=non", {"123175890", "123175893", "123175894"}, "1\u00a0000,30"),
    ("en_ligne=oui", {"123175891"}, "60,00"),
    ("fact_du=9029&fact_au=9099", {"123175890", "123175893", "123175894"}, "1\u00a0000,30"),
    ("fact_du=9100", {"123175891"}, "60,00"),
    ("compte=martin", {"123175891"}, "60,00"),
    ("montant=0,10", {"123175893"}, "0,10"),
    ("depot_du=2019-01-01&depot_au=2019-02-01", {"123175891", "123175893"}, "60,10"),
    ("no_du=503", {"123175893", "123175894"}, "0,30"),
    ("archives=y", {"123175892"}, "20,00"),
    ("compte=personne", set(), "0,00"),
]


def test_payment_filters_and_the_global_total_under_them(client, jeu):
    for query, attendu, total in PAYMENT_FILTERS:
        body = page(client, f"/admin/reglements/?{query}")
        assert shown(body) == attendu, query
        assert f"Total global de l'ensemble de la liste : <strong>{total}{NBSP}€</strong>" in body, query


def test_page_total_and_global_total_on_a_long_list(client, app, demo_data, auth):
    auth.login()
    body = page(client, "/admin/reglements/")
    cells = re.findall(r'<td class="col-encaisse">\s*([^<]+?)\s*</td>', body)
    assert len(cells) == 20
    page_total = sum(Decimal(c.replace(NBSP, "").replace("€", "").replace(",", ".")) for c in cells)
    live = db.session.scalars(db.select(Reglement.encaisse).where(Reglement.archive.is_(False))).all()
    assert len(live) > 20
    global_total = sum(live, Decimal("0"))
    assert page_total < global_total

    assert f"Total des règlements affichés sur cet écran : <strong>{euros(page_total)}</strong>" in body
    assert f"Total global de l'ensemble de la liste : <strong>{euros(global_total)}</strong>" in body


def test_payment_detail_shows_invoices_dates_and_online(client, jeu):
    r2 = jeu["r"][1]
    body = page(client, f"/admin/reglements/details/?id={r2.id}")
    assert "Factures réglées" in body
    assert "2018-241-9028" in body and "29/10/2018" in body
    assert "2019-300-9100" in body and "10/01/2019" in body
    assert "Payé en ligne : <strong>Oui</strong>" in body


def test_statement_of_operations(client, jeu):
    body = page(client, "/admin/operations/")
    for label in ("Date", "Compte", "Opération", "Libellé", "Débit", "Crédit", "Solde", "Facture émise",
                  "Règlement"):
        assert label in body
    assert f"-10,00{NBSP}€" in body and f"1{NBSP}245,46{NBSP}€" in body
    b = jeu["b"]
    assert f'href="/admin/comptes_metier/details/?id={b.id}">MARTIN Paul</a>' in body
    filtered = page(client, f"/admin/operations/?compte_id={b.id}&du=2019-01-11")
    assert "Règlement n° 123175891" in filtered
    assert "Facture n° 2019-300-9100" not in filtered and "Facture n° 2018-241-9028" not in filtered
    by_name = page(client, "/admin/operations/?compte=dupont&type=facture")
    assert "Facture n° 2018-241-9028" in by_name and "MARTIN Paul</a>" not in by_name


def test_csv_export_respects_filters_neutralises_and_is_audited(client, jeu):
    response = client.get("/admin/reglements/export/csv/?compte=dupont")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeffRéglé le;Numéro unique;Payeur;")
    lines = [line for line in text.lstrip("\ufeff").split("\r\n") if line]
    assert len(lines) == 4  # header + the three payments of DUPONT
    assert not any(";123175891;" in line for line in lines)
    assert "'=HYPERLINK(" in text and ";=HYPERLINK" not in text
    assert "20/11/2018" in text and ";1000,00;" in text
    entry = db.session.scalar(db.select(Audit).where(Audit.action == "export"))
    assert entry.objet_type == "Reglement"
    assert entry.details == {"format": "csv", "filtres": {"compte": "dupont"}, "lignes": 3}


def test_invoice_csv_export_follows_the_archived_toggle(client, jeu):
    text = client.get("/admin/factures/export/csv/?archives=y").get_data().decode("utf-8")
    assert "2017-100-8000" in text and "2018-241-9028" not in text
    text = client.get("/admin/factures/export/csv/").get_data().decode("utf-8")
    assert "2017-100-8000" not in text
    assert "2018-241-9029;15/11/2018;DUPONT Marie;A1;1234,56;234,26;Partiellement payée;Non;" in text


def test_xlsx_export_has_numbers_and_neutralised_text(client, jeu):
    response = client.get("/admin/reglements/export/xlsx/?en_ligne=non")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    feuille = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(feuille.iter_rows(values_only=True))
    assert rows[0][:3] == ("Réglé le", "Numéro unique", "Payeur")
    assert {r[1] for r in rows[1:]} == {"123175890", "123175893", "123175894"}
    payeurs = {r[2] for r in rows[1:]}
    assert "'" + PAYEUR_FORMULE in payeurs
    encaisse = {r[1]: r[6] for r in rows[1:]}
    assert encaisse["123175890"] == 1000 and encaisse["123175893"] == 0.1
    assert all(c.data_type != "f" for row in feuille.iter_rows() for c in row)


def test_unknown_export_format_or_list_is_404(client, jeu):
    assert client.get("/admin/factures/export/pdf/").status_code == 404
    assert client.get("/admin/operations/export/csv/").status_code == 404


def test_anonymous_users_are_sent_to_login(client, app):
    for url in ("/admin/factures/", "/admin/reglements/export/csv/", "/admin/depot_factures/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(("url", "model", "noun"), [
    ("/admin/depot_factures/", Facture, "factures"),
    ("/admin/depot_reglements/", Reglement, "règlements"),
])
def test_monthly_deposit_screens_show_the_sql_figures_and_a_chart(client, app, demo_data, auth, url, model, noun):
    auth.login()
    body = page(client, url)
    assert f"Nombre de {noun}" in body
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    assert 'role="img"' in svg and "<script" not in svg
    assert len(re.findall(r"<rect ", svg)) == 12
    for row in facturation.depots_mensuels(model):
        assert re.search(rf"<td>{row['nombre']}</td><td>{re.escape(euros(row['total']))}</td>", body)
    recent = facturation.derniers_mois(facturation.depots_mensuels(model), dt.date.today())
    last = recent[-1]
    assert f"{last['mois']:02d}/{last['annee']} : {euros(last['total'])}" in svg


def test_deposit_chart_shows_zero_for_months_without_deposits(client, jeu):
    body = page(client, "/admin/depot_factures/")
    assert 'title="octobre 2018">10/2018</td><td>1</td>' in body
    titles = re.findall(r"<rect [^>]*><title>([^<]*)</title>", body)
    assert len(titles) == 12 and all(t.endswith(f" : 0,00{NBSP}€") for t in titles)


@pytest.mark.parametrize("count_cap", [10_000, 1])
def test_a_range_filter_lists_its_payments_newest_first(app, client, jeu, count_cap):
    """Under a deposit-date range the matches are sorted apart from the date index (few of them, or on PostgreSQL
    up to FASTLIST_SORT_CAP by the planner's estimate): the order the agent sees stays Réglé le, newest first."""
    app.config["FASTLIST_COUNT_CAP"] = count_cap
    body = page(client, "/admin/reglements/?depot_du=01/01/2017&depot_au=31/12/2019")
    numeros = re.findall(r'<td class="col-numero">\s*([^<\s]+)', body)
    assert numeros == ["123175894", "123175893", "123175891", "123175890"]


def test_a_date_filter_typed_jj_mm_aaaa_is_shown_back_in_the_date_field(client, jeu):
    """The browser's date field only takes ISO: the filter stays visible, so the next Rechercher keeps it."""
    body = page(client, "/admin/reglements/?depot_du=01/01/2019&depot_au=2019-12-31")
    assert re.search(r'id="depot_du"[^>]*type="date"[^>]*value="2019-01-01"', body)
    assert re.search(r'id="depot_au"[^>]*type="date"[^>]*value="2019-12-31"', body)
    assert shown(body) == {"123175891", "123175893", "123175894"}
    bad = page(client, "/admin/reglements/?depot_du=31/02/2019")
    assert "pas une date valide" in bad and 'class="form-control form-control-sm is-invalid" id="depot_du"' in bad
