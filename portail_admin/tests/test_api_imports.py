"""The import API for Enfance: 202 and a status URL, JSON errors, linked records, and a fuzzing pass (no 500)."""
import json

import pytest
from flask import url_for

from portail_admin.extensions import db
from portail_admin.models import CompteMetier, Individu, Traitement
from portail_admin.services.synchro import TYPES

URL = "/api/v1/enfance/imports"
FAMILLES = [{"code": "ENF-77", "nom": "BERNARD", "prenom": "Claire", "email": "claire@example.fr"}]
MEMBRES = [{"reference": "IND-1", "compte": "ENF-77", "nom": "BERNARD", "prenom": "Hugo", "role": "enfant",
            "date_naissance": "2017-05-03"},
           {"reference": "IND-2", "compte": "ENF-77", "nom": "BERNARD", "prenom": "Claire", "role": "responsable"}]


def ndjson(lignes) -> str:
    return "\n".join(json.dumps(ligne) for ligne in lignes) + "\n"


def test_a_batch_is_accepted_with_a_status_url_and_shows_progress_counts_and_result(client, enfance):
    reponse = client.post(f"{URL}/comptes", json=FAMILLES, headers=enfance)
    assert reponse.status_code == 202
    corps = reponse.get_json()
    assert corps["statut_url"] == f"{URL}/{corps['id']}" and reponse.headers["Location"] == corps["statut_url"]
    reponse = client.post(f"{URL}/individus", data=ndjson(MEMBRES), content_type="application/x-ndjson",
                          headers=enfance)
    statut = client.get(reponse.get_json()["statut_url"], headers=enfance).get_json()
    assert (statut["resultat"], statut["avancement"], statut["nombre"]) == ("succes", 100, 2)
    assert statut["compteurs"] == {"lignes": 2, "ecrites": 2, "inchangees": 0, "erreurs": 0}
    assert statut["libelle"] == "Import individus en masse" and statut["univers"] == "Enfance"


def test_errors_are_listed_with_line_numbers_in_the_status(client, enfance):
    client.post(f"{URL}/comptes", json=FAMILLES, headers=enfance)
    corps = ndjson(MEMBRES) + '{"reference": "IND-3", "compte": "ENF-78", "nom": "X", "prenom": "Y", ' \
                              '"role": "cousin"}\nceci n\'est pas du JSON\n'
    reponse = client.post(f"{URL}/individus", data=corps, content_type="application/x-ndjson", headers=enfance)
    statut = client.get(reponse.get_json()["statut_url"], headers=enfance).get_json()
    assert statut["resultat"] == "erreur" and statut["resultat_libelle"] == "En erreur"
    assert [(e["ligne"], e["champ"]) for e in statut["erreurs"]] == [(3, "role"), (3, "compte"), (4, None)], \
        statut["erreurs"]
    assert statut["erreurs"][2]["message"].startswith("Ce n'est pas du JSON valide")
    assert db.session.scalar(db.select(db.func.count(Individu.id))) == 0


@pytest.mark.parametrize("chemin, options, code, message", [
    ("/inconnu", {"json": [{}]}, 404, "Type d'import inconnu"),
    ("/individus", {"data": "a;b", "content_type": "text/csv"}, 415, "Content-Type attendu"),
    ("/individus", {"data": "", "content_type": "application/json"}, 400, "Le lot est vide"),
    ("/individus", {"json": []}, 400, "aucune ligne"),
    ("/individus", {"json": {"reference": "x"}}, 400, "tableau JSON"),
    ("/individus", {"data": "[{\"a\": 1},", "content_type": "application/json"}, 400, "pas terminé"),
    ("/individus", {"data": "\n\n", "content_type": "application/x-ndjson"}, 400, "Le lot est vide"),
    ("/individus", {"data": "[1]\n", "content_type": "application/x-ndjson"}, 400, "objet JSON"),
])
def test_bad_requests_get_a_json_error_and_create_no_run(client, enfance, chemin, options, code, message):
    reponse = client.post(URL + chemin, headers=enfance, **options)
    assert reponse.status_code == code and message in reponse.get_json()["erreur"]
    assert db.session.scalar(db.select(db.func.count(Traitement.id))) == 0


def test_tokens_are_required_with_the_enfance_scope(client, api_headers):
    assert client.post(f"{URL}/individus", json=MEMBRES).status_code == 401
    reponse = client.post(f"{URL}/individus", json=MEMBRES, headers=api_headers("portail"))
    assert reponse.status_code == 403 and "enfance" in reponse.get_json()["erreur"]
    assert client.get(f"{URL}/1", headers=api_headers("portail")).status_code == 403
    reponse = client.get(f"{URL}/424242", headers=api_headers("enfance"))
    assert reponse.status_code == 404 and reponse.get_json() == {"erreur": "Traitement n° 424242 introuvable."}
    assert client.get(f"{URL}/{2 ** 40}", headers=api_headers("enfance")).status_code == 404


def test_a_batch_over_the_size_limit_is_refused_and_leaves_no_file(app, client, enfance, tmp_path):
    app.config["MAX_CONTENT_LENGTH"] = 100
    reponse = client.post(f"{URL}/individus", data=ndjson(MEMBRES), content_type="application/x-ndjson",
                          headers=enfance)
    assert reponse.status_code == 413 and "trop volumineux" in reponse.get_json()["erreur"]
    assert not list((tmp_path / "imports").glob("*"))


def test_imported_individuals_show_in_the_family_lists_and_timeline(demo_data, client, enfance, auth):
    client.post(f"{URL}/comptes", json=FAMILLES, headers=enfance)
    client.post(f"{URL}/individus", json=MEMBRES, headers=enfance)
    compte = db.session.scalar(db.select(CompteMetier).where(CompteMetier.code == "ENF-77"))
    assert {i.prenom for i in compte.individus} == {"Hugo", "Claire"}
    auth.login()
    page = client.get(f"/admin/individus/?compte_id={compte.id}").get_data(as_text=True)
    assert "BERNARD Hugo" in page and "IND-1" in page and "IND-2" in page
    fiche = client.get(url_for("fiche_famille.index", compte_id=compte.id)).get_data(as_text=True)
    assert "Hugo" in fiche and "BERNARD" in fiche


def test_the_openapi_document_describes_every_type_and_its_rows(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for type_import in TYPES:
        operation = doc["paths"][f"/enfance/imports/{type_import}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        ligne = doc["components"]["schemas"][schema["items"]["$ref"].rsplit("/", 1)[1]]
        assert ligne["required"] and set(ligne["required"]) <= set(ligne["properties"])
        assert "202" in operation["responses"]
    individu = doc["components"]["schemas"]["LigneIndividus"]
    assert individu["properties"]["role"]["enum"] == ["enfant", "responsable", "conjoint"]
    assert "ventilations" in doc["components"]["schemas"]["LigneReglements"]["properties"]
    assert "/enfance/imports/{traitement_id}" in doc["paths"]


def test_fuzzing_the_import_api_finds_no_server_error(app, client, enfance):
    """schemathesis generates valid and invalid batches from the OpenAPI document; none may answer 500."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    client.post(f"{URL}/comptes", json=FAMILLES, headers=enfance)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex="^/enfance/imports")
    operations = [resultat.ok() for resultat in schema.get_all_operations()]
    assert len(operations) == len(TYPES) + 1
    vus = []
    for operation in operations:
        @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def essai(case):
            reponse = case.call(headers=enfance)
            vus.append(reponse.status_code)
            assert reponse.status_code < 500, (case.method, case.path, case.body, reponse.text)

        essai()
    assert 202 in vus
