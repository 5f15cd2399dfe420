"""Administration › État des traitements: the mass imports from Enfance, their progress, errors and relaunch."""
from flask import flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model.template import TemplateLinkRowAction
from flask_login import current_user
from markupsafe import Markup

from ..extensions import db
from ..formatting import duree_fr
from ..jobs import imports as jobs_imports
from ..models import Traitement
from ..services import synchro
from .base import AdminOnlyMixin, ReadOnlyModelView, colonne_univers, commit_or_flash


def resultat_court(traitement: Traitement) -> str:
    """The "Résultat" column: ✓, the error (or how many lines are wrong), or the state of a live run."""
    if traitement.resultat == "succes":
        return "✓"
    if traitement.resultat != "erreur":
        return Traitement.RESULTATS.get(traitement.resultat, traitement.resultat)
    erreurs = traitement.erreurs or []
    total = (traitement.compteurs or {}).get("erreurs") or len(erreurs)
    if erreurs and erreurs[0].get("ligne") is None:
        return erreurs[0].get("message", "Erreur")
    return f"{total} ligne{'s' if total > 1 else ''} en erreur"


def _avancement(view, context, model, name):
    en_cours = model.resultat in ("en_attente", "en_cours")
    attributs = (f' data-traitement="{model.id}" data-statut-url="{url_for(".statut")}"' if en_cours else "")
    return Markup(f'<progress class="traitement-avancement" max="100" value="{int(model.avancement)}"'
                  f'{attributs}>{int(model.avancement)} %</progress> '
                  f'<span class="traitement-pourcentage">{int(model.avancement)}</span>')


def _resultat(view, context, model, name):
    texte = resultat_court(model)
    if model.resultat == "erreur":
        return Markup('<span class="text-danger">{}</span>').format(texte)
    return texte


class TraitementView(AdminOnlyMixin, ReadOnlyModelView):
    """État des traitements: one row per import run, newest first; detail with errors and log; relaunch."""

    column_list = ("created_at", "duree", "avancement", "univers", "type", "nombre", "resultat")
    column_labels = {
        "created_at": "Date", "duree": "Durée", "avancement": "Avancement %", "univers": "Univers",
        "type": "Type", "nombre": "Nombre", "resultat": "Résultat", "debut": "Début", "fin": "Fin",
        "source": "Source", "compteurs": "Compteurs", "fichier": "Fichier du lot",
    }
    column_sortable_list = ("created_at", "type", "nombre", "resultat")
    column_default_sort = [("created_at", True), ("id", True)]
    column_filters = [
        FilterEqual(Traitement.type, "Type", options=list(Traitement.TYPES.items())),
        FilterEqual(Traitement.resultat, "Résultat", options=list(Traitement.RESULTATS.items())),
        "created_at",
    ]
    column_formatters = {
        "duree": lambda v, c, m, n: duree_fr(m.duree),
        "avancement": _avancement,
        "univers": colonne_univers,
        "type": lambda v, c, m, n: Traitement.TYPES.get(m.type, m.type),
        "resultat": _resultat,
    }
    column_details_list = ("created_at", "debut", "fin", "duree", "avancement", "univers", "type", "nombre",
                           "resultat", "source", "compteurs", "fichier")
    column_formatters_detail = {
        **column_formatters,
        "compteurs": lambda v, c, m, n: ", ".join(f"{k} : {val}" for k, val in (m.compteurs or {}).items()),
        "source": lambda v, c, m, n: {"api": "API Enfance", "cli": "Ligne de commande"}.get(m.source, m.source),
    }
    column_extra_row_actions = [TemplateLinkRowAction("traitements_actions.relancer", "Relancer")]
    list_template = "admin/traitements/list.html"
    details_template = "admin/traitements/details.html"

    @property
    def extra_js(self):
        # The progress bars poll the status JSON; the script is a static file (no inline script, strict CSP).
        return [url_for("static", filename="traitements.js")]

    @expose("/")
    def index_view(self):
        # The screen is where a dead run would be noticed: mark it before showing it.
        jobs_imports.balayer()
        return super().index_view()

    @expose("/details/")
    def details_view(self):
        jobs_imports.balayer()
        return super().details_view()

    @expose("/statut.json")
    def statut(self):
        """Progress of the runs shown as running (polled by static/traitements.js)."""
        jobs_imports.balayer()
        ids = [int(i) for i in request.args.get("ids", "").split(",") if i.isdigit() and len(i) < 10][:100]
        traitements = db.session.scalars(db.select(Traitement).where(Traitement.id.in_(ids))) if ids else []
        return jsonify({str(t.id): {"avancement": t.avancement, "resultat": t.resultat,
                                    "resultat_libelle": resultat_court(t)} for t in traitements})

    @expose("/relancer/<int:traitement_id>", methods=["POST"])
    def relancer(self, traitement_id):
        """Put a finished run back in the queue from its stored batch (admins only; POST with CSRF)."""
        traitement = db.session.get(Traitement, traitement_id) if traitement_id < 2 ** 31 else None
        if traitement is None:
            flash("Traitement introuvable.", "error")
            return redirect(url_for(".index_view"))
        _traitement, ok = commit_or_flash(synchro.relancer, traitement, current_user)
        if not ok:
            return redirect(url_for(".details_view", id=traitement_id))
        jobs_imports.lancer(traitement)
        flash(f"Traitement n° {traitement_id} relancé : « {Traitement.TYPES.get(traitement.type)} ».", "success")
        return redirect(url_for(".details_view", id=traitement_id))

    def peut_relancer(self, traitement: Traitement) -> bool:
        return traitement.resultat not in ("en_attente", "en_cours") and bool(
            traitement.fichier)
