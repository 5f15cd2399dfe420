"""Demo data: a realistic, repeatable municipality (Faker fr_FR with a fixed seed)."""
import datetime as dt
import random
import unicodedata
from decimal import Decimal

from faker import Faker

from ..extensions import db
from ..formatting import aujourdhui
from ..models import (
    Activite,
    ApiToken,
    Audit,
    Citoyen,
    Classe,
    CompteMetier,
    Courriel,
    Demande,
    DemandeHistorique,
    Facture,
    Fermeture,
    Individu,
    Inscription,
    LigneFacture,
    ModeleNotification,
    Operation,
    Parametre,
    Periode,
    PieceJustificative,
    Reglement,
    Structure,
    Traitement,
    Ventilation,
    utcnow,
)
from . import audit, facturation, parametres
from .agents import create_agent, find_by_email

SEED = 4242
DEMO_PASSWORD = "portail-demo-2026"
DEMO_AGENTS = (("agent@demo.fr", "agent", "Martin", "Claire"), ("admin@demo.fr", "admin", "Durand", "Paul"))

#: Tables emptied before a new load, children first.
TABLES = (Audit, Courriel, DemandeHistorique, Demande, Operation, Ventilation, Reglement, LigneFacture, Facture,
          Inscription, Individu, CompteMetier, Citoyen, Fermeture, Periode, Classe, Activite, Structure,
          PieceJustificative, Traitement, ModeleNotification, Parametre, ApiToken)

STRUCTURES = (("École élémentaire Jules Ferry", "école"), ("École maternelle Les Tilleuls", "école"),
              ("Accueil de loisirs Le Moulin", "accueil de loisirs"), ("Restaurant scolaire Centre", "restauration"),
              ("Multi-accueil Les Petits Pas", "crèche"))
ACTIVITES = (("Restauration scolaire", 3), ("Accueil périscolaire matin", 0), ("Accueil périscolaire soir", 0),
             ("Accueil de loisirs mercredi", 2), ("Accueil de loisirs vacances", 2), ("Étude surveillée", 0),
             ("Multi-accueil", 4), ("Séjour été", 2))
CLASSES = ("Petite section", "Moyenne section", "Grande section", "CP", "CE1", "CE2", "CM1", "CM2")
PIECES = (("Attestation d'assurance", True), ("Carnet de vaccination", True), ("Avis d'imposition", True),
          ("Justificatif de domicile", True), ("Certificat médical", False), ("Jugement de garde", False))
CONTEXTES = ("Restauration scolaire", "Accueil périscolaire", "Accueil de loisirs", "Multi-accueil")


