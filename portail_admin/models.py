"""The portal's data model, grouped by the back-office's menu sections."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_login import UserMixin
from sqlalchemy import BigInteger, Index, TypeDecorator, UniqueConstraint, func, text

from .extensions import db

CENT = Decimal("0.01")


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: every stored datetime is UTC, shown in Europe/Paris."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Montant(TypeDecorator):
    """Euros as Decimal in Python, integer cents in the database: exact sums on SQLite and PostgreSQL."""

    impl = BigInteger
    cache_ok = True

    @property
    def python_type(self):
        return Decimal

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        cents = Decimal(str(value)) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"Montant non exprimé au centime près : {value}")
        return int(cents)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


#: Univers (business domains) a record can belong to: code -> screen label.
UNIVERS = {"enfance": "Enfance", "eau": "Eau", "divers": "Divers"}

# --------------------------------------------------------------------------- Administration


class Agent(UserMixin, db.Model):
    """A municipal staff member who logs into this back-office."""

    __tablename__ = "agents"
    ROLES = {"agent": "Agent", "admin": "Administrateur"}

    id = db.Column(db.Integer, primary_key=True)
    #: Login, stored lower case.
    email = db.Column(db.String(254), nullable=False, unique=True)
    #: Display name.
    nom = db.Column(db.String(120), nullable=False, default="")
    prenom = db.Column(db.String(120), nullable=False, default="")
    #: argon2 hash, never shown.
    password_hash = db.Column(db.String(255), nullable=False)
    #: "agent" (day-to-day screens) or "admin" (also Administration).
    role = db.Column(db.String(10), nullable=False, default="agent")
    #: A deactivated agent cannot log in and loses open sessions.
    actif = db.Column(db.Boolean, nullable=False, default=True)
    #: Bumped on logout, password change or deactivation: older session cookies stop working.
    session_version = db.Column(db.Integer, nullable=False, default=1)
    #: Consecutive failed logins, and the time until which the account is locked.
    echecs_connexion = db.Column(db.Integer, nullable=False, default=0)
    verrouille_jusqu_a = db.Column(db.DateTime)
    #: Last successful login (UTC).
    derniere_connexion = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:
        return bool(self.actif)

    def get_id(self) -> str:
        # The session version travels with the id: a bumped version invalidates old cookies.
        return f"{self.id}:{self.session_version}"

    def __str__(self) -> str:
        return self.email


class Parametre(db.Model):
    """One setting of the portal (Administration › Paramètres), as a key/value pair."""

    __tablename__ = "parametres"

    #: Setting name, e.g. "agent_contact_email".
    cle = db.Column(db.String(80), primary_key=True)
    #: Value as text; services parse it.
    valeur = db.Column(db.Text, nullable=False, default="")
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ModeleNotification(db.Model):
    """An e-mail sent to families: accusé de réception or accusé de traitement."""

    __tablename__ = "modeles_notification"
    CODES = {"accuse_reception": "Accusé de réception", "accuse_traitement": "Accusé de traitement"}

    id = db.Column(db.Integer, primary_key=True)
    #: "accuse_reception" or "accuse_traitement".
    code = db.Column(db.String(40), nullable=False, unique=True)
    #: E-mail subject.
    sujet = db.Column(db.String(200), nullable=False)
    #: The part admins edit; plain text with [placeholders], never evaluated as a template.
    partie_variable = db.Column(db.Text, nullable=False, default="")
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.CODES.get(self.code, self.code)


class Traitement(db.Model):
    """One run of a mass import from Enfance (Administration › État des traitements)."""

    __tablename__ = "traitements"
    TYPES = {
        "comptes": "Import comptes familles en masse",
        "individus": "Import individus en masse",
        "inscriptions": "Import inscriptions en masse",
        "activites": "Import activités en masse",
        "structures": "Import structures en masse",
        "classes": "Import classes en masse",
        "periodes": "Import périodes en masse",
        "fermetures": "Import fermetures en masse",
        "pieces": "Import pièces justificatives en masse",
        "factures": "Import factures en masse",
        "reglements": "Import règlements en masse",
    }
    RESULTATS = {"en_attente": "En attente", "en_cours": "En cours", "succes": "Succès", "erreur": "En erreur"}

    id = db.Column(db.Integer, primary_key=True)
    #: When the batch arrived (UTC): the "Date" column.
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    #: Start and end of the last execution (UTC); Durée is derived from them.
    debut = db.Column(db.DateTime)
    fin = db.Column(db.DateTime)
    univers = db.Column(db.String(20), nullable=False, default="enfance")
    #: Import type, a key of TYPES.
    type = db.Column(db.String(20), nullable=False, index=True)
    #: Rows in the batch.
    nombre = db.Column(db.Integer, nullable=False, default=0, index=True)
    #: Progress 0-100, written while the job runs.
    avancement = db.Column(db.Integer, nullable=False, default=0)
    #: A key of RESULTATS; the database, not Redis, is the source of truth.
    resultat = db.Column(db.String(12), nullable=False, default="en_attente", index=True)
    #: Row errors: list of {"ligne": n, "message": "..."}.
    erreurs = db.Column(db.JSON, nullable=False, default=list)
    #: Execution log lines.
    journal = db.Column(db.Text, nullable=False, default="")
    #: Where the batch is kept for a relaunch (file under instance/imports).
    fichier = db.Column(db.String(500))
    #: "api" or "cli".
    source = db.Column(db.String(10), nullable=False, default="api")
    #: RQ job id of the last execution.
    job_id = db.Column(db.String(64))
    #: Last sign of life of the running job (UTC): a run "en cours" whose heartbeat is stale was interrupted.
    heartbeat = db.Column(db.DateTime)
    #: Counts at the end: {"lignes", "ecrites", "inchangees", "erreurs"}.
    compteurs = db.Column(db.JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_traitements_type_created", "type", "created_at"),)

    @property
    def duree(self) -> dt.timedelta | None:
        if self.debut and self.fin:
            return self.fin - self.debut
        return None


class ApiToken(db.Model):
    """A bearer token for the JSON API (scope "portail" or "enfance"), stored hashed."""

    __tablename__ = "api_tokens"
    SCOPES = ("portail", "enfance")

    id = db.Column(db.Integer, primary_key=True)
    nom = db.Column(db.String(80), nullable=False, unique=True)
    scope = db.Column(db.String(20), nullable=False)
    #: SHA-256 of the token; the token itself is shown once at creation.
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    actif = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime)


class Audit(db.Model):
    """Append-only audit trail: who did what to which record, when."""

    __tablename__ = "audits"

    id = db.Column(db.Integer, primary_key=True)
    #: When (UTC).
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    #: "agent", "api", "job", "cli" or "anonyme".
    acteur_type = db.Column(db.String(10), nullable=False)
    #: Agent id or API token id, when there is one.
    acteur_id = db.Column(db.Integer)
    #: Readable actor (agent e-mail, token name, job name).
    acteur = db.Column(db.String(254), nullable=False, default="")
    #: create, update, delete, desabonner, export, login, logout, login_failed, ...
    action = db.Column(db.String(30), nullable=False, index=True)
    #: Model name and primary key of the record concerned.
    objet_type = db.Column(db.String(40))
    objet_id = db.Column(db.String(40))
    #: Field changes {"field": [before, after]} or other details.
    details = db.Column(db.JSON, nullable=False, default=dict)
    ip = db.Column(db.String(45))

    __table_args__ = (Index("ix_audits_objet", "objet_type", "objet_id", "created_at"),)


# --------------------------------------------------------------------------- Citoyens


class Citoyen(db.Model):
    """A person's login on the citizen portal (Citoyens › Comptes citoyens)."""

    __tablename__ = "citoyens"
    CIVILITES = {"M": "M.", "MME": "Mme"}

    id = db.Column(db.Integer, primary_key=True)
    #: Login on the portal, lower case, unique.
    email = db.Column(db.String(254), nullable=False, unique=True)
    nom = db.Column(db.String(120), nullable=False, index=True)
    prenom = db.Column(db.String(120), nullable=False, index=True)
    #: "M" or "MME", used in the e-mails' greeting.
    civilite = db.Column(db.String(3))
    #: A partner organisation's account rather than a family's.
    partenaire = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    comptes = db.relationship("CompteMetier", back_populates="citoyen", passive_deletes=True)

    __table_args__ = (Index("ix_citoyens_partenaire_id", "partenaire", "id"),)

    def __str__(self) -> str:
        return self.email


