"""API of the requests: intake from the citizen portal; pull, acknowledgement and decision by Enfance."""
import datetime as dt

from flask import jsonify, request, url_for

from ..extensions import db
from ..formatting import iso_utc, local
from ..jobs.courriels import planifier
from ..models import Citoyen, Demande, utcnow
from ..services import ServiceError
from ..services import demandes as service
from . import ApiError, bp, json_body, require_token
from .openapi import FRAGMENTS

#: A request is a few fields and a message: anything bigger is refused before it is read.
LIMITE_CORPS = 64 * 1024
LIMITE_PAGE = 500
#: Largest request id (a PostgreSQL integer): a larger cursor is refused rather than overflowing in SQL.
ID_MAX = 2**31 - 1
ETATS_ENFANCE = ("a_transmettre", "transmise", "traitee")


def _corps_json() -> dict:
    request.max_content_length = LIMITE_CORPS
    if request.content_length is not None and request.content_length > LIMITE_CORPS:
        raise ApiError(413, f"Corps de requête trop volumineux ({request.content_length} octets, "
                            f"{LIMITE_CORPS} au plus).")
    return json_body()


def _json(demande: Demande) -> dict:
    citoyen: Citoyen | None = demande.citoyen
    compte = demande.compte
    return {
        "reference": demande.reference,
        "type": demande.type,
        "etat": demande.etat,
        "date": iso_utc(demande.created_at),
        "email": demande.email,
        "citoyen": None if citoyen is None else {"nom": citoyen.nom, "prenom": citoyen.prenom,
                                                 "civilite": citoyen.civilite},
        "compte": None if compte is None else {"code": compte.code, "emetteur": compte.emetteur},
        "contenu": demande.contenu,
        "transmise_le": iso_utc(demande.transmise_le),
        "decision": demande.decision,
        "motif": demande.motif,
        "date_decision": demande.decide_le.isoformat() if demande.decide_le else None,
    }


def _demande(reference: str) -> Demande:
    demande = service.par_reference(reference)
    if demande is None:
        raise ApiError(404, f"Aucune demande n'a la référence « {reference} ».")
    return demande


def _refus(exc: ServiceError) -> ApiError:
    db.session.rollback()
    if isinstance(exc, service.CompteInconnu):
        return ApiError(422, str(exc), exc.details)
    if isinstance(exc, service.DejaTraitee):
        return ApiError(409, str(exc))
    return ApiError(400, str(exc), getattr(exc, "details", None) or None)


@bp.route("/portail/demandes", methods=["POST"])
@require_token("portail")
def creer_demande():
    """A family's request from the citizen portal: stored, acknowledged by e-mail; 201 with its reference."""
    corps = _corps_json()
    try:
        demande, courriels = service.recevoir(corps.get("email"), corps.get("type"), corps.get("contenu"))
    except ServiceError as exc:
        raise _refus(exc) from exc
    reponse = {"reference": demande.reference, "etat": demande.etat, "date": iso_utc(demande.created_at)}
    db.session.commit()
    planifier(courriels)
    return jsonify(reponse), 201


@bp.route("/enfance/demandes", methods=["GET"])
@require_token("enfance")
def lister_demandes():
    """Enfance requests in a state (default: not yet acknowledged), oldest first, paged by an id cursor."""
    etat = request.args.get("etat", "a_transmettre")
    if etat not in ETATS_ENFANCE:
        raise ApiError(400, f"État inconnu : « {etat} » (attendu : {', '.join(ETATS_ENFANCE)}).")
    try:
        apres = int(request.args.get("apres", 0))
        limite = int(request.args.get("limite", 100))
    except ValueError as exc:
        raise ApiError(400, "Les paramètres « apres » et « limite » doivent être des nombres entiers.") from exc
    if not 1 <= limite <= LIMITE_PAGE or not 0 <= apres <= ID_MAX:
        raise ApiError(400, f"« limite » doit être entre 1 et {LIMITE_PAGE}, « apres » entre 0 et {ID_MAX}.")
    lignes = service.a_transmettre(etat, apres, limite)
    suivant = str(lignes[-1].id) if len(lignes) == limite else None
    return jsonify({
        "demandes": [_json(d) for d in lignes],
        "curseur_suivant": suivant,
        "suivante": url_for(".lister_demandes", etat=etat, apres=suivant, limite=limite) if suivant else None,
    })


