"""The API's common ground: tokens created by the CLI and stored hashed, scopes, JSON errors, OpenAPI."""
from portail_admin.extensions import db
from portail_admin.models import ApiToken


def test_create_api_token_shows_it_once_and_stores_a_hash(runner):
    result = runner.invoke(args=["create-api-token", "portail-citoyen", "--scope", "portail"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip().splitlines()[-1]
    assert plain.startswith("pa_portail_")
    token = db.session.scalar(db.select(ApiToken))
    assert token.scope == "portail" and plain not in token.token_hash and len(token.token_hash) == 64
    again = runner.invoke(args=["create-api-token", "portail-citoyen", "--scope", "portail"])
    assert again.exit_code != 0 and "existe déjà" in again.output


def test_unknown_api_urls_and_methods_answer_json(client):
    response = client.get("/api/v1/inconnue")
    assert response.status_code == 404 and response.get_json() == {"erreur": "Page introuvable."}
    response = client.delete("/api/v1/openapi.json")
    assert response.status_code == 405 and "erreur" in response.get_json()


def test_openapi_document_is_served(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and "bearer" in doc["components"]["securitySchemes"]