class CompteMetier(db.Model):
    """An account in a business application; in univers Enfance, a family account."""

    __tablename__ = "comptes_metier"
    EMETTEURS = ("Divers", "Télé-services")

    id = db.Column(db.Integer, primary_key=True)
    #: Business domain, a key of UNIVERS; the family accounts are "enfance".
    univers = db.Column(db.String(20), nullable=False, default="enfance", index=True)
    #: Issuing application (Divers, Télé-services, ...).
    emetteur = db.Column(db.String(60), nullable=False)
    #: Account code in the issuing application: the Enfance reference.
    code = db.Column(db.String(64), nullable=False, index=True)
    nom = db.Column(db.String(120), nullable=False, default="", index=True)
    prenom = db.Column(db.String(120), nullable=False, default="")
    email = db.Column(db.String(254), index=True)
    #: Linked citizen account; NULL means Orphelin. Deleting the citizen leaves the account.
    citoyen_id = db.Column(db.Integer, db.ForeignKey("citoyens.id", ondelete="SET NULL"), index=True)
    #: Last synchronisation from Enfance (UTC).
    synchronise_le = db.Column(db.DateTime)
    archive = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    citoyen = db.relationship("Citoyen", back_populates="comptes")
    individus = db.relationship("Individu", back_populates="compte", passive_deletes=True)

    __table_args__ = (
        UniqueConstraint("emetteur", "code", name="uq_comptes_metier_emetteur_code"),
        # Imports from Enfance name family accounts by code within the univers.
        Index("ix_comptes_metier_univers_code", "univers", "code"),
        # The "Compte" column sorts on nom then prenom.
        Index("ix_comptes_metier_nom_prenom", "nom", "prenom"),
        # The screen opens on one univers; sorting on Émetteur ends with the id.
        Index("ix_comptes_metier_univers_emetteur_id", "univers", "emetteur", "id"),
    )

    @property
    def libelle(self) -> str:
        """The "Compte" column: the account holder's name."""
        return f"{self.nom} {self.prenom}".strip()

    def __str__(self) -> str:
        return f"{self.libelle} ({self.code})"


