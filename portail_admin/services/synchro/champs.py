"""The rows of each import type: fields, their checks with French messages, and their JSON schema."""
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ...models import (
    Activite,
    Classe,
    CompteMetier,
    Facture,
    Fermeture,
    Individu,
    Inscription,
    Periode,
    PieceJustificative,
    Reglement,
    Structure,
)


class Invalide(ValueError):
    """A field value refused; the message is French and completes "<champ> : "."""


def texte(longueur: int | None):
    limite = longueur or 1 << 30

    def convertir(valeur):
        if type(valeur) is not str:
            if isinstance(valeur, bool) or not isinstance(valeur, int):
                raise Invalide("texte attendu.")
            valeur = str(valeur)
        valeur = valeur.strip()
        if len(valeur) > limite:
            raise Invalide(f"trop long ({len(valeur)} caractères, {longueur} au plus).")
        if "\x00" in valeur:
            raise Invalide("caractère nul interdit.")
        return valeur

    return convertir


fromisoformat = dt.date.fromisoformat


def date(valeur):
    """AAAA-MM-JJ (what Enfance sends) or JJ/MM/AAAA (CSV files edited by hand); stored as ISO text."""
    if type(valeur) is str and len(valeur) == 10:
        try:
            if valeur[4] == "-" and valeur[7] == "-":
                fromisoformat(valeur)
                return valeur
            if valeur[2] == "/":
                return dt.date(int(valeur[6:]), int(valeur[3:5]), int(valeur[:2])).isoformat()
        except ValueError:
            pass
    raise Invalide(f"date invalide « {valeur} » (attendu AAAA-MM-JJ ou JJ/MM/AAAA).")


def montant(valeur):
    """Euros (number or text, "12.50" or "12,50"), positive or zero, to the cent; stored as integer cents."""
    if isinstance(valeur, bool):
        raise Invalide(f"montant non numérique « {valeur} ».")
    try:
        euros = Decimal(valeur.replace(",", ".").strip() if isinstance(valeur, str) else str(valeur))
    except (InvalidOperation, TypeError):
        raise Invalide(f"montant non numérique « {valeur} ».") from None
    if not euros.is_finite():
        raise Invalide(f"montant non numérique « {valeur} ».")
    if euros < 0:
        raise Invalide(f"montant négatif ({valeur}).")
    centimes = euros * 100
    if centimes != centimes.to_integral_value():
        raise Invalide(f"montant non exprimé au centime près ({valeur}).")
    if centimes >= 10 ** 15:
        raise Invalide(f"montant trop grand ({valeur}).")
    return int(centimes)


VRAI = {True: True, False: False, "1": True, "0": False, "true": True, "false": False,
        "oui": True, "non": False, "o": True, "n": False, "vrai": True, "faux": False}


def booleen(valeur):
    cle = valeur.strip().lower() if isinstance(valeur, str) else valeur
    try:
        return VRAI[cle]
    except (KeyError, TypeError):
        raise Invalide(f"valeur « {valeur} » non reconnue (true/false, oui/non, 1/0).") from None


def entier(valeur):
    if isinstance(valeur, bool):
        raise Invalide(f"nombre entier attendu, « {valeur} » reçu.")
    try:
        nombre = int(valeur.strip()) if isinstance(valeur, str) else int(valeur)
    except (TypeError, ValueError, OverflowError):
        raise Invalide(f"nombre entier attendu, « {valeur} » reçu.") from None
    if nombre != valeur and not isinstance(valeur, str) or not 0 <= nombre < 2 ** 31:
        raise Invalide(f"nombre entier positif attendu, « {valeur} » reçu.")
    return nombre


def choix(valeurs: dict):
    def convertir(valeur):
        if isinstance(valeur, str) and (cle := valeur.strip().lower()) in valeurs:
            return cle
        raise Invalide(f"« {valeur} » inconnu (valeurs possibles : {', '.join(valeurs)}).")

    return convertir


def annee_scolaire(valeur):
    valeur = texte(9)(valeur)
    if not re.fullmatch(r"\d{4}-\d{4}", valeur) or int(valeur[5:]) != int(valeur[:4]) + 1:
        raise Invalide(f"« {valeur} » n'est pas une année scolaire (ex. 2025-2026).")
    return valeur


