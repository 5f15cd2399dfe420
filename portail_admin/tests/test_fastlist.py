"""The shared fast list: bounded count, pager past the OFFSET cap (keyset), id tiebreaker, prefix search, date jump."""
import datetime as dt
import html
import re

import pytest

from portail_admin.extensions import db
from portail_admin.models import Citoyen
from portail_admin.services.prefixes import case_variants, prefix_bounds
from portail_admin.views.base import PortailModelView
from portail_admin.views.fastlist import decode_cursor, encode_cursor

NOMS = ("Dupont", "DUPONT", "dupont", "Martin", "MARTIN", "Petit", "Lefèvre", "Dupond")
BASE = dt.datetime(2025, 3, 1, 8, 0)


class CitoyenListe(PortailModelView):
    """A small list on citizen accounts, sorted newest first, to exercise the shared list."""

    column_list = ("email", "nom", "prenom", "created_at")
    column_labels = {"email": "Email", "nom": "Nom", "prenom": "Prénom", "created_at": "Créé le"}
    column_sortable_list = ("email", "nom", "created_at")
    column_searchable_list = ("email", "nom", "prenom")
    column_filters = ("partenaire",)
    column_default_sort = [("created_at", True), ("id", True)]
    page_size = 5


@pytest.fixture
def liste(app, demo_data):
    """53 citizen accounts (several share a name and a creation time) and the test list, caps lowered."""
    app.config.update(FASTLIST_COUNT_CAP=20, FASTLIST_OFFSET_CAP=10)
    app.extensions["admin"][0].add_view(CitoyenListe(Citoyen, db, name="Essai", endpoint="essai_liste"))
    db.session.execute(db.delete(Citoyen))
    for i in range(53):
        db.session.add(Citoyen(email=f"{NOMS[i % len(NOMS)].lower()}.{i:02d}@exemple.fr", nom=NOMS[i % len(NOMS)],
                               prenom="Élodie" if i % 2 else "jean", partenaire=i % 10 == 0,
                               created_at=BASE + dt.timedelta(hours=i // 3)))
    db.session.commit()
    return "/admin/essai_liste/"


def emails(body: str) -> list[str]:
    return re.findall(r"[a-zè]+\.\d\d@exemple\.fr", body)


def link(body: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', body)
    return html.unescape(match.group(1)) if match else None


def expected_order(key) -> list[str]:
    rows = db.session.scalars(db.select(Citoyen)).all()
    return [c.email for c in sorted(rows, key=key)]


def walk(client, url: str) -> tuple[list[str], list[str]]:
    """Follow "Suivante" to the end: the e-mails in order and the URLs visited."""
    seen, urls = [], []
    while url:
        body = client.get(url).get_data(as_text=True)
        seen += emails(body)
        urls.append(url)
        url = link(body, "next")
    return seen, urls


def test_count_is_exact_below_the_cap_and_labelled_above(client, auth, liste):
    auth.login()
    body = html.unescape(client.get(liste).get_data(as_text=True))
    # Above the cap: "plus de", or on PostgreSQL the planner's estimate when it is far above, labelled as such.
    assert "Plus de 20 résultats" in body or re.search(r"Environ [\d\xa0]+ résultats \(estimation d'après", body)
    partenaires = client.get(liste + "?flt0_0=1").get_data(as_text=True)
    assert "6 résultats" in partenaires
    assert len(emails(partenaires)) == 5


def test_next_links_walk_every_row_once_past_the_offset_cap(client, auth, liste):
    auth.login()
    seen, urls = walk(client, liste)
    assert seen == expected_order(lambda c: (-c.created_at.timestamp(), -c.id))
    assert len(urls) == 11
    # Two numbered pages fit under the cap of 10 rows; beyond, the pager carries a keyset cursor.
    assert "apres=" not in urls[1] and all("apres=" in u for u in urls[3:])


def test_previous_link_of_a_keyset_page_shows_the_rows_before(client, auth, liste):
    auth.login()
    seen, urls = walk(client, liste)
    deep = client.get(urls[6]).get_data(as_text=True)
    previous = client.get(link(deep, "prev")).get_data(as_text=True)
    assert emails(previous) == seen[25:30]
    assert "avant=" in link(deep, "prev")


def test_sort_on_a_column_gets_the_id_as_tiebreaker(client, auth, liste):
    auth.login()
    seen, _urls = walk(client, liste + "?sort=1")
    assert seen == expected_order(lambda c: (c.nom, c.id))
    seen_desc, _urls = walk(client, liste + "?sort=1&desc=1")
    assert seen_desc == list(reversed(seen))


def test_a_page_number_beyond_the_cap_shows_the_last_numbered_page_and_says_why(client, auth, liste):
    auth.login()
    body = html.unescape(client.get(liste + "?page=40").get_data(as_text=True))
    assert "Les pages au-delà de la page 3 s'atteignent avec « Suivante »" in body
    assert emails(body) == expected_order(lambda c: (-c.created_at.timestamp(), -c.id))[10:15]


def test_search_matches_the_start_of_names_and_emails_in_usual_cases(client, auth, liste):
    auth.login()
    body = client.get(liste + "?search=dup").get_data(as_text=True)
    found = emails(body)
    assert found and all(e.startswith(("dupont", "dupond")) for e in found)
    assert "27 résultats" in body or "Plus de 20" in body
    assert {"Dupont", "DUPONT", "dupont"} <= set(re.findall(r">\s*(Dupont|DUPONT|dupont)\s*<", body))
    assert "Aucun résultat" in client.get(liste + "?search=pont").get_data(as_text=True)
    both = client.get(liste + "?search=martin+%C3%A9lo").get_data(as_text=True)
    assert "7 résultats" in both
    assert 'placeholder="Rechercher (début de : email, nom, prénom)"' in body


def test_date_jump_starts_the_list_at_that_day(client, auth, liste):
    auth.login()
    body = client.get(liste + "?date=01/03/2025").get_data(as_text=True)
    assert "à partir du 01/03/2025" in body
    # Newest first: the jump lands on the last accounts created that day (08:00 to 23:00: the first 48).
    assert emails(body) == expected_order(lambda c: (-c.created_at.timestamp(), -c.id))[5:10]
    assert re.search(r'name="date"[^>]*value="01/03/2025"|value="01/03/2025"[^>]*name="date"', body)


def test_bad_date_and_bad_cursor_get_a_message_not_an_error(client, auth, liste):
    auth.login()
    bad_date = client.get(liste + "?date=31/02/2025")
    assert bad_date.status_code == 200
    assert "Date invalide : utilisez le format jj/mm/aaaa." in bad_date.get_data(as_text=True)
    bad_cursor = client.get(liste + "?apres=n%27importe-quoi")
    assert bad_cursor.status_code == 200
    assert "Lien de page périmé" in bad_cursor.get_data(as_text=True)


def test_real_lists_show_the_count_label(client, auth, demo_data):
    auth.login()
    body = client.get("/admin/citoyens/").get_data(as_text=True)
    total = db.session.query(Citoyen).count()
    assert f"{total} résultats" in body
    assert "Rechercher (début de : " in body


def test_helpers_round_trip_and_bound_prefixes():
    token = encode_cursor([dt.date(2024, 5, 1), 42])
    assert decode_cursor(token) == ["2024-05-01", 42]
    assert prefix_bounds("dup") == ("dup", "duq")
    assert case_variants("dUP") == ["dUP", "dup", "DUP", "Dup"]
    with pytest.raises(ValueError):
        decode_cursor("%%%")