# --------------------------------------------------------------------------- Famille


class Structure(db.Model):
    """A school or centre that runs activities (reference data from Enfance)."""

    __tablename__ = "structures"

    id = db.Column(db.Integer, primary_key=True)
    #: Enfance id.
    reference = db.Column(db.String(40), nullable=False, unique=True)
    nom = db.Column(db.String(200), nullable=False, index=True)
    #: école, accueil de loisirs, crèche...
    type = db.Column(db.String(60), nullable=False, default="")
    adresse = db.Column(db.String(255), nullable=False, default="")
    univers = db.Column(db.String(20), nullable=False, default="enfance")
    synchronise_le = db.Column(db.DateTime)

    def __str__(self) -> str:
        return self.nom


class Activite(db.Model):
    """An activity families register to: canteen, leisure centre... (reference data)."""

    __tablename__ = "activites"

    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False, unique=True)
    nom = db.Column(db.String(200), nullable=False, index=True)
    structure_id = db.Column(db.Integer, db.ForeignKey("structures.id"), index=True)
    univers = db.Column(db.String(20), nullable=False, default="enfance")
    synchronise_le = db.Column(db.DateTime)

    structure = db.relationship("Structure")

    def __str__(self) -> str:
        return self.nom


class Classe(db.Model):
    """A school class (reference data)."""

    __tablename__ = "classes"

    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False, unique=True)
    #: CP, CE1, Petite section...
    nom = db.Column(db.String(120), nullable=False)
    structure_id = db.Column(db.Integer, db.ForeignKey("structures.id"), index=True)
    #: School year, e.g. "2025-2026".
    annee_scolaire = db.Column(db.String(9), nullable=False, default="")
    synchronise_le = db.Column(db.DateTime)

    structure = db.relationship("Structure")

    def __str__(self) -> str:
        return self.nom