@bp.route("/enfance/demandes/<reference>", methods=["GET"])
@require_token("enfance")
def lire_demande(reference):
    """One request, as the Enfance application sees it."""
    return jsonify(_json(_demande(reference)))


@bp.route("/enfance/demandes/<reference>/transmission", methods=["POST"])
@require_token("enfance")
def accuser_transmission(reference):
    """Enfance has the request: history "Demande transmise à l'application métier"; a repeat is harmless."""
    demande = _demande(reference)
    try:
        premiere = service.transmettre(demande)
    except ServiceError as exc:
        raise _refus(exc) from exc
    reponse = {**_json(demande), "deja_transmise": not premiere}
    db.session.commit()
    return jsonify(reponse)


@bp.route("/enfance/demandes/<reference>/decision", methods=["POST"])
@require_token("enfance")
def enregistrer_decision(reference):
    """Enfance's outcome (acceptee / refusee, motif, date): request treated, accusé de traitement sent."""
    corps = _corps_json()
    demande = _demande(reference)
    details = {}
    decision = corps.get("decision")
    if not isinstance(decision, str) or decision not in Demande.DECISIONS:
        details["decision"] = f"obligatoire ; valeurs possibles : {', '.join(Demande.DECISIONS)}"
    motif = corps.get("motif")
    if motif is not None and (not isinstance(motif, str) or len(motif) > service.LONGUEURS["motif"]):
        details["motif"] = f"texte de {service.LONGUEURS['motif']} caractères au plus"
    date = local(utcnow()).date()
    if corps.get("date") is not None:
        try:
            date = dt.date.fromisoformat(corps["date"])
        except (TypeError, ValueError):
            details["date"] = "date au format AAAA-MM-JJ"
    if details:
        raise ApiError(400, "La décision est incomplète ou invalide.", details)
    try:
        courriels = service.decider(demande, decision, motif, date)
    except ServiceError as exc:
        raise _refus(exc) from exc
    reponse = {**_json(demande), "deja_traitee": not courriels}
    db.session.commit()
    planifier(courriels)
    return jsonify(reponse)


_ERREURS = {
    "400": {"description": "Requête invalide : le message et les champs en cause",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erreur"}}}},
    "401": {"description": "Jeton absent ou invalide"},
    "403": {"description": "Jeton d'une autre portée"},
}
_REF = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}, "example": "D2026-000123"}
_DEMANDE_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Demande"}}}