def _ascii(text: str) -> str:
    """Drop accents: e-mail addresses stay plain ASCII, as most are."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def is_empty() -> bool:
    """True when no family data has been loaded yet."""
    return db.session.scalar(db.select(CompteMetier.id).limit(1)) is None


#: The demo's activity ends at least this long before the moment it is loaded.
RECUL = dt.timedelta(hours=2)


def load(familles: int = 200, today: dt.date | None = None) -> dict:
    """Replace all portal data with a fresh demo municipality; returns row counts. The caller commits."""
    # Generated rows are nobody's action: the audit trail does not record them one by one.
    with audit.suspendu():
        return _load(familles, today)


def _load(familles: int, today: dt.date | None) -> dict:
    today = today or aujourdhui()
    for model in TABLES:
        db.session.execute(db.delete(model))
    db.session.flush()
    rng = random.Random(SEED)
    fake = Faker("fr_FR")
    fake.seed_instance(SEED)
    # Stamped at 09:00 on the given day, and at least two hours in the past: run early in the morning, the
    # demo's imports, requests and deposits would otherwise be later than the agent's clock (or than what
    # happens right after loading, which must show as the newest).
    now = min(dt.datetime.combine(today, dt.time(9, 0)), utcnow().replace(second=0, microsecond=0) - RECUL)

    parametres.ensure_defaults()
    _agents()
    ref = _reference_data(rng, today, now)
    comptes = _families(rng, fake, familles, today, now, ref)
    _billing(rng, comptes, today, now)
    facturation.recalculer_totaux()
    _requests(rng, fake, comptes, now)
    _imports(rng, now)
    db.session.flush()
    return {model.__tablename__: db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in reversed(TABLES)}


def _agents() -> None:
    for email, role, nom, prenom in DEMO_AGENTS:
        if find_by_email(email) is None:
            create_agent(email, DEMO_PASSWORD, role=role, nom=nom, prenom=prenom)


def _reference_data(rng, today, now) -> dict:
    structures = [Structure(reference=f"S{i + 1:03d}", nom=nom, type=kind, adresse=f"{i + 3} rue de la Mairie",
                            synchronise_le=now) for i, (nom, kind) in enumerate(STRUCTURES)]
    activites = [Activite(reference=f"A{i + 1:03d}", nom=nom, structure=structures[s], synchronise_le=now)
                 for i, (nom, s) in enumerate(ACTIVITES)]
    start_year = today.year if today.month >= 9 else today.year - 1
    annee = f"{start_year}-{start_year + 1}"
    classes = [Classe(reference=f"C{i + 1:03d}", nom=nom, structure=structures[0 if i > 2 else 1],
                      annee_scolaire=annee, synchronise_le=now) for i, nom in enumerate(CLASSES)]
    periodes = []
    for activite in activites:
        for n, (debut, fin) in enumerate(((dt.date(start_year, 9, 1), dt.date(start_year, 12, 31)),
                                          (dt.date(start_year + 1, 1, 1), dt.date(start_year + 1, 3, 31)),
                                          (dt.date(start_year + 1, 4, 1), dt.date(start_year + 1, 7, 5)))):
            periodes.append(Periode(reference=f"P{activite.reference}-{n + 1}", activite=activite,
                                    nom=f"{activite.nom} — trimestre {n + 1}", date_debut=debut, date_fin=fin,
                                    synchronise_le=now))
    fermetures = []
    for i in range(8):
        debut = dt.date(start_year, 10, 19) + dt.timedelta(days=rng.randint(0, 200))
        fermetures.append(Fermeture(reference=f"F{i + 1:03d}", activite=rng.choice(activites), date_debut=debut,
                                    date_fin=debut + dt.timedelta(days=rng.randint(0, 4)),
                                    motif=rng.choice(("Pont", "Formation du personnel", "Travaux", "Grève")),
                                    synchronise_le=now))
    pieces = [PieceJustificative(reference=f"J{i + 1:03d}", nom=nom, obligatoire=oblig,
                                 description=f"{nom} en cours de validité.", synchronise_le=now)
              for i, (nom, oblig) in enumerate(PIECES)]
    db.session.add_all(structures + activites + classes + periodes + fermetures + pieces)
    db.session.flush()
    return {"activites": activites, "classes": classes, "periodes": periodes}


def _families(rng, fake, familles, today, now, ref) -> list[CompteMetier]:
    comptes = []
    for n in range(familles):
        nom = fake.last_name().upper()
        prenom = fake.first_name()
        email = _ascii(f"{prenom}.{nom}.{n}@exemple.fr".lower().replace(" ", "-"))
        # One family in ten never created its citizen account: an Orphelin family account.
        citoyen = None
        if rng.random() > 0.1:
            citoyen = Citoyen(email=email, nom=nom, prenom=prenom, civilite=rng.choice(("M", "MME")),
                              partenaire=rng.random() < 0.03, created_at=now - dt.timedelta(days=rng.randint(30, 900)))
            db.session.add(citoyen)
        emetteur = rng.choice(("Divers", "Télé-services"))
        code = fake.hexify("^" * 32) if emetteur == "Divers" else f"EFAE-{nom[:4]}-{1000 + n}"
        compte = CompteMetier(univers="enfance", emetteur=emetteur, code=code, nom=nom, prenom=prenom, email=email,
                              citoyen=citoyen, synchronise_le=now - dt.timedelta(days=rng.randint(0, 30)))
        db.session.add(compte)
        comptes.append(compte)
        sync = now - dt.timedelta(days=rng.randint(0, 60))
        members = [Individu(reference=str(10_000_000 + n * 10), compte=compte, nom=nom, prenom=prenom,
                            role="responsable", synchronise_le=sync,
                            date_naissance=today - dt.timedelta(days=rng.randint(25, 50) * 365))]
        if rng.random() < 0.7:
            members.append(Individu(reference=str(10_000_000 + n * 10 + 1), compte=compte, nom=nom,
                                    prenom=fake.first_name(), role="conjoint", synchronise_le=sync,
                                    date_naissance=today - dt.timedelta(days=rng.randint(25, 50) * 365)))
        for k in range(rng.randint(1, 3)):
            child = Individu(reference=str(10_000_000 + n * 10 + 2 + k), compte=compte, nom=nom,
                             prenom=fake.first_name(), role="enfant", synchronise_le=sync,
                             archive=rng.random() < 0.05,
                             date_naissance=today - dt.timedelta(days=rng.randint(2, 11) * 365))
            members.append(child)
            for periode in rng.sample(ref["periodes"], rng.randint(1, 3)):
                db.session.add(Inscription(reference=f"I{child.reference}-{periode.reference}", individu=child,
                                           activite=periode.activite, periode=periode,
                                           classe=rng.choice(ref["classes"]), date_debut=periode.date_debut,
                                           date_fin=periode.date_fin, synchronise_le=sync))
        db.session.add_all(members)
    # A few water-service accounts: another univers, some orphans, as on the seed's screen.
    for n in range(max(5, familles // 20)):
        nom = fake.last_name().upper()
        db.session.add(CompteMetier(univers="eau", emetteur="Télé-services", code=f"EFAE-EauOr-{nom[:4]}-{n}",
                                    nom=nom, prenom="SERVICE EAU", email=f"eau.{n}@exemple.fr",
                                    synchronise_le=now))
    # Citizen accounts with no family account yet.
    for n in range(max(3, familles // 25)):
        db.session.add(Citoyen(email=f"nouveau.{n}@exemple.fr", nom=fake.last_name().upper(),
                               prenom=fake.first_name(), civilite="MME"))
    db.session.flush()
    return comptes


def _billing(rng, comptes, today, now) -> None:
    numero = 1000
    for famille, compte in enumerate(comptes):
        events = []
        for _k in range(rng.randint(4, 14)):
            numero += 1
            emission = today - dt.timedelta(days=rng.randint(0, 720))
            lignes = [(ctx, rng.randint(1, 20), Decimal(rng.randint(150, 900)) / 100)
                      for ctx in rng.sample(CONTEXTES, rng.randint(1, 2))]
            montant = sum((q * pu for _, q, pu in lignes), Decimal("0"))
            facture = Facture(numero=f"{emission.year}-{famille % 900 + 100}-{numero}", numero_ordre=numero,
                              compte=compte, date_emission=emission,
                              date_echeance=emission + dt.timedelta(days=rng.choice((15, 30))),
                              montant=montant, restant_du=montant, payable_en_ligne=rng.random() < 0.7,
                              emetteur=compte.emetteur, contexte=lignes[0][0], date_depot=emission,
                              numero_depot=emission.year * 100 + emission.month,
                              archive=emission < today - dt.timedelta(days=540), synchronise_le=now)
            facture.lignes = [LigneFacture(libelle=ctx, quantite=q, prix_unitaire=pu, montant=q * pu)
                              for ctx, q, pu in lignes]
            db.session.add(facture)
            events.append((emission, "facture", facture))
            # Older invoices are mostly paid; recent ones often not yet.
            age = (today - emission).days
            roll = rng.random()
            paid = montant if (age > 60 and roll < 0.85) or roll < 0.35 else (
                (montant / 2).quantize(Decimal("0.01")) if roll < 0.5 else Decimal("0"))
            regle_le = emission + dt.timedelta(days=rng.randint(1, 40))
            if paid and regle_le <= today:
                numero += 1
                mode = rng.choice(tuple(Reglement.MODES))
                reglement = Reglement(numero=str(123_000_000 + numero), numero_ordre=numero, compte=compte,
                                      regle_le=regle_le, payeur=f"{compte.prenom} {compte.nom}", mode=mode,
                                      encaisse=paid, ventile=paid, en_ligne=mode == "carte",
                                      emetteur=compte.emetteur, contexte=facture.contexte, date_depot=regle_le,
                                      numero_depot=regle_le.year * 100 + regle_le.month, archive=facture.archive,
                                      synchronise_le=now)
                reglement.ventilations = [Ventilation(facture=facture, montant=paid)]
                facture.restant_du = montant - paid
                db.session.add(reglement)
                events.append((regle_le, "reglement", reglement))
            if rng.random() < 0.03 and facture.restant_du:
                events.append((min(today, emission + dt.timedelta(days=10)), "annulation", facture))
        solde = Decimal("0")
        for date, kind, obj in sorted(events, key=lambda e: (e[0], e[1] != "facture")):
            if kind == "facture":
                solde += obj.montant
                db.session.add(Operation(compte=compte, date=date, type="facture", facture=obj, debit=obj.montant,
                                         solde=solde, libelle=f"Facture n° {obj.numero}"))
            elif kind == "reglement":
                solde -= obj.encaisse
                db.session.add(Operation(compte=compte, date=date, type="reglement", reglement=obj,
                                         credit=obj.encaisse, solde=solde, libelle=f"Règlement n° {obj.numero}"))
            else:
                solde -= obj.restant_du
                db.session.add(Operation(compte=compte, date=date, type="annulation", facture=obj,
                                         credit=obj.restant_du, solde=solde,
                                         libelle=f"Annulation de la facture n° {obj.numero}"))
                obj.restant_du = Decimal("0")
    db.session.flush()


def _requests(rng, fake, comptes, now) -> None:
    n = 0
    for compte in comptes:
        if compte.citoyen is None:
            continue
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            n += 1
            kind = rng.choice(tuple(Demande.TYPES))
            created = now - dt.timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 23))
            demande = Demande(reference=f"D{created.year}-{n:06d}", created_at=created, citoyen=compte.citoyen,
                              compte=compte, email=compte.citoyen.email, type=kind, etat="a_transmettre")
            history = [DemandeHistorique(created_at=created, libelle="Demande reçue", auteur="Portail")]
            if kind == "contact":
                demande.contenu = {"objet": rng.choice(("Question sur une facture", "Inscription cantine",
                                                        "Changement d'adresse")),
                                   "message": fake.paragraph(nb_sentences=3)}
                demande.etat = "a_traiter"
                if rng.random() < 0.5:
                    demande.etat = "traitee"
                    demande.traitee_le = created + dt.timedelta(days=rng.randint(0, 5))
                    history.append(DemandeHistorique(created_at=demande.traitee_le,
                                                     libelle="Réponse de la collectivité",
                                                     texte=fake.paragraph(nb_sentences=2), auteur="agent@demo.fr"))
            else:
                demande.contenu = _contenu_enfance(rng, fake, kind, created)
                roll = rng.random()
                if roll > 0.2:
                    demande.etat = "transmise"
                    demande.transmise_le = created + dt.timedelta(minutes=rng.randint(5, 600))
                    history.append(DemandeHistorique(created_at=demande.transmise_le,
                                                     libelle="Demande transmise à l'application métier",
                                                     auteur="Enfance"))
                if roll > 0.5:
                    demande.etat = "traitee"
                    demande.decision = "acceptee" if roll > 0.6 else "refusee"
                    demande.traitee_le = demande.transmise_le + dt.timedelta(days=rng.randint(0, 6))
                    demande.decide_le = demande.traitee_le.date()
                    if demande.decision == "refusee":
                        demande.motif = "Plus de place disponible sur cette période."
                    history.append(DemandeHistorique(created_at=demande.traitee_le,
                                                     libelle=f"Demande {Demande.DECISIONS[demande.decision].lower()}",
                                                     texte=demande.motif, auteur="Enfance"))
            demande.historique = history
            db.session.add(demande)
            db.session.add(Courriel(created_at=created, type="accuse_reception", destinataire=demande.email,
                                    sujet=f"Votre demande {demande.reference} a bien été reçue",
                                    corps=f"Votre demande {demande.reference} a bien été prise en compte.",
                                    etat="envoye", tentatives=1, envoye_le=created, demande=demande,
                                    compte_id=compte.id, citoyen_id=compte.citoyen_id))
    db.session.flush()


def _contenu_enfance(rng, fake, kind, created) -> dict:
    if kind == "dossier_famille":
        return {"champ": rng.choice(("adresse", "telephone", "email")), "nouvelle_valeur": fake.address()}
    jour = (created + dt.timedelta(days=rng.randint(2, 20))).date().isoformat()
    if kind == "reservation":
        return {"activite": rng.choice(ACTIVITES)[0], "dates": [jour]}
    return {"activite": rng.choice(ACTIVITES)[0], "dates": [jour], "motif": rng.choice(("Maladie", "Rendez-vous"))}


def _imports(rng, now) -> None:
    for k in range(40):
        created = now - dt.timedelta(hours=k * 7 + rng.randint(0, 5))
        kind = rng.choice(("individus", "inscriptions", "inscriptions", "factures", "reglements", "comptes"))
        ok = rng.random() > 0.08
        run = Traitement(created_at=created, debut=created, fin=created + dt.timedelta(seconds=rng.randint(0, 3)),
                         type=kind, nombre=rng.randint(3, 40), avancement=100 if ok else rng.randint(0, 90),
                         resultat="succes" if ok else "erreur", source="api",
                         erreurs=[] if ok else [{"ligne": 3, "message": "Famille inconnue : 99999999."}],
                         journal="Import terminé." if ok else "Import refusé : 1 ligne en erreur.")
        db.session.add(run)
    db.session.flush()