class Periode(db.Model):
    """A booking period of an activity (reference data)."""

    __tablename__ = "periodes"

    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False, unique=True)
    nom = db.Column(db.String(200), nullable=False)
    activite_id = db.Column(db.Integer, db.ForeignKey("activites.id"), index=True)
    date_debut = db.Column(db.Date, nullable=False, index=True)
    date_fin = db.Column(db.Date, nullable=False)
    synchronise_le = db.Column(db.DateTime)

    activite = db.relationship("Activite")

    def __str__(self) -> str:
        return self.nom


class Fermeture(db.Model):
    """A closure of an activity (reference data)."""

    __tablename__ = "fermetures"

    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False, unique=True)
    activite_id = db.Column(db.Integer, db.ForeignKey("activites.id"), index=True)
    date_debut = db.Column(db.Date, nullable=False, index=True)
    date_fin = db.Column(db.Date, nullable=False)
    motif = db.Column(db.String(255), nullable=False, default="")
    synchronise_le = db.Column(db.DateTime)

    activite = db.relationship("Activite")


class PieceJustificative(db.Model):
    """A supporting document type families may have to provide (reference data)."""

    __tablename__ = "pieces_justificatives"

    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False, unique=True)
    nom = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    obligatoire = db.Column(db.Boolean, nullable=False, default=False)
    univers = db.Column(db.String(20), nullable=False, default="enfance")
    synchronise_le = db.Column(db.DateTime)

    def __str__(self) -> str:
        return self.nom


class Individu(db.Model):
    """A member of a family, synchronised from Enfance (Famille › Individus)."""

    __tablename__ = "individus"
    ROLES = {"enfant": "enfant", "responsable": "responsable", "conjoint": "conjoint"}

    id = db.Column(db.Integer, primary_key=True)
    #: Enfance id of the individual.
    reference = db.Column(db.String(40), nullable=False, unique=True)
    #: Family account; the individual stays if the citizen account goes.
    compte_id = db.Column(db.Integer, db.ForeignKey("comptes_metier.id"), nullable=False, index=True)
    nom = db.Column(db.String(120), nullable=False, index=True)
    prenom = db.Column(db.String(120), nullable=False, index=True)
    date_naissance = db.Column(db.Date)
    #: enfant, responsable or conjoint.
    role = db.Column(db.String(12), nullable=False)
    #: Last synchronisation from Enfance (UTC).
    synchronise_le = db.Column(db.DateTime, index=True)
    archive = db.Column(db.Boolean, nullable=False, default=False)

    compte = db.relationship("CompteMetier", back_populates="individus")

    # Sorts end with the id (the pager's tiebreaker): PostgreSQL reads (column, id) in order, no sort.
    __table_args__ = (Index("ix_individus_nom_prenom", "nom", "prenom"), Index("ix_individus_role_id", "role", "id"),
                      Index("ix_individus_archive_id", "archive", "id"))

    @property
    def nom_prenom(self) -> str:
        return f"{self.nom} {self.prenom}"

    def __str__(self) -> str:
        return self.nom_prenom


