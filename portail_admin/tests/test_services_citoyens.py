"""services.citoyens: the rules behind the Citoyens screens (and reusable by the API and the CLI)."""
import pytest

from portail_admin.extensions import db
from portail_admin.models import (
    Audit,
    Citoyen,
    CompteMetier,
    Courriel,
    Demande,
    Facture,
    Individu,
    Inscription,
    Reglement,
)
from portail_admin.services import ServiceError
from portail_admin.services import citoyens as service


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def compte(code="C-1", citoyen=None, univers="enfance", **kwargs):
    row = CompteMetier(univers=univers, emetteur="Divers", code=code, nom=kwargs.pop("nom", "MARTIN"),
                       prenom="Paul", email=f"{code.lower()}@exemple.fr", citoyen=citoyen, **kwargs)
    db.session.add(row)
    db.session.flush()
    return row


def associated(demo_data) -> CompteMetier:
    """A demo family account linked to a citizen, with history (invoices, payments...)."""
    return db.session.scalar(db.select(CompteMetier).where(CompteMetier.citoyen_id.is_not(None),
                                                           CompteMetier.univers == "enfance")
                             .order_by(CompteMetier.id))


def test_creer_citoyen_normalises_and_trims(app):
    citoyen = service.creer_citoyen("  Jeanne.Dupont@Exemple.FR ", "  DUPONT ", " Jeanne ", "MME", True)
    db.session.commit()
    assert (citoyen.email, citoyen.nom, citoyen.prenom, citoyen.civilite, citoyen.partenaire) == (
        "jeanne.dupont@exemple.fr", "DUPONT", "Jeanne", "MME", True)


@pytest.mark.parametrize("email,nom,prenom,message", [
    ("pas-une-adresse", "A", "B", "Adresse e-mail invalide"),
    ("", "A", "B", "Le champ Email est obligatoire."),
    ("a@exemple.fr", "   ", "B", "Le champ Nom est obligatoire."),
    ("a@exemple.fr", "A", "", "Le champ Prénom est obligatoire."),
])
def test_creer_citoyen_refuses_bad_input(app, email, nom, prenom, message):
    with pytest.raises(ServiceError, match=message):
        service.creer_citoyen(email, nom, prenom)
    db.session.rollback()
    assert count(Citoyen) == 0


def test_duplicate_email_is_refused_whatever_the_case(app):
    service.creer_citoyen("paul@exemple.fr", "MARTIN", "Paul")
    with pytest.raises(ServiceError, match="Un compte citoyen existe déjà avec l'adresse paul@exemple.fr."):
        service.creer_citoyen(" PAUL@exemple.fr", "AUTRE", "Paul")
    other = service.creer_citoyen("autre@exemple.fr", "AUTRE", "Pierre")
    with pytest.raises(ServiceError, match="existe déjà"):
        service.modifier_citoyen(other, "Paul@Exemple.fr", "AUTRE", "Pierre", False)


def test_modifier_citoyen_returns_the_changes(app):
    citoyen = service.creer_citoyen("paul@exemple.fr", "MARTIN", "Paul")
    changes = service.modifier_citoyen(citoyen, "paul@exemple.fr", " MARTIN-DURAND ", "Paul", True)
    db.session.commit()
    assert changes == {"nom": ["MARTIN", "MARTIN-DURAND"], "partenaire": [False, True]}
    assert service.modifier_citoyen(citoyen, "PAUL@exemple.fr", "MARTIN-DURAND", "Paul", True) == {}
    assert db.session.get(Citoyen, citoyen.id).nom == "MARTIN-DURAND"


def test_supprimer_citoyen_leaves_family_accounts_orphan_and_keeps_history(app, demo_data):
    compte_ = associated(demo_data)
    citoyen = compte_.citoyen
    db.session.add(Demande(reference="D-TEST-1", citoyen=citoyen, compte=compte_, email=citoyen.email,
                           type="contact", etat="a_traiter"))
    db.session.commit()
    before = {m: count(m) for m in (CompteMetier, Individu, Facture, Reglement, Demande, Inscription)}

    orphelins = service.supprimer_citoyen(citoyen)
    db.session.commit()

    assert compte_.id in orphelins
    assert db.session.get(Citoyen, citoyen.id) is None
    assert db.session.get(CompteMetier, compte_.id).citoyen_id is None
    assert {m: count(m) for m in before} == before
    assert count(Demande, Demande.reference == "D-TEST-1", Demande.citoyen_id.is_(None)) == 1
    entries = db.session.scalars(db.select(Audit).where(Audit.action == "desabonner")).all()
    assert sorted(int(e.objet_id) for e in entries) == sorted(orphelins)
    assert {e.details["motif"] for e in entries} == {"compte citoyen supprimé"}


def test_supprimer_citoyens_bulk_skips_missing_ids(app):
    a = service.creer_citoyen("a@exemple.fr", "A", "A")
    b = service.creer_citoyen("b@exemple.fr", "B", "B")
    compte(citoyen=a)
    assert service.supprimer_citoyens([a.id, b.id, 99999]) == 2
    db.session.commit()
    assert count(Citoyen) == 0
    assert count(CompteMetier, CompteMetier.citoyen_id.is_(None)) == 1


def test_desabonner_cuts_the_link_once(app):
    citoyen = service.creer_citoyen("a@exemple.fr", "A", "A")
    row = compte(citoyen=citoyen)
    assert service.desabonner(row) is True
    db.session.commit()
    assert row.citoyen_id is None
    assert db.session.get(Citoyen, citoyen.id) is not None
    assert service.desabonner(row) is False
    entries = db.session.scalars(db.select(Audit).where(Audit.action == "desabonner")).all()
    assert [(e.objet_id, e.details["citoyen_email"]) for e in entries] == [(str(row.id), "a@exemple.fr")]


