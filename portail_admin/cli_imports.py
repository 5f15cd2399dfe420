"""The `flask import` command: a mass import from a file (CSV, NDJSON or JSON), for recovery and first loads."""
import click
from flask.cli import with_appcontext

from .extensions import db
from .services import ServiceError, synchro


@click.command("import")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False))
@click.option("--type", "type_import", type=click.Choice(list(synchro.TYPES)), required=True,
              help="Type d'enregistrements du fichier.")
@click.option("--format", "format_fichier", type=click.Choice(synchro.FORMATS),
              help="Format (par défaut d'après l'extension : .csv, .json, sinon NDJSON).")
@with_appcontext
def importer(fichier, type_import, format_fichier):
    """Import FICHIER as one run (visible in État des traitements); waits for the end when no Redis is set."""
    from .jobs import imports as jobs_imports
    from .jobs import is_inline
    from .models import Traitement

    format_fichier = format_fichier or _format(fichier)
    try:
        with open(fichier, "rb") as flux:
            traitement = synchro.recevoir(type_import, flux, format_fichier, source="cli")
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Traitement n° {traitement.id} : {traitement.nombre} ligne(s) de type {type_import}.")
    jobs_imports.lancer(traitement)
    if not is_inline():
        click.echo("Tâche mise en file « imports » : suivez-la dans Administration › État des traitements.")
        return
    traitement = db.session.get(Traitement, traitement.id, populate_existing=True)
    compteurs = traitement.compteurs or {}
    if traitement.resultat == "succes":
        click.echo(f"Import réussi : {compteurs.get('ecrites', 0)} ligne(s) créée(s) ou modifiée(s), "
                   f"{compteurs.get('inchangees', 0)} inchangée(s).")
        return
    for erreur in traitement.erreurs or []:
        ligne = f"ligne {erreur['ligne']} : " if erreur.get("ligne") else ""
        click.echo(f"  {ligne}{erreur['message']}", err=True)
    raise click.ClickException(f"Import en erreur ({compteurs.get('erreurs', 1)} erreur(s)) : rien n'a été écrit.")


def _format(fichier: str) -> str:
    nom = fichier.lower()
    if nom.endswith(".csv"):
        return "csv"
    if nom.endswith(".json"):
        return "json"
    return "ndjson"


def init_app(app):
    app.cli.add_command(importer)