FRAGMENTS.append({
    "paths": {
        "/portail/demandes": {"post": {
            "tags": ["Portail citoyen"],
            "summary": "Déposer une demande (portée portail)",
            "description": "Enregistre la demande d'une famille et lui envoie l'accusé de réception. Les demandes "
                           "Enfance attendent l'application métier ; une demande de contact est envoyée par "
                           f"courriel à l'agent désigné. Corps limité à {LIMITE_CORPS // 1024} Ko.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/NouvelleDemande"}}}},
            "responses": {
                "201": {"description": "Demande enregistrée", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["reference", "etat", "date"],
                    "properties": {"reference": {"type": "string", "example": "D2026-000123"},
                                   "etat": {"type": "string", "enum": ["a_transmettre", "a_traiter"]},
                                   "date": {"type": "string", "format": "date-time"}}}}}},
                **_ERREURS,
                "413": {"description": "Corps trop volumineux"},
                "415": {"description": "Le corps n'est pas du JSON"},
                "422": {"description": "Aucun compte citoyen avec cette adresse"},
            },
        }},
        "/enfance/demandes": {"get": {
            "tags": ["Application Enfance"],
            "summary": "Demandes Enfance à traiter (portée enfance)",
            "description": "Les demandes non acquittées restent listées (au moins une fois). Pagination par "
                           "curseur : repasser `curseur_suivant` dans `apres`.",
            "parameters": [
                {"name": "etat", "in": "query", "schema": {"type": "string", "enum": list(ETATS_ENFANCE),
                                                           "default": "a_transmettre"}},
                {"name": "apres", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX,
                                                            "default": 0}},
                {"name": "limite", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                             "maximum": LIMITE_PAGE, "default": 100}},
            ],
            "responses": {"200": {"description": "Une page de demandes", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "demandes": {"type": "array", "items": {"$ref": "#/components/schemas/Demande"}},
                    "curseur_suivant": {"type": "string", "nullable": True},
                    "suivante": {"type": "string", "nullable": True}}}}}}, **_ERREURS},
        }},
        "/enfance/demandes/{reference}": {"get": {
            "tags": ["Application Enfance"], "summary": "Une demande", "parameters": [_REF],
            "responses": {"200": {"description": "La demande", "content": _DEMANDE_JSON}, **_ERREURS,
                          "404": {"description": "Référence inconnue"}},
        }},
        "/enfance/demandes/{reference}/transmission": {"post": {
            "tags": ["Application Enfance"],
            "summary": "Accuser réception d'une demande",
            "description": "Historique « Demande transmise à l'application métier ». Un second appel ne change rien.",
            "parameters": [_REF],
            "responses": {"200": {"description": "Demande transmise", "content": _DEMANDE_JSON}, **_ERREURS,
                          "404": {"description": "Référence inconnue"}},
        }},
        "/enfance/demandes/{reference}/decision": {"post": {
            "tags": ["Application Enfance"],
            "summary": "Enregistrer la décision",
            "description": "La demande passe à « traitée » et la famille reçoit l'accusé de traitement. Répéter la "
                           "même décision ne change rien ; une décision contraire est refusée (409).",
            "parameters": [_REF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["decision"], "additionalProperties": False,
                "properties": {
                    "decision": {"type": "string", "enum": list(Demande.DECISIONS)},
                    "motif": {"type": "string", "maxLength": service.LONGUEURS["motif"]},
                    "date": {"type": "string", "format": "date", "description": "par défaut : aujourd'hui"}}}}}},
            "responses": {"200": {"description": "Décision enregistrée", "content": _DEMANDE_JSON}, **_ERREURS,
                          "404": {"description": "Référence inconnue"},
                          "409": {"description": "Déjà traitée avec une autre décision"},
                          "413": {"description": "Corps trop volumineux"},
                          "415": {"description": "Le corps n'est pas du JSON"}},
        }},
    },
    "schemas": {
        "NouvelleDemande": {
            "type": "object", "required": ["email", "type", "contenu"],
            "properties": {
                "email": {"type": "string", "format": "email", "description": "adresse du compte citoyen"},
                "type": {"type": "string", "enum": list(Demande.TYPES)},
                "contenu": {"oneOf": [{"$ref": f"#/components/schemas/Contenu_{t}"} for t in Demande.TYPES]},
            },
        },
        "Contenu_contact": {"type": "object", "required": ["objet", "message"], "additionalProperties": False,
                            "properties": {"objet": {"type": "string", "maxLength": 200},
                                           "message": {"type": "string", "maxLength": 5000}}},
        "Contenu_reservation": {"type": "object", "required": ["activite", "dates"], "additionalProperties": False,
                                "properties": {"activite": {"type": "string", "maxLength": 200},
                                               "dates": {"type": "array", "minItems": 1, "maxItems": 366,
                                                         "items": {"type": "string", "format": "date"}},
                                               "enfant": {"type": "string", "maxLength": 200}}},
        "Contenu_absence": {"type": "object", "required": ["activite", "dates", "motif"],
                            "additionalProperties": False,
                            "properties": {"activite": {"type": "string", "maxLength": 200},
                                           "dates": {"type": "array", "minItems": 1, "maxItems": 366,
                                                     "items": {"type": "string", "format": "date"}},
                                           "motif": {"type": "string", "maxLength": 1000},
                                           "enfant": {"type": "string", "maxLength": 200}}},
        "Contenu_dossier_famille": {"type": "object", "required": ["champ", "nouvelle_valeur"],
                                    "additionalProperties": False,
                                    "properties": {"champ": {"type": "string", "maxLength": 80},
                                                   "nouvelle_valeur": {"type": "string", "maxLength": 1000}}},
        "Demande": {
            "type": "object",
            "properties": {
                "reference": {"type": "string"},
                "type": {"type": "string", "enum": list(Demande.TYPES)},
                "etat": {"type": "string", "enum": list(Demande.ETATS)},
                "date": {"type": "string", "format": "date-time"},
                "email": {"type": "string"},
                "citoyen": {"type": "object", "nullable": True},
                "compte": {"type": "object", "nullable": True},
                "contenu": {"type": "object"},
                "transmise_le": {"type": "string", "format": "date-time", "nullable": True},
                "decision": {"type": "string", "enum": list(Demande.DECISIONS), "nullable": True},
                "motif": {"type": "string", "nullable": True},
                "date_decision": {"type": "string", "format": "date", "nullable": True},
            },
        },
    },
})