def test_desabonner_comptes_counts_done_and_already_orphan(app):
    citoyen = service.creer_citoyen("a@exemple.fr", "A", "A")
    rows = [compte("C-1", citoyen), compte("C-2", citoyen), compte("C-3")]
    assert service.desabonner_comptes([r.id for r in rows]) == (2, 1)
    assert count(CompteMetier, CompteMetier.citoyen_id.is_not(None)) == 0


def test_supprimer_compte_with_history_is_refused_naming_what_blocks(app, demo_data):
    compte_ = associated(demo_data)
    factures = count(Facture, Facture.compte_id == compte_.id)
    reglements = count(Reglement, Reglement.compte_id == compte_.id)
    assert factures and reglements
    with pytest.raises(ServiceError) as refused:
        service.supprimer_compte(compte_)
    message = str(refused.value)
    assert message.startswith(f"Suppression refusée : le compte {compte_.libelle}")
    assert f"{factures} facture" in message and f"{reglements} règlement" in message
    db.session.rollback()
    assert db.session.get(CompteMetier, compte_.id) is not None


def test_supprimer_compte_without_history_takes_its_individuals(app):
    row = compte()
    db.session.add(Individu(reference="R1", compte=row, nom="MARTIN", prenom="Léa", role="enfant"))
    db.session.add(Courriel(type="test", compte_id=row.id, destinataire="x@exemple.fr", sujet="s", corps="c"))
    db.session.flush()
    assert service.supprimer_compte(row) == {"individus": 1, "inscriptions": 0}
    db.session.commit()
    assert count(CompteMetier) == count(Individu) == 0
    assert db.session.scalar(db.select(Courriel.compte_id)) is None


def test_supprimer_comptes_bulk_reports_refusals(app):
    row = compte("C-1")
    blocked = compte("C-2")
    db.session.add(Demande(reference="D1", compte=blocked, email="x@exemple.fr", type="contact", etat="a_traiter"))
    db.session.flush()
    supprimes, refus = service.supprimer_comptes([row.id, blocked.id])
    assert supprimes == 1
    assert refus == ["Suppression refusée : le compte MARTIN Paul (C-2) a encore 1 demande. "
                     "Son historique doit être conservé ; désabonnez-le plutôt."]


def test_associer_links_an_orphan_only(app):
    paul = service.creer_citoyen("paul@exemple.fr", "MARTIN", "Paul")
    row = compte()
    service.associer(row, "Paul@exemple.fr")
    assert row.citoyen_id == paul.id
    with pytest.raises(ServiceError, match="déjà associé à paul@exemple.fr."):
        service.associer(row, paul)
    autre = service.creer_citoyen("autre@exemple.fr", "AUTRE", "Pierre")
    with pytest.raises(ServiceError, match="désabonnez-le d'abord"):
        service.associer(row, autre)
    with pytest.raises(ServiceError, match="Aucun compte citoyen avec l'adresse inconnu@exemple.fr."):
        service.associer(compte("C-2"), "inconnu@exemple.fr")
    assert db.session.scalar(db.select(Audit).where(Audit.action == "associer")).details["citoyen_id"] == paul.id


def test_modifier_compte_changes_names_and_email_only(app):
    row = compte()
    changes = service.modifier_compte(row, " DURAND ", "", " Durand@Exemple.fr ")
    assert changes == {"nom": ["MARTIN", "DURAND"], "prenom": ["Paul", ""],
                       "email": ["c-1@exemple.fr", "durand@exemple.fr"]}
    assert (row.code, row.emetteur, row.univers) == ("C-1", "Divers", "enfance")
    assert service.modifier_compte(row, "DURAND", "", "")["email"] == ["durand@exemple.fr", None]
    with pytest.raises(ServiceError, match="Le champ Nom est obligatoire."):
        service.modifier_compte(row, " ", "", "")
    with pytest.raises(ServiceError, match="Adresse e-mail invalide"):
        service.modifier_compte(row, "DURAND", "", "pas-une-adresse")


def test_citoyens_par_prefixe_matches_the_start_of_the_email_only(app):
    for email in ("anne@exemple.fr", "anna@exemple.fr", "jeanne@exemple.fr", "anz@exemple.fr"):
        service.creer_citoyen(email, "X", "Y")
    assert [c.email for c in service.citoyens_par_prefixe(" ANN")] == ["anna@exemple.fr", "anne@exemple.fr"]
    assert [c.email for c in service.citoyens_par_prefixe("an", limite=2, offset=1)] == [
        "anne@exemple.fr", "anz@exemple.fr"]
    assert service.citoyens_par_prefixe("") == service.citoyens_par_prefixe("%") == []


def test_valeurs_presentes_lists_each_value_once(app):
    for n, univers in enumerate(("eau", "enfance", "eau", "divers", "enfance")):
        compte(f"C-{n}", univers=univers)
    assert service.valeurs_presentes(CompteMetier.univers) == ["divers", "eau", "enfance"]


def test_valeurs_presentes_are_reused_for_a_minute_then_refreshed(app):
    compte("C-1", univers="enfance")
    assert service.valeurs_presentes(CompteMetier.univers) == ["enfance"]
    compte("C-2", univers="eau")
    # Within the delay the filter keeps the options it showed; the émetteurs are a cache of their own.
    assert service.valeurs_presentes(CompteMetier.univers) == ["enfance"]
    assert service.valeurs_presentes(CompteMetier.emetteur) == sorted({c.emetteur for c in CompteMetier.query})
    app.config["OPTIONS_FILTRES_CACHE_SECONDES"] = 0
    assert service.valeurs_presentes(CompteMetier.univers) == ["eau", "enfance"]