class Inscription(db.Model):
    """A registration of an individual to an activity for a period."""

    __tablename__ = "inscriptions"

    id = db.Column(db.Integer, primary_key=True)
    reference = db.Column(db.String(40), nullable=False, unique=True)
    individu_id = db.Column(db.Integer, db.ForeignKey("individus.id"), nullable=False, index=True)
    activite_id = db.Column(db.Integer, db.ForeignKey("activites.id"), nullable=False, index=True)
    periode_id = db.Column(db.Integer, db.ForeignKey("periodes.id"), index=True)
    classe_id = db.Column(db.Integer, db.ForeignKey("classes.id"))
    date_debut = db.Column(db.Date, nullable=False)
    date_fin = db.Column(db.Date)
    synchronise_le = db.Column(db.DateTime)
    archive = db.Column(db.Boolean, nullable=False, default=False)

    individu = db.relationship("Individu")
    activite = db.relationship("Activite")
    periode = db.relationship("Periode")
    classe = db.relationship("Classe")


# --------------------------------------------------------------------------- Facturation


class Facture(db.Model):
    """An invoice issued to a family account (Facturation › Factures)."""

    __tablename__ = "factures"

    #: Status (statut_de) and its screen label.
    STATUTS = {"payee": "Payée", "partielle": "Partiellement payée", "impayee": "Impayée"}

    id = db.Column(db.Integer, primary_key=True)
    #: Invoice number as printed, e.g. 2018-241-9028; the Enfance reference.
    numero = db.Column(db.String(40), nullable=False, unique=True)
    #: Sequence number used by the "du n° … au n° …" filter.
    numero_ordre = db.Column(db.Integer, nullable=False, index=True)
    #: Recipient family account ("Destinataire").
    compte_id = db.Column(db.Integer, db.ForeignKey("comptes_metier.id"), nullable=False, index=True)
    date_emission = db.Column(db.Date, nullable=False, index=True)
    date_echeance = db.Column(db.Date, index=True)
    montant = db.Column(Montant, nullable=False, index=True)
    #: What is still to be paid.
    restant_du = db.Column(Montant, nullable=False)
    payable_en_ligne = db.Column(db.Boolean, nullable=False, default=False)
    emetteur = db.Column(db.String(60), nullable=False, default="Divers", index=True)
    #: Billing context, e.g. "Restauration scolaire", "Accueil de loisirs".
    contexte = db.Column(db.String(80), nullable=False, default="", index=True)
    univers = db.Column(db.String(20), nullable=False, default="enfance", index=True)
    #: When and in which deposit the invoice was published on the portal.
    date_depot = db.Column(db.Date, nullable=False, index=True)
    numero_depot = db.Column(db.Integer)
    archive = db.Column(db.Boolean, nullable=False, default=False)
    synchronise_le = db.Column(db.DateTime)

    compte = db.relationship("CompteMetier")
    lignes = db.relationship("LigneFacture", back_populates="facture", order_by="LigneFacture.id")
    ventilations = db.relationship("Ventilation", back_populates="facture")

    __table_args__ = (
        Index("ix_factures_archive_emission", "archive", "date_emission", "id"),
        Index("ix_factures_archive_restant", "archive", "restant_du", "id"),
        Index("ix_factures_compte_emission", "compte_id", "date_emission"),
        # The dashboard: live invoices with something still due, by due date (partial, covering the sum;
        # the query must spell the same predicate for the planner to use it).
        Index("ix_factures_echues", "date_echeance", "restant_du",
              sqlite_where=text("archive IS 0 AND restant_du > 0"),
              postgresql_where=text("archive IS false AND restant_du > 0")),
    )

    @staticmethod
    def statut_de(montant, restant_du) -> str:
        """payee, partielle or impayee, from the amount and what remains due."""
        if restant_du <= 0:
            return "payee"
        if restant_du < montant:
            return "partielle"
        return "impayee"

    @property
    def statut(self) -> str:
        return self.statut_de(self.montant, self.restant_du)

    def __str__(self) -> str:
        return self.numero