#: Referenced records: (table, key column, extra condition, label in messages).
REFERENCES = {
    "compte": ("comptes_metier", "code", "univers = 'enfance'", "compte famille"),
    "structure": ("structures", "reference", None, "structure"),
    "activite": ("activites", "reference", None, "activité"),
    "periode": ("periodes", "reference", None, "période"),
    "classe": ("classes", "reference", None, "classe"),
    "individu": ("individus", "reference", None, "individu"),
}


@dataclass
class Champ:
    """One field of a row: its name in the batch, its column, how it is checked."""

    nom: str
    colonne: str
    #: The JSON schema of the value as Enfance sends it.
    schema: dict
    convertir: object = None
    requis: bool = False
    defaut: object = None
    #: Absent means "leave as it is" on update (archive, restant_du...); the insert uses the SQL default.
    facultatif_maj: bool = False
    #: Key of REFERENCES when the value names another record.
    reference: str | None = None
    libelle: str = ""
    #: Maximum length of a text field (its common case is checked inline by the validation loop).
    longueur: int | None = None


def _texte(nom, longueur, requis=False, defaut="", colonne=None, libelle=""):
    schema = {"type": "string", "maxLength": longueur} if longueur else {"type": "string"}
    if requis:
        schema["minLength"] = 1
    return Champ(nom, colonne or nom, schema, texte(longueur), requis, None if requis else defaut,
                 libelle=libelle or nom, longueur=longueur or 1 << 30)


def _ref(nom, requis=False):
    return Champ(nom, f"{nom}_id", {"type": "string", "maxLength": 64, **({"minLength": 1} if requis else {})},
                 texte(64), requis, reference=nom, libelle=REFERENCES[nom][3], longueur=64)


def _date(nom, requis=False, libelle=""):
    return Champ(nom, nom, {"type": "string", "format": "date"}, date, requis, libelle=libelle or nom)


def _montant(nom, requis=False, facultatif_maj=False, libelle=""):
    return Champ(nom, nom, {"type": "number", "minimum": 0, "multipleOf": 0.01}, montant, requis,
                 facultatif_maj=facultatif_maj, libelle=libelle or nom)


def _booleen(nom, defaut=False, facultatif_maj=False):
    return Champ(nom, nom, {"type": "boolean"}, booleen, defaut=defaut, facultatif_maj=facultatif_maj, libelle=nom)


def _entier(nom, libelle=""):
    return Champ(nom, nom, {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1}, entier, libelle=libelle or nom)


def _archive():
    return _booleen("archive", defaut=None, facultatif_maj=True)


@dataclass
class TypeImport:
    """How one import type maps to a table: upsert key, fields, fixed values, cross-field checks."""

    model: type
    cle: tuple
    champs: list
    fixes: dict = field(default_factory=dict)
    description: str = ""

    @property
    def table(self) -> str:
        return self.model.__tablename__


NUMERO = _texte("numero", 40, requis=True, libelle="numéro")
ORDRE = _entier("numero_ordre", libelle="numéro d'ordre")
EMETTEUR = _texte("emetteur", 60, defaut="Divers", libelle="émetteur")
CONTEXTE = _texte("contexte", 80)
REFERENCE = _texte("reference", 40, requis=True, libelle="référence")

