"""Flask commands: demo data (repeatable), agent creation."""
from portail_admin.extensions import db
from portail_admin.models import Agent, Citoyen, CompteMetier, Demande, Facture, Reglement, Traitement, utcnow
from portail_admin.services.agents import check_password


def snapshot():
    return {
        "citoyens": sorted(db.session.scalars(db.select(Citoyen.email))),
        "comptes": sorted(db.session.execute(
            db.select(CompteMetier.code, Citoyen.email).outerjoin(CompteMetier.citoyen)).all(), key=str),
        "factures": sorted(db.session.execute(db.select(Facture.numero, Facture.montant, Facture.restant_du)).all()),
        "reglements": db.session.scalar(db.select(db.func.count(Reglement.id))),
        "demandes": sorted(db.session.execute(db.select(Demande.reference, Demande.type, Demande.etat)).all()),
    }


def test_demo_data_loads_every_kind_of_record_and_is_repeatable(runner):
    result = runner.invoke(args=["demo-data", "--familles", "15"])
    assert result.exit_code == 0, result.output
    assert "agent@demo.fr / portail-demo-2026" in result.output
    first = snapshot()
    assert len(first["comptes"]) >= 15 and any(c is None for _, c in first["comptes"])  # some Orphelin
    assert {t for _, t, _ in first["demandes"]} == set(Demande.TYPES)
    assert db.session.scalar(db.select(db.func.count()).where(Facture.archive.is_(True))) > 0
    assert db.session.scalar(db.select(db.func.count()).where(Facture.restant_du > 0)) > 0
    assert db.session.scalar(db.select(db.func.count()).where(Reglement.en_ligne.is_(True))) > 0
    assert db.session.scalar(db.select(db.func.count(Traitement.id))) > 0
    result = runner.invoke(args=["demo-data", "--familles", "15"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert snapshot() == first
    assert db.session.scalar(db.select(db.func.count(Agent.id))) == 2


def test_demo_data_if_empty_keeps_existing_data(runner):
    runner.invoke(args=["demo-data", "--familles", "5"])
    before = snapshot()
    result = runner.invoke(args=["demo-data", "--if-empty", "--familles", "8"])
    assert "conservées" in result.output
    assert snapshot() == before


def test_create_agent_reads_password_from_stdin(runner):
    result = runner.invoke(args=["create-agent", "Marie@Mairie.fr", "--role", "admin", "--password-stdin"],
                           input="un-mot-de-passe-solide\n")
    assert result.exit_code == 0, result.output
    agent = db.session.scalar(db.select(Agent).where(Agent.email == "marie@mairie.fr"))
    assert agent.role == "admin" and check_password(agent, "un-mot-de-passe-solide")
    assert "un-mot-de-passe-solide" not in agent.password_hash


def test_create_agent_refuses_short_password_and_duplicates(runner):
    result = runner.invoke(args=["create-agent", "a@b.fr", "--password-stdin"], input="court\n")
    assert result.exit_code != 0 and "au moins 12 caractères" in result.output
    runner.invoke(args=["create-agent", "a@b.fr", "--password-stdin"], input="assez-long-mot-de-passe\n")
    result = runner.invoke(args=["create-agent", "A@B.fr", "--password-stdin"], input="assez-long-mot-de-passe\n")
    assert result.exit_code != 0 and "existe déjà" in result.output
    assert db.session.scalar(db.select(db.func.count(Agent.id))) == 1


def test_demo_activity_is_never_later_than_the_moment_it_is_loaded(runner):
    """Whatever the hour the demo is loaded (CI runs at night), what happens next shows as the newest."""
    avant = utcnow()
    runner.invoke(args=["demo-data", "--familles", "5"])
    recents = [db.session.scalar(db.select(db.func.max(column)))
               for column in (Traitement.created_at, Traitement.fin, Demande.created_at)]
    assert all(recent is not None for recent in recents)
    assert max(recents) <= avant
