"""Enfance pushes mass imports here (one RQ job per batch) and follows each run's progress."""
from flask import request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import db
from ..formatting import datetime_fr, duree_fr, iso_utc
from ..jobs import imports as jobs_imports
from ..models import UNIVERS, Traitement
from ..services import synchro
from ..services.synchro.champs import schema_ligne
from . import ApiError, bp, require_token
from .openapi import FRAGMENTS

#: Content types accepted for a batch, and the format each one means.
CONTENT_TYPES = {"application/json": "json", "application/x-ndjson": "ndjson", "application/ndjson": "ndjson"}


@bp.route("/enfance/imports/<type_import>", methods=["POST"])
@require_token("enfance")
def recevoir_import(type_import):
    """Receive a batch (JSON list or NDJSON), keep it, queue its job; 202 with the run's status URL."""
    if type_import not in synchro.TYPES:
        raise ApiError(404, f"Type d'import inconnu : « {type_import} ».", {"types": list(synchro.TYPES)})
    format = CONTENT_TYPES.get(request.mimetype)
    if format is None:
        raise ApiError(415, "Content-Type attendu : application/json (tableau de lignes) ou application/x-ndjson "
                            "(une ligne JSON par enregistrement).")
    try:
        # The body is read block by block straight to a file: a batch of a million rows never sits in memory.
        traitement = synchro.recevoir(type_import, request.stream, format, source="api")
    except RequestEntityTooLarge as exc:
        raise ApiError(413, "Lot trop volumineux : découpez-le en plusieurs envois.") from exc
    except synchro.LotInvalide as exc:
        raise ApiError(400, str(exc)) from exc
    db.session.commit()
    jobs_imports.lancer(traitement)
    db.session.refresh(traitement)
    response = _statut(traitement)
    return response, 202, {"Location": response["statut_url"]}


@bp.route("/enfance/imports/<int:traitement_id>", methods=["GET"])
@require_token("enfance")
def statut_import(traitement_id):
    """A run's state: progress, counts, result, errors with their line numbers."""
    # An id beyond the column's range names no run (and must not reach PostgreSQL as an out-of-range integer).
    traitement = db.session.get(Traitement, traitement_id) if traitement_id < 2 ** 31 else None
    if traitement is None:
        raise ApiError(404, f"Traitement n° {traitement_id} introuvable.")
    if traitement.resultat in ("en_attente", "en_cours"):
        jobs_imports.balayer()
        db.session.refresh(traitement)
    return _statut(traitement)


def _statut(traitement: Traitement) -> dict:
    duree = traitement.duree
    return {
        "id": traitement.id,
        "type": traitement.type,
        "libelle": Traitement.TYPES.get(traitement.type, traitement.type),
        "univers": UNIVERS.get(traitement.univers, traitement.univers),
        "resultat": traitement.resultat,
        "resultat_libelle": Traitement.RESULTATS.get(traitement.resultat, traitement.resultat),
        "avancement": traitement.avancement,
        "nombre": traitement.nombre,
        "compteurs": traitement.compteurs or {},
        "erreurs": traitement.erreurs or [],
        "recu_le": iso_utc(traitement.created_at),
        "recu_le_fr": datetime_fr(traitement.created_at),
        "debut": iso_utc(traitement.debut),
        "fin": iso_utc(traitement.fin),
        "duree": duree_fr(duree) if duree is not None else None,
        "statut_url": url_for("api.statut_import", traitement_id=traitement.id, _external=False),
    }


def _fragment() -> dict:
    erreur = {"description": "Erreur",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erreur"}}}}
    statut = {"description": "État du traitement",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TraitementImport"}}}}
    paths, schemas = {}, {}
    for type_import, libelle in Traitement.TYPES.items():
        nom = f"Ligne{type_import.capitalize()}"
        schemas[nom] = schema_ligne(type_import)
        paths[f"/enfance/imports/{type_import}"] = {"post": {
            "summary": libelle,
            "description": "Lot de lignes : tableau JSON, ou NDJSON (une ligne JSON par enregistrement, "
                           "Content-Type: application/x-ndjson) pour les gros lots. Mise à jour par référence : "
                           "un lot rejoué donne le même résultat ; les lignes absentes ne sont pas supprimées, "
                           "« archive »: true archive. Réponse 202 : suivre statut_url.",
            "tags": ["Enfance"],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "array", "minItems": 1,
                                                 "items": {"$ref": f"#/components/schemas/{nom}"}}}}},
            "responses": {"202": statut, "400": erreur, "401": erreur, "403": erreur, "413": erreur, "415": erreur},
        }}
    paths["/enfance/imports/{traitement_id}"] = {"get": {
        "summary": "État d'un traitement d'import",
        "tags": ["Enfance"],
        "parameters": [{"name": "traitement_id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2 ** 31 - 1}}],
        "responses": {"200": statut, "401": erreur, "403": erreur, "404": erreur},
    }}
    schemas["TraitementImport"] = {
        "type": "object",
        "required": ["id", "type", "resultat", "avancement", "nombre", "erreurs", "statut_url"],
        "properties": {
            "id": {"type": "integer"}, "type": {"type": "string", "enum": list(Traitement.TYPES)},
            "libelle": {"type": "string"}, "univers": {"type": "string"},
            "resultat": {"type": "string", "enum": list(Traitement.RESULTATS)},
            "resultat_libelle": {"type": "string"},
            "avancement": {"type": "integer", "minimum": 0, "maximum": 100}, "nombre": {"type": "integer"},
            "compteurs": {"type": "object", "properties": {k: {"type": "integer"} for k in
                                                           ("lignes", "ecrites", "inchangees", "erreurs")}},
            "erreurs": {"type": "array", "items": {"type": "object", "properties": {
                "ligne": {"type": "integer", "nullable": True}, "champ": {"type": "string", "nullable": True},
                "message": {"type": "string"}}}},
            "recu_le": {"type": "string", "format": "date-time"}, "recu_le_fr": {"type": "string"},
            "debut": {"type": "string", "format": "date-time", "nullable": True},
            "fin": {"type": "string", "format": "date-time", "nullable": True},
            "duree": {"type": "string", "nullable": True}, "statut_url": {"type": "string"},
        },
    }
    return {"paths": paths, "schemas": schemas}


FRAGMENTS.append(_fragment())