TYPES = {
    "comptes": TypeImport(CompteMetier, ("emetteur", "code"), [
        _texte("code", 64, requis=True, libelle="code compte"), EMETTEUR, _texte("nom", 120, requis=True),
        _texte("prenom", 120, libelle="prénom"), _texte("email", 254, defaut=None, libelle="e-mail"), _archive(),
    ], {"univers": "enfance"}, "Comptes familles : la clé est (émetteur, code)."),
    "individus": TypeImport(Individu, ("reference",), [
        REFERENCE, _ref("compte", requis=True), _texte("nom", 120, requis=True),
        _texte("prenom", 120, requis=True, libelle="prénom"), _date("date_naissance", libelle="date de naissance"),
        Champ("role", "role", {"type": "string", "enum": list(Individu.ROLES)}, choix(Individu.ROLES), True,
              libelle="rôle"),
        _archive(),
    ], description="Membres des familles ; « compte » est le code du compte famille (univers Enfance)."),
    "structures": TypeImport(Structure, ("reference",), [
        REFERENCE, _texte("nom", 200, requis=True), _texte("type", 60), _texte("adresse", 255),
    ], {"univers": "enfance"}),
    "activites": TypeImport(Activite, ("reference",), [
        REFERENCE, _texte("nom", 200, requis=True), _ref("structure"),
    ], {"univers": "enfance"}),
    "classes": TypeImport(Classe, ("reference",), [
        REFERENCE, _texte("nom", 120, requis=True), _ref("structure"),
        Champ("annee_scolaire", "annee_scolaire", {"type": "string", "pattern": r"^\d{4}-\d{4}$"}, annee_scolaire,
              defaut="", libelle="année scolaire"),
    ]),
    "periodes": TypeImport(Periode, ("reference",), [
        REFERENCE, _texte("nom", 200, requis=True), _ref("activite"),
        _date("date_debut", True, "date de début"), _date("date_fin", True, "date de fin"),
    ]),
    "fermetures": TypeImport(Fermeture, ("reference",), [
        REFERENCE, _ref("activite"), _date("date_debut", True, "date de début"),
        _date("date_fin", True, "date de fin"), _texte("motif", 255),
    ]),
    "pieces": TypeImport(PieceJustificative, ("reference",), [
        REFERENCE, _texte("nom", 200, requis=True), _texte("description", None), _booleen("obligatoire"),
    ], {"univers": "enfance"}),
    "inscriptions": TypeImport(Inscription, ("reference",), [
        REFERENCE, _ref("individu", requis=True), _ref("activite", requis=True), _ref("periode"), _ref("classe"),
        _date("date_debut", True, "date de début"), _date("date_fin", libelle="date de fin"), _archive(),
    ]),
    "factures": TypeImport(Facture, ("numero",), [
        NUMERO, ORDRE, _ref("compte", requis=True), _date("date_emission", True, "date d'émission"),
        _date("date_echeance", libelle="date d'échéance"), _montant("montant", requis=True),
        _montant("restant_du", facultatif_maj=True, libelle="restant dû"), _booleen("payable_en_ligne"),
        EMETTEUR, CONTEXTE, _date("date_depot", libelle="date de dépôt"),
        _entier("numero_depot", libelle="numéro de dépôt"), _archive(),
    ], {"univers": "enfance"}, "Sans « restant_du », il est calculé : montant moins les règlements ventilés."),
    "reglements": TypeImport(Reglement, ("numero",), [
        NUMERO, ORDRE, _ref("compte", requis=True), _date("regle_le", True, "date de règlement"),
        _texte("payeur", 200),
        Champ("mode", "mode", {"type": "string", "enum": list(Reglement.MODES)}, choix(Reglement.MODES), True,
              libelle="mode de règlement"),
        _montant("encaisse", requis=True, libelle="montant encaissé"),
        _montant("ventile", facultatif_maj=True, libelle="montant ventilé"), _booleen("en_ligne"),
        EMETTEUR, CONTEXTE, _date("date_depot", libelle="date de dépôt"),
        _entier("numero_depot", libelle="numéro de dépôt"), _archive(),
    ], {"univers": "enfance"},
        "« ventilations » (facultatif) remplace la répartition du règlement sur les factures : "
        "[{\"facture\": numéro, \"montant\": euros}] ; les restants dus des factures concernées sont recalculés."),
}

#: Ventilations carried by a payment row.
VENTILATION_SCHEMA = {
    "type": "object",
    "required": ["facture", "montant"],
    "properties": {"facture": {"type": "string", "minLength": 1, "maxLength": 40},
                   "montant": {"type": "number", "minimum": 0.01, "multipleOf": 0.01}},
}