class LigneFacture(db.Model):
    """One line of an invoice."""

    __tablename__ = "lignes_facture"

    id = db.Column(db.Integer, primary_key=True)
    facture_id = db.Column(db.Integer, db.ForeignKey("factures.id", ondelete="CASCADE"), nullable=False, index=True)
    libelle = db.Column(db.String(255), nullable=False)
    #: Quantity (meals, half-days...).
    quantite = db.Column(db.Integer, nullable=False, default=1)
    prix_unitaire = db.Column(Montant, nullable=False)
    montant = db.Column(Montant, nullable=False)
    #: The child the line concerns, when there is one.
    individu_id = db.Column(db.Integer, db.ForeignKey("individus.id"))

    facture = db.relationship("Facture", back_populates="lignes")
    individu = db.relationship("Individu")


class Reglement(db.Model):
    """A payment by a family (Facturation › Règlements)."""

    __tablename__ = "reglements"
    MODES = {
        "titres_emis": "Titres émis",
        "carte": "Carte bancaire en ligne",
        "cheque": "Chèque",
        "especes": "Espèces",
        "prelevement": "Prélèvement",
        "virement": "Virement",
    }

    id = db.Column(db.Integer, primary_key=True)
    #: "Numéro unique" of the payment; the Enfance reference.
    numero = db.Column(db.String(40), nullable=False, unique=True)
    #: Sequence number used by the "du n° … au n° …" filter.
    numero_ordre = db.Column(db.Integer, nullable=False, index=True)
    compte_id = db.Column(db.Integer, db.ForeignKey("comptes_metier.id"), nullable=False, index=True)
    #: "Réglé le".
    regle_le = db.Column(db.Date, nullable=False, index=True)
    payeur = db.Column(db.String(200), nullable=False, default="", index=True)
    #: A key of MODES.
    mode = db.Column(db.String(20), nullable=False, index=True)
    #: Amount received ("Encaissé").
    encaisse = db.Column(Montant, nullable=False, index=True)
    #: Amount allocated to invoices ("Ventilé").
    ventile = db.Column(Montant, nullable=False, index=True)
    en_ligne = db.Column(db.Boolean, nullable=False, default=False, index=True)
    emetteur = db.Column(db.String(60), nullable=False, default="Divers", index=True)
    contexte = db.Column(db.String(80), nullable=False, default="", index=True)
    univers = db.Column(db.String(20), nullable=False, default="enfance", index=True)
    date_depot = db.Column(db.Date, nullable=False)
    numero_depot = db.Column(db.Integer)
    archive = db.Column(db.Boolean, nullable=False, default=False)
    synchronise_le = db.Column(db.DateTime)

    compte = db.relationship("CompteMetier")
    ventilations = db.relationship("Ventilation", back_populates="reglement")

    __table_args__ = (
        Index("ix_reglements_archive_regle", "archive", "regle_le", "id"),
        Index("ix_reglements_compte_regle", "compte_id", "regle_le"),
        # The En ligne filter's bounded count reads this index alone (SQLite: 113 ms through the table without it).
        Index("ix_reglements_archive_enligne_encaisse", "archive", "en_ligne", "encaisse"),
        # A deposit-date range under the other filters of the form, sorted by Réglé le: the matches are found,
        # filtered and sorted from this index alone, without reading the table (SQLite: 30 -> 5 ms a fortnight).
        Index("ix_reglements_filtres_depot", "date_depot", "archive", "en_ligne", "emetteur", "contexte", "univers",
              "regle_le"),
    )

    def __str__(self) -> str:
        return self.numero


class Ventilation(db.Model):
    """The part of a payment allocated to one invoice."""

    __tablename__ = "ventilations"

    id = db.Column(db.Integer, primary_key=True)
    reglement_id = db.Column(db.Integer, db.ForeignKey("reglements.id", ondelete="CASCADE"), nullable=False, index=True)
    facture_id = db.Column(db.Integer, db.ForeignKey("factures.id"), nullable=False, index=True)
    montant = db.Column(Montant, nullable=False)

    reglement = db.relationship("Reglement", back_populates="ventilations")
    facture = db.relationship("Facture", back_populates="ventilations")


