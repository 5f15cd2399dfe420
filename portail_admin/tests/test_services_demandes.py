"""Services of the requests and notifications: intake, references, lateness, templates, settings."""
import datetime as dt

import pytest

from portail_admin.extensions import db
from portail_admin.models import Audit, Citoyen, Courriel, Demande, ModeleNotification, Parametre, utcnow
from portail_admin.services import ServiceError, notifications, parametres
from portail_admin.services import demandes as service


@pytest.fixture
def citoyen(app):
    parametres.ensure_defaults()
    citoyen = Citoyen(email="paul.martin@exemple.fr", nom="MARTIN", prenom="Paul", civilite="M")
    db.session.add(citoyen)
    db.session.commit()
    return citoyen


def nouvelle(type_="contact", jours=0, etat=None):
    contenu = {"contact": {"objet": "Bonjour", "message": "Une question"},
               "reservation": {"activite": "Cantine", "dates": ["2026-01-05"]},
               "absence": {"activite": "Cantine", "dates": ["2026-01-05"], "motif": "Malade"},
               "dossier_famille": {"champ": "adresse", "nouvelle_valeur": "2 rue Haute"}}[type_]
    demande, _ = service.recevoir("Paul.Martin@exemple.fr ", type_, contenu)
    demande.created_at = utcnow() - dt.timedelta(days=jours, hours=1)
    if etat:
        demande.etat = etat
    db.session.flush()
    return demande


def test_references_are_unique_and_follow_the_format(citoyen):
    references = [nouvelle().reference for _ in range(3)]
    assert len(set(references)) == 3
    annee = utcnow().year
    assert all(r.startswith(f"D{annee}-") and len(r) == 12 for r in references)


def test_reception_records_history_email_and_audit(citoyen):
    demande, courriels = service.recevoir("paul.martin@exemple.fr", "contact",
                                          {"objet": "Cantine", "message": "Ligne 1\r\nLigne 2"})
    assert demande.contenu["message"] == "Ligne 1\nLigne 2"
    assert [c.type for c in courriels] == ["accuse_reception", "contact_agent"]
    assert courriels[0].corps.startswith(f"Bonjour M. MARTIN,\nVotre demande de contact {demande.reference}, ")
    assert db.session.scalar(db.select(Audit.acteur_type).where(Audit.action == "reception",
                                                                Audit.objet_id == str(demande.id)))


def test_civilite_missing_reads_naturally(citoyen):
    citoyen.civilite = None
    _, courriels = service.recevoir(citoyen.email, "contact", {"objet": "a", "message": "b"})
    assert courriels[0].corps.startswith("Bonjour MARTIN,\n")


def test_unknown_account_and_bad_content_write_nothing(citoyen):
    with pytest.raises(service.CompteInconnu):
        service.recevoir("inconnu@exemple.fr", "contact", {"objet": "a", "message": "b"})
    with pytest.raises(service.DemandeInvalide) as erreur:
        service.recevoir(citoyen.email, "absence", {"activite": "", "dates": ["2026-02-30"]})
    assert set(erreur.value.details) == {"contenu.activite", "contenu.dates", "contenu.motif"}
    assert db.session.scalar(db.select(db.func.count(Demande.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Courriel.id))) == 0


def test_lateness_uses_each_types_threshold_and_ignores_treated_requests(citoyen):
    seuils = service.seuils()
    assert seuils == {"dossier_famille": 5, "reservation": 2, "absence": 2, "contact": 3}
    a_l_heure = nouvelle("contact", jours=3)
    en_retard = nouvelle("contact", jours=4)
    reservation = nouvelle("reservation", jours=3)
    traitee = nouvelle("reservation", jours=30, etat="traitee")
    assert service.delai(en_retard) == 4
    assert [service.est_en_retard(d, seuils) for d in (a_l_heure, en_retard, reservation, traitee)] == [
        False, True, True, False]
    late = db.session.scalars(db.select(Demande.id).where(service.critere_en_retard())).all()
    assert sorted(late) == sorted([en_retard.id, reservation.id])


def test_repondre_closes_a_contact_request_once(citoyen):
    demande = nouvelle("contact")
    agent = type("Agent", (), {"email": "agent@demo.fr"})()
    with pytest.raises(ServiceError, match="vide"):
        service.repondre(demande, agent, "   ")
    courriels = service.repondre(demande, agent, "Voici notre réponse.")
    assert demande.etat == "traitee" and demande.historique[-1].texte == "Voici notre réponse."
    assert demande.historique[-1].auteur == "agent@demo.fr"
    assert "Réponse de la collectivité :\nVoici notre réponse." in courriels[0].corps
    with pytest.raises(service.DejaTraitee):
        service.repondre(demande, agent, "Encore")
    with pytest.raises(ServiceError, match="Enfance"):
        service.repondre(nouvelle("absence"), agent, "Non")


def test_placeholders_are_plain_text_never_template_code():
    assert notifications.remplir("[nom] {{ config }} {% if 1 %}x{% endif %} [inconnu]", {"nom": "[reference]"}) == (
        "[reference] {{ config }} {% if 1 %}x{% endif %} [inconnu]")
    sujet, corps = notifications.apercu("accuse_reception", "Demande [reference]", "{{ config.SECRET_KEY }} [nom]")
    assert sujet == "Demande D2026-000123"
    assert corps.endswith("{{ config.SECRET_KEY }} MARTIN\n")
    assert corps.startswith("Bonjour Mme MARTIN,\nVotre demande de réservation D2026-000123, a bien été prise")


def test_modifier_modele_validates_and_saves(citoyen):
    modele = notifications.modele("accuse_traitement")
    with pytest.raises(ServiceError, match="retour à la ligne"):
        notifications.modifier_modele(modele, "Objet\r\nBcc: x@evil.example", "texte")
    assert notifications.modifier_modele(modele, "Traitée : [reference]", "Cordialement") == {
        "sujet": ["Votre demande [reference] a été traitée", "Traitée : [reference]"],
        "partie_variable": ["Meilleures salutations,\nl'équipe municipale.", "Cordialement"]}
    assert db.session.scalar(db.select(ModeleNotification.sujet).where(ModeleNotification.code == "accuse_traitement")
                             ) == "Traitée : [reference]"


def test_modifier_parametres_validates_everything_before_writing(citoyen):
    valeurs = notifications.valeurs_parametres()
    with pytest.raises(ServiceError, match="n'est pas valide"):
        notifications.modifier_parametres({**valeurs, "delai_contact": "9", "agent_contact_email": "pas-une-adresse"})
    with pytest.raises(ServiceError, match="entier positif"):
        notifications.modifier_parametres({**valeurs, "delai_absence": "0"})
    assert parametres.get("delai_contact") == "3"
    changements = notifications.modifier_parametres({**valeurs, "delai_contact": "9",
                                                     "agent_contact_email": "Accueil@Mairie.example"})
    assert changements == {"agent_contact_email": ["contact@mairie.example", "accueil@mairie.example"],
                           "delai_contact": ["3", "9"]}
    assert db.session.get(Parametre, "delai_contact").valeur == "9" and service.seuils()["contact"] == 9