def verifier_ensemble(type_import: str, valeurs: dict) -> list[tuple[str, str]]:
    """Checks across fields of one row (already converted); returns (field, message) pairs."""
    erreurs = []
    debut, fin = valeurs.get("date_debut"), valeurs.get("date_fin")
    if debut and fin and fin < debut:
        erreurs.append(("date_fin", "la date de fin précède la date de début."))
    if type_import == "factures":
        if valeurs.get("restant_du") is not None and valeurs["restant_du"] > valeurs["montant"]:
            erreurs.append(("restant_du", "le restant dû dépasse le montant de la facture."))
    if type_import == "reglements":
        if valeurs.get("ventile") is not None and valeurs["ventile"] > valeurs["encaisse"]:
            erreurs.append(("ventile", "le montant ventilé dépasse le montant encaissé."))
    return erreurs


def numero_ordre(numero: str) -> int | None:
    """The sequence number when Enfance does not send it: the digits at the end of the number."""
    trouve = re.search(r"(\d{1,9})$", numero)
    return int(trouve.group(1)) if trouve else None


def schema_ligne(type_import: str) -> dict:
    """The JSON schema of one row of a type (for the OpenAPI document)."""
    spec = TYPES[type_import]
    proprietes = {c.nom: dict(c.schema) for c in spec.champs}
    for champ in spec.champs:
        if not champ.requis and champ.nom not in spec.cle:
            proprietes[champ.nom]["nullable"] = True
    if type_import == "reglements":
        proprietes["ventilations"] = {"type": "array", "items": VENTILATION_SCHEMA}
    requis = [c.nom for c in spec.champs if c.requis]
    schema = {"type": "object", "required": requis, "properties": proprietes}
    if spec.description:
        schema["description"] = spec.description
    return schema


def compiler_ligne(spec: TypeImport):
    """A function converting one row of this type: (row dict, line, erreur) -> (values in field order, ok).

    It is generated once per type with each field unrolled, the common case of a text field inline and the
    other converters called directly: the row loop is the import's hot path (a generic loop over the fields
    costs about twice as much).
    erreur(line, field, message) is called for each bad field.
    """
    champs = spec.champs

    def lent(index, valeur, ligne, erreur):
        """The general case of one field: absent, or converted by its function; (value, ok)."""
        champ = champs[index]
        if valeur is None or (type(valeur) is str and not valeur.strip()):
            if champ.requis:
                erreur(ligne, champ.nom, f"{champ.libelle} obligatoire.")
                return None, False
            return champ.defaut, True
        try:
            return champ.convertir(valeur), True
        except Invalide as exc:
            erreur(ligne, champ.nom, f"{champ.libelle} : {exc}")
            return None, False

    lignes = ["def convertir_ligne(objet, ligne, erreur):", "    get = objet.get", "    bonne = True"]
    for index, champ in enumerate(champs):
        lignes.append(f"    v = get({champ.nom!r})")
        lent_appel = [f"v{index}, ok = lent({index}, v, ligne, erreur)", "bonne = bonne and ok"]
        if champ.longueur:
            lignes += ["    if type(v) is str:", "        t = v.strip()",
                       f"        if t and len(t) <= {champ.longueur} and '\\x00' not in t:",
                       f"            v{index} = t", "        else:"]
            lignes += [f"            {code}" for code in lent_appel]
            lignes.append("    else:")
            lignes += [f"        {code}" for code in lent_appel]
        else:
            # Every converter refuses a blank value, so the general case only sees what it would anyway.
            lignes.append("    if v is None:")
            if champ.requis:
                lignes += [f"        {code}" for code in lent_appel]
            else:
                lignes.append(f"        v{index} = defaut{index}")
            lignes += ["    else:", "        try:", f"            v{index} = convertir{index}(v)",
                       "        except Invalide:"]
            lignes += [f"            {code}" for code in lent_appel]
    lignes.append(f"    return [{', '.join(f'v{i}' for i in range(len(champs)))}], bonne")
    espace = {"lent": lent, "Invalide": Invalide}
    for index, champ in enumerate(champs):
        espace[f"convertir{index}"] = champ.convertir
        espace[f"defaut{index}"] = champ.defaut
    exec(compile("\n".join(lignes), f"<import {spec.table}>", "exec"), espace)  # noqa: S102 (our own code)
    return espace["convertir_ligne"]
