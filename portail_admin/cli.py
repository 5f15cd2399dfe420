"""Flask commands: demo data, agents, the RQ worker, maintenance."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db
from .models import TotalDepot
from .services import ServiceError, api_tokens, demo, facturation
from .services.agents import create_agent


@click.command("demo-data")
@click.option("--familles", default=200, show_default=True, help="Nombre de familles à générer.")
@click.option("--if-empty", is_flag=True, help="Ne rien faire si la base contient déjà des familles.")
@with_appcontext
def demo_data(familles, if_empty):
    """Replace the data with a repeatable demo municipality and print the demo logins."""
    if if_empty and not demo.is_empty():
        click.echo("Base déjà remplie : données de démonstration conservées.")
    else:
        counts = demo.load(familles=familles)
        db.session.commit()
        click.echo("Données de démonstration chargées : " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    click.echo(f"Connexion agent : agent@demo.fr / {demo.DEMO_PASSWORD}")
    click.echo(f"Connexion administrateur : admin@demo.fr / {demo.DEMO_PASSWORD}")


@click.command("create-agent")
@click.argument("email")
@click.option("--role", type=click.Choice(["agent", "admin"]), default="agent", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
@with_appcontext
def create_agent_command(email, role, password_stdin):
    """Create an agent who can log into the back-office."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe")
    try:
        agent = create_agent(email, password, role=role)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Agent créé : {agent.email} ({role}).")


@click.command("create-api-token")
@click.argument("nom")
@click.option("--scope", type=click.Choice(["portail", "enfance"]), required=True)
@with_appcontext
def create_api_token(nom, scope):
    """Create an API bearer token; it is shown once and stored hashed."""
    try:
        _token, plain = api_tokens.create_token(nom, scope)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Jeton « {nom} » (portée {scope}) — conservez-le, il ne sera plus affiché :")
    click.echo(plain)


@click.command("worker")
@click.option("--burst", is_flag=True, help="S'arrêter quand les files sont vides.")
@with_appcontext
def worker(burst):
    """Run an RQ worker on the app's queues, with the scheduler (needs REDIS_URL)."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from .jobs import get_connection, is_inline
    from .logs import LoggedJob

    if is_inline():
        raise click.ClickException("REDIS_URL n'est pas défini : les tâches s'exécutent déjà dans l'application.")
    # Runs left "en cours" by a worker that died are marked failed before new work starts.
    from .jobs.imports import balayer

    balayer()
    # Forked work horses must not share the parent's database connections.
    db.engine.dispose()
    queues = current_app.config["RQ_QUEUES"]
    Worker(queues, connection=get_connection(), serializer=JSONSerializer, job_class=LoggedJob).work(
        burst=burst, with_scheduler=True)


@click.command("relance-courriels")
@with_appcontext
def relance_courriels():
    """Send again the failed e-mails and those left pending (run it from cron: nothing is sent twice)."""
    from .jobs.courriels import relancer_courriels

    click.echo(f"Courriels relancés : {relancer_courriels()}")


@click.command("purger-journal")
@with_appcontext
def purger_journal():
    """Delete the audit entries older than the retention period of Paramètres (run it daily from cron)."""
    from .jobs.securite import purger_journal as job

    try:
        click.echo(f"Entrées du journal supprimées : {job()}")
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("retention-familles")
@with_appcontext
def retention_familles():
    """Anonymise the families inactive past the retention period of Paramètres (run it daily from cron)."""
    from .jobs.securite import retention_familles as job

    try:
        resultat = job()
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Familles anonymisées : {len(resultat['anonymisees'])}")
    for compte_id, motif in resultat["refusees"].items():
        click.echo(f"Compte {compte_id} conservé : {motif}")


@click.command("recalculer-totaux")
@with_appcontext
def recalculer_totaux():
    """Rebuild the deposit summary (Règlements total, monthly deposits) from the invoices and payments.

    Never needed in normal operation (every write keeps it exact); after data was changed by hand in SQL.
    """
    facturation.recalculer_totaux()
    db.session.commit()
    for nature in TotalDepot.NATURES:
        groupes, nombre = db.session.execute(
            db.select(db.func.count(), db.func.coalesce(db.func.sum(TotalDepot.nombre), 0))
            .where(TotalDepot.nature == nature)).one()
        click.echo(f"Totaux des dépôts recalculés ({nature}) : {int(nombre)} ligne(s), {groupes} groupe(s).")


def init_app(app):
    from . import cli_imports

    cli_imports.init_app(app)
    for command in (demo_data, create_agent_command, create_api_token, worker, relance_courriels, purger_journal,
                    retention_familles, recalculer_totaux):
        app.cli.add_command(command)
