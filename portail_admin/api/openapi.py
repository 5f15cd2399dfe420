"""The OpenAPI 3 document of the API, assembled from each API module's OPENAPI fragment."""
from flask import jsonify

from . import bp

#: Modules that contribute {"paths": {...}, "schemas": {...}}; each API module appends itself.
FRAGMENTS: list[dict] = []

BASE = {
    "openapi": "3.0.3",
    "info": {
        "title": "Portail Famille — API du back-office",
        "version": "1.0.0",
        "description": "Demandes du portail citoyen, échanges avec l'application métier Enfance.",
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Erreur": {
                "type": "object",
                "required": ["erreur"],
                "properties": {"erreur": {"type": "string"}, "details": {}},
            },
        },
    },
    "security": [{"bearer": []}],
}


def document() -> dict:
    doc = {**BASE, "paths": {}, "components": {**BASE["components"],
                                                "schemas": dict(BASE["components"]["schemas"])}}
    for fragment in FRAGMENTS:
        doc["paths"].update(fragment.get("paths", {}))
        doc["components"]["schemas"].update(fragment.get("schemas", {}))
    return doc


@bp.route("/openapi.json")
def openapi_json():
    """The API description (public: it holds no data)."""
    return jsonify(document())
