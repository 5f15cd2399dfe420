"""RGPD: a family's data export, its anonymisation (refused with open requests), the retention job."""
import datetime as dt
import json

import sqlalchemy as sa

from portail_admin.extensions import db
from portail_admin.models import (
    Audit,
    Citoyen,
    CompteMetier,
    Courriel,
    Demande,
    Facture,
    Individu,
    Parametre,
    Reglement,
)
from portail_admin.services import ServiceError, rgpd

from .conftest import csrf_token


def famille(open_requests: bool) -> CompteMetier:
    """A demo family with a citizen account, invoices and requests, all processed or not."""
    for compte in db.session.scalars(sa.select(CompteMetier).where(CompteMetier.citoyen_id.is_not(None))
                                     .order_by(CompteMetier.id)):
        demandes = db.session.scalars(sa.select(Demande).where(Demande.compte_id == compte.id)).all()
        if demandes and any(d.etat != "traitee" for d in demandes) == open_requests:
            return compte
    raise AssertionError("pas de famille de démonstration adaptée")


def test_export_holds_everything_on_the_family_and_is_admin_only(client, auth, demo_data):
    compte = famille(open_requests=True)
    auth.login()
    assert client.get(f"/admin/rgpd/export?compte_id={compte.id}").status_code == 403
    auth.logout()
    auth.login("admin@demo.fr")
    response = client.get(f"/admin/rgpd/export?compte_id={compte.id}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.get_data(as_text=True))
    assert document["compte"][0]["nom"] == compte.nom and document["citoyen"][0]["email"] == compte.citoyen.email
    assert len(document["factures"]) == db.session.scalar(sa.select(sa.func.count(Facture.id)).where(
        Facture.compte_id == compte.id)) > 0
    for kind in ("individus", "inscriptions", "reglements", "demandes", "courriels", "lignes_facture"):
        assert document[kind], kind
    assert "password_hash" not in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Audit).where(Audit.action == "rgpd_export")).acteur == "admin@demo.fr"
    assert client.get("/admin/rgpd/export?compte_id=999999").status_code == 404
    assert client.get("/admin/rgpd/export?compte_id=abc").status_code == 404


def test_anonymisation_is_refused_while_requests_are_open(client, auth, demo_data):
    compte = famille(open_requests=True)
    nom = compte.nom
    auth.login("admin@demo.fr")
    token = csrf_token(client, f"/admin/rgpd/anonymiser?compte_id={compte.id}")
    response = client.post("/admin/rgpd/anonymiser", data={"csrf_token": token, "compte_id": compte.id},
                           follow_redirects=True)
    assert "Anonymisation impossible : demandes en cours" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CompteMetier, compte.id).nom == nom


def test_anonymisation_replaces_personal_data_and_keeps_amounts(client, auth, demo_data):
    compte = famille(open_requests=False)
    compte_id, citoyen_id, nom = compte.id, compte.citoyen_id, compte.nom
    email = compte.citoyen.email
    total = db.session.scalar(sa.select(sa.func.sum(Facture.montant)).where(Facture.compte_id == compte_id))
    reglements = db.session.scalar(sa.select(sa.func.count(Reglement.id)).where(Reglement.compte_id == compte_id))
    auth.login("admin@demo.fr")
    token = csrf_token(client, f"/admin/rgpd/anonymiser?compte_id={compte_id}")
    response = client.post("/admin/rgpd/anonymiser", data={"csrf_token": token, "compte_id": compte_id},
                           follow_redirects=True)
    assert "Famille anonymisée" in response.get_data(as_text=True)
    db.session.expire_all()
    compte = db.session.get(CompteMetier, compte_id)
    assert (compte.nom, compte.email, compte.citoyen_id) == ("ANONYME", None, None) and rgpd.est_anonymise(compte)
    individus = db.session.scalars(sa.select(Individu).where(Individu.compte_id == compte_id)).all()
    assert individus and all(i.nom == "ANONYME" and i.date_naissance is None for i in individus)
    assert db.session.scalar(sa.select(sa.func.sum(Facture.montant)).where(Facture.compte_id == compte_id)) == total
    assert db.session.scalar(sa.select(sa.func.count(Reglement.id)).where(Reglement.compte_id == compte_id)) == \
        reglements
    assert not db.session.scalars(sa.select(Courriel).where(Courriel.destinataire == email)).all()
    assert not db.session.scalars(sa.select(Demande).where(Demande.email == email)).all()
    # The journal keeps who and when, but no longer the erased values.
    entry = db.session.scalar(sa.select(Audit).where(Audit.action == "anonymisation"))
    assert entry.acteur == "admin@demo.fr" and entry.objet_id == str(compte_id)
    assert nom not in json.dumps([a.details for a in db.session.scalars(sa.select(Audit))], ensure_ascii=False)
    assert db.session.get(Citoyen, citoyen_id).email == f"anonyme-{citoyen_id}@anonyme.invalid"
    try:
        rgpd.anonymiser_famille(compte_id)
    except ServiceError as exc:
        assert "déjà anonymisée" in str(exc)
    else:
        raise AssertionError("une deuxième anonymisation doit être refusée")


def test_agent_cannot_anonymise_even_by_crafted_post(client, auth, demo_data):
    compte = famille(open_requests=False)
    auth.login()
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/rgpd/anonymiser", data={"csrf_token": token, "compte_id": compte.id}).status_code == 403
    db.session.expire_all()
    assert not rgpd.est_anonymise(db.session.get(CompteMetier, compte.id))


def test_retention_job_anonymises_inactive_families_only(app, runner, demo_data):
    later = dt.datetime.now() + dt.timedelta(days=40 * 31)
    inactives = rgpd.familles_inactives(36, later)
    assert inactives and not rgpd.familles_inactives(36)
    db.session.get(Parametre, "retention_familles_mois").valeur = "36"
    db.session.commit()
    result = rgpd.appliquer_retention(later)
    db.session.commit()
    assert set(result["anonymisees"]) | set(result["refusees"]) == set(inactives)
    assert all("demandes en cours" in motif for motif in result["refusees"].values())
    assert all(rgpd.est_anonymise(db.session.get(CompteMetier, i)) for i in result["anonymisees"])
    output = runner.invoke(args=["retention-familles"])
    assert output.exit_code == 0 and "Familles anonymisées : 0" in output.output