class TotalDepot(db.Model):
    """How many invoices (payments) were deposited on a day, and their exact total, per group of list filters.

    Derived data, never edited: every write of factures or reglements rebuilds the rows of the deposit days it
    touched in the same transaction (services.facturation.recalculer_totaux). The Règlements "Total global" and
    the monthly deposits read these rows (about a tenth of the table at a million payments) instead of the table.
    """

    __tablename__ = "totaux_depots"
    NATURES = ("factures", "reglements")

    #: Which table is summed: "factures" or "reglements".
    nature = db.Column(db.String(12), primary_key=True)
    date_depot = db.Column(db.Date, primary_key=True)
    emetteur = db.Column(db.String(60), primary_key=True)
    contexte = db.Column(db.String(80), primary_key=True)
    univers = db.Column(db.String(20), primary_key=True)
    archive = db.Column(db.Boolean, primary_key=True)
    #: Paid online (payments only; always false for invoices).
    en_ligne = db.Column(db.Boolean, primary_key=True)
    #: Rows of the group.
    nombre = db.Column(db.Integer, nullable=False)
    #: Sum of the invoices' montant (payments' encaissé) of the group, to the cent.
    total = db.Column(Montant, nullable=False)

    __table_args__ = (
        # SQLite reads every "Total global" from this index alone (in a table WITHOUT ROWID its entries carry the
        # whole key); PostgreSQL scans the small table.
        Index("ix_totaux_depots_archive", "nature", "archive", "en_ligne", "total"),
        # Stored in key order on SQLite: a range of deposit days (monthly figures, rebuilds) is read in one pass.
        {"sqlite_with_rowid": False},
    )


class Operation(db.Model):
    """A line of a family's statement (Relevé d'opérations), with the running balance."""

    __tablename__ = "operations"
    TYPES = {"facture": "Facture émise", "reglement": "Règlement", "annulation": "Annulation"}

    id = db.Column(db.Integer, primary_key=True)
    compte_id = db.Column(db.Integer, db.ForeignKey("comptes_metier.id"), nullable=False)
    date = db.Column(db.Date, nullable=False, index=True)
    #: A key of TYPES.
    type = db.Column(db.String(12), nullable=False, index=True)
    libelle = db.Column(db.String(255), nullable=False)
    #: Amount owed by the family (invoice) or paid / cancelled (payment, cancellation).
    debit = db.Column(Montant, nullable=False, default=Decimal("0"))
    credit = db.Column(Montant, nullable=False, default=Decimal("0"))
    #: Family balance after this operation (positive: the family owes).
    solde = db.Column(Montant, nullable=False, default=Decimal("0"))
    facture_id = db.Column(db.Integer, db.ForeignKey("factures.id"))
    reglement_id = db.Column(db.Integer, db.ForeignKey("reglements.id"))

    compte = db.relationship("CompteMetier")
    facture = db.relationship("Facture")
    reglement = db.relationship("Reglement")

    __table_args__ = (Index("ix_operations_compte_date", "compte_id", "date", "id"),)


# --------------------------------------------------------------------------- Demandes


