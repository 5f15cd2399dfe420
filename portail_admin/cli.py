"""Flask commands: demo data, agents, the RQ worker."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db
from .services import ServiceError, api_tokens, demo
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

    if is_inline():
        raise click.ClickException("REDIS_URL n'est pas défini : les tâches s'exécutent déjà dans l'application.")
    # Forked work horses must not share the parent's database connections.
    db.engine.dispose()
    queues = current_app.config["RQ_QUEUES"]
    Worker(queues, connection=get_connection(), serializer=JSONSerializer).work(burst=burst, with_scheduler=True)


def init_app(app):
    for command in (demo_data, create_agent_command, create_api_token, worker):
        app.cli.add_command(command)
