"""Administration › État des traitements: columns as the seed, filters, progress, detail with errors, relaunch."""
import datetime as dt
import io
import json
import re

from portail_admin.extensions import db
from portail_admin.jobs import imports as jobs_imports
from portail_admin.models import CompteMetier, Individu, Traitement, utcnow
from portail_admin.services import synchro
from portail_admin.tests.conftest import csrf_token

LISTE = "/admin/traitements/"


def lot(type_import, lignes) -> Traitement:
    """A run received and executed in this process (no Redis), as the API does."""
    traitement = synchro.recevoir(type_import, io.BytesIO(json.dumps(lignes).encode()), "json")
    db.session.commit()
    return jobs_imports.lancer(traitement)


def test_agents_cannot_open_the_screen(client, auth, demo_data):
    auth.login()
    assert client.get(LISTE).status_code == 403


def test_the_list_shows_the_seed_columns_newest_first(client, auth, demo_data):
    db.session.execute(db.delete(Traitement))
    debut = dt.datetime(2019, 1, 15, 10, 40)
    db.session.add_all([
        Traitement(created_at=debut, debut=debut, fin=debut + dt.timedelta(seconds=2), type="individus", nombre=4,
                   avancement=100, resultat="succes"),
        Traitement(created_at=debut - dt.timedelta(minutes=1), debut=debut, fin=debut, type="inscriptions",
                   nombre=17, avancement=50, resultat="erreur", compteurs={"erreurs": 3},
                   erreurs=[{"ligne": 2, "champ": "individu", "message": "individu « X » inconnu."}]),
    ])
    db.session.commit()
    auth.login("admin@demo.fr")
    page = client.get(LISTE).get_data(as_text=True)
    entetes = re.findall(r'<th class="column-header[^"]*">\s*(?:<a [^>]*>)?\s*([^<]+?)\s*<', page)
    assert entetes == ["Date", "Durée", "Avancement %", "Univers", "Type", "Nombre", "Résultat"]
    assert page.index("15/01/2019 11:40") < page.index("15/01/2019 11:39")
    assert "Import individus en masse" in page and "Import inscriptions en masse" in page
    assert "2 sec" in page and "✓" in page and "3 lignes en erreur" in page and "Enfance" in page
    assert 'value="100"' in page


def test_filters_by_type_and_result(client, auth, demo_data):
    auth.login("admin@demo.fr")
    # Flask-Admin names filters by position: 0 is Type, 1 is Résultat.
    page = client.get(f"{LISTE}?flt0_0=factures").get_data(as_text=True)
    assert set(cellules(page, "type")) == {"Import factures en masse"}
    page = client.get(f"{LISTE}?flt0_1=erreur").get_data(as_text=True)
    resultats = cellules(page, "resultat")
    assert resultats and all(r == "Famille inconnue : 99999999." or "erreur" in r for r in resultats)


def cellules(page: str, colonne: str) -> list[str]:
    """The texts of one column of the list."""
    return [re.sub(r"<[^>]+>", "", cellule).strip()
            for cellule in re.findall(rf'<td class="col-{colonne}">(.*?)</td>', page, re.S)]


def test_a_running_import_shows_a_live_progress_bar(client, auth, demo_data):
    run = Traitement(type="individus", nombre=1000, avancement=35, resultat="en_cours", debut=utcnow(),
                     heartbeat=utcnow())
    db.session.add(run)
    db.session.commit()
    auth.login("admin@demo.fr")
    page = client.get(LISTE).get_data(as_text=True)
    assert f'data-traitement="{run.id}"' in page and 'value="35"' in page and "traitements.js" in page
    # The bar is updated by the page's script file: no inline script (refused by the CSP anyway).
    assert "En cours" in page and not re.search(r"<script\b(?![^>]*\bsrc=)", page)
    statut = client.get(f"{LISTE}statut.json?ids={run.id}").get_json()
    assert statut[str(run.id)] == {"avancement": 35, "resultat": "en_cours", "resultat_libelle": "En cours"}
    # The worker died: its heartbeat went stale; the screen marks it failed, never "en cours" forever.
    run.heartbeat = utcnow() - dt.timedelta(hours=1)
    db.session.commit()
    page = client.get(LISTE).get_data(as_text=True)
    assert "Traitement interrompu" in page and f'data-traitement="{run.id}"' not in page


def test_detail_shows_errors_and_log_and_an_admin_relaunches(client, auth, demo_data):
    lignes = [{"reference": "NOUV-1", "compte": "FAM-NOUVELLE", "nom": "PETIT", "prenom": "Lou", "role": "enfant"}]
    run = lot("individus", lignes)
    assert db.session.get(Traitement, run.id).resultat == "erreur"
    auth.login("admin@demo.fr")
    detail = f"/admin/traitements/details/?id={run.id}"
    page = client.get(detail).get_data(as_text=True)
    assert "compte famille « FAM-NOUVELLE » inconnu." in page and "Journal" in page and "Import refusé" in page
    assert "Relancer" in page
    # Without the CSRF token the relaunch is refused and nothing moves.
    assert client.post(f"/admin/traitements/relancer/{run.id}").status_code == 400
    db.session.add(CompteMetier(univers="enfance", emetteur="Divers", code="FAM-NOUVELLE", nom="PETIT"))
    db.session.commit()
    reponse = client.post(f"/admin/traitements/relancer/{run.id}", data={"csrf_token": csrf_token(client, detail)},
                          follow_redirects=True)
    page = reponse.get_data(as_text=True)
    assert f"Traitement n° {run.id} relancé" in page and "Relance demandée par admin@demo.fr" in page
    db.session.expire_all()
    assert db.session.get(Traitement, run.id).resultat == "succes"
    assert db.session.scalar(db.select(Individu).where(Individu.reference == "NOUV-1")).prenom == "Lou"


def test_a_run_in_progress_cannot_be_relaunched(client, auth, demo_data):
    run = Traitement(type="individus", nombre=3, resultat="en_cours", fichier="absent.ndjson", debut=utcnow(),
                     heartbeat=utcnow())
    db.session.add(run)
    db.session.commit()
    auth.login("admin@demo.fr")
    detail = f"/admin/traitements/details/?id={run.id}"
    page = client.get(detail).get_data(as_text=True)
    assert 'class="my-3 relancer"' not in page
    reponse = client.post(f"/admin/traitements/relancer/{run.id}",
                          data={"csrf_token": csrf_token(client, "/admin/traitements/")}, follow_redirects=True)
    assert "déjà en attente ou en cours" in reponse.get_data(as_text=True)