class Demande(db.Model):
    """A request a family made on the portal (Demandes)."""

    __tablename__ = "demandes"
    TYPES = {
        "dossier_famille": "Modification du dossier famille",
        "reservation": "Réservation",
        "absence": "Absence",
        "contact": "Nous contacter",
    }
    #: Requests forwarded to the Enfance application (consultation only here).
    TYPES_ENFANCE = ("dossier_famille", "reservation", "absence")
    ETATS = {
        "a_transmettre": "À transmettre",
        "transmise": "Transmise",
        "a_traiter": "À traiter",
        "traitee": "Traitée",
    }
    DECISIONS = {"acceptee": "ACCEPTÉE", "refusee": "REFUSÉE"}

    id = db.Column(db.Integer, primary_key=True)
    #: Reference given to the family, e.g. D2026-000123.
    reference = db.Column(db.String(20), nullable=False, unique=True)
    #: "Date de la demande" (UTC).
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    #: Citizen account that made it; kept as e-mail if the account is deleted.
    citoyen_id = db.Column(db.Integer, db.ForeignKey("citoyens.id", ondelete="SET NULL"), index=True)
    #: Family account concerned, when known.
    compte_id = db.Column(db.Integer, db.ForeignKey("comptes_metier.id"), index=True)
    email = db.Column(db.String(254), nullable=False, index=True)
    #: A key of TYPES.
    type = db.Column(db.String(20), nullable=False)
    #: A key of ETATS.
    etat = db.Column(db.String(14), nullable=False)
    #: The request's content: {"message": ...} for contact, structured fields otherwise.
    contenu = db.Column(db.JSON, nullable=False, default=dict)
    #: Outcome for Enfance requests ("acceptee" / "refusee"), its reason and date.
    decision = db.Column(db.String(10))
    motif = db.Column(db.Text)
    decide_le = db.Column(db.Date)
    #: When Enfance acknowledged receipt, and when the request was closed (UTC).
    transmise_le = db.Column(db.DateTime)
    traitee_le = db.Column(db.DateTime)

    citoyen = db.relationship("Citoyen")
    compte = db.relationship("CompteMetier")
    historique = db.relationship(
        "DemandeHistorique", back_populates="demande", order_by="DemandeHistorique.created_at"
    )

    __table_args__ = (
        Index("ix_demandes_etat_created", "etat", "created_at"),
        Index("ix_demandes_type_id", "type", "id"),
        Index("ix_demandes_etat_id", "etat", "id"),
        # The dashboard's late requests, counted per type from the index alone.
        Index("ix_demandes_etat_type_created", "etat", "type", "created_at"),
    )

    def __str__(self) -> str:
        return self.reference


class DemandeHistorique(db.Model):
    """A dated entry on a request's history."""

    __tablename__ = "demandes_historique"

    id = db.Column(db.Integer, primary_key=True)
    demande_id = db.Column(db.Integer, db.ForeignKey("demandes.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: What happened, e.g. "Demande transmise à l'application métier".
    libelle = db.Column(db.String(255), nullable=False)
    #: Details: the agent's reply, the refusal reason...
    texte = db.Column(db.Text)
    #: Who: agent e-mail, "Enfance", "Portail".
    auteur = db.Column(db.String(254), nullable=False, default="")

    demande = db.relationship("Demande", back_populates="historique")


class Courriel(db.Model):
    """Outbox: every e-mail is recorded here before it is sent, so none is lost."""

    __tablename__ = "courriels"
    ETATS = {"en_attente": "En attente", "envoye": "Envoyé", "echec": "Échec"}

    id = db.Column(db.Integer, primary_key=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    #: accuse_reception, accuse_traitement, contact_agent, test...
    type = db.Column(db.String(30), nullable=False)
    destinataire = db.Column(db.String(254), nullable=False)
    sujet = db.Column(db.String(255), nullable=False)
    corps = db.Column(db.Text, nullable=False)
    #: A key of ETATS.
    etat = db.Column(db.String(12), nullable=False, default="en_attente", index=True)
    tentatives = db.Column(db.Integer, nullable=False, default=0)
    derniere_erreur = db.Column(db.Text)
    envoye_le = db.Column(db.DateTime)
    #: The request and the family the e-mail concerns, for the timeline.
    demande_id = db.Column(db.Integer, db.ForeignKey("demandes.id"), index=True)
    compte_id = db.Column(db.Integer, db.ForeignKey("comptes_metier.id"), index=True)
    citoyen_id = db.Column(db.Integer, db.ForeignKey("citoyens.id", ondelete="SET NULL"), index=True)

    demande = db.relationship("Demande")


def sum_exact(column, *criteria) -> Decimal:
    """SUM of a Montant column under criteria: summed in integer cents, so exact on every database."""
    return db.session.scalar(db.select(func.coalesce(func.sum(column), 0)).where(*criteria))
