"""Menu Demandes: the requests families made on the portal; contact requests are answered here."""
import datetime as dt
import re
import unicodedata

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..formatting import PARIS
from ..jobs.courriels import planifier
from ..models import Courriel, Demande
from ..services import demandes as service
from ..services.courriels import TYPES as TYPES_COURRIEL
from .base import ReadOnlyModelView, commit_or_flash

#: Labels of the structured content's fields on the detail page.
CHAMPS_CONTENU = {
    "objet": "Objet", "message": "Message", "activite": "Activité", "dates": "Dates", "motif": "Motif",
    "enfant": "Enfant", "champ": "Champ à modifier", "nouvelle_valeur": "Nouvelle valeur",
}


def _debut_du_jour(jour: dt.date) -> dt.datetime:
    """Midnight in Paris of a day, as the naive UTC the database stores."""
    return dt.datetime.combine(jour, dt.time(), PARIS).astimezone(dt.UTC).replace(tzinfo=None)


class JourEntreFilter(DateBetweenFilter):
    """Date de la demande between two days (Paris time), both included."""

    def apply(self, query, value, alias=None):
        debut, fin = value
        colonne = self.get_column(alias)
        return query.filter(colonne >= _debut_du_jour(debut),
                            colonne < _debut_du_jour(fin + dt.timedelta(days=1)))


def _seuils() -> dict:
    # Read once per page, not once per row.
    if "demandes_seuils" not in g:
        g.demandes_seuils = service.seuils()
    return g.demandes_seuils


def _delai(view, context, model, name):
    """Days since arrival, as a red badge when an open request waits longer than its type's threshold."""
    jours = service.delai(model)
    seuil = _seuils().get(model.type, 0)
    if service.est_en_retard(model, _seuils()):
        return Markup('<span class="badge badge-danger delai-retard" title="En retard : seuil de {} jour(s)">'
                      '{}</span>').format(seuil, jours)
    return jours


def _citoyen(view, context, model, name):
    citoyen = model.citoyen
    if citoyen is None:
        return "Compte supprimé"
    return Markup('<a href="{}">{}</a>').format(url_for("citoyens.details_view", id=citoyen.id),
                                                 f"{citoyen.nom} {citoyen.prenom}")


class ReponseForm(FlaskForm):
    """The agent's reply to a contact request."""

    reponse = TextAreaField("Réponse à la famille", validators=[
        DataRequired(message="Saisissez la réponse à envoyer à la famille."),
        Length(max=service.LONGUEURS["message"], message="La réponse ne doit pas dépasser %(max)d caractères."),
    ])


class DemandeView(ReadOnlyModelView):
    """Demandes: consultation of every request; contact requests are answered from the detail page."""

    list_template = "admin/demandes/list.html"
    details_template = "admin/demandes/details.html"
    column_list = ("reference", "created_at", "citoyen", "email", "type", "etat", "delai")
    column_labels = {
        "reference": "Référence", "created_at": "Date de la demande", "citoyen": "Compte citoyen",
        "email": "Email", "type": "Type", "etat": "État", "delai": "Délai", "compte": "Compte famille",
        "transmise_le": "Transmise le", "decision": "Décision", "motif": "Motif", "decide_le": "Date de la décision",
        "traitee_le": "Traitée le",
    }
    column_details_list = ("reference", "created_at", "citoyen", "email", "compte", "type", "etat", "delai",
                           "transmise_le", "decision", "motif", "decide_le", "traitee_le")
    column_sortable_list = ("reference", "created_at", "email", "type", "etat")
    column_searchable_list = ("reference", "email")
    column_default_sort = [("created_at", True), ("id", True)]
    column_filters = (
        FilterEqual(Demande.type, "Type", options=tuple(Demande.TYPES.items())),
        FilterEqual(Demande.etat, "État", options=tuple(Demande.ETATS.items())),
        JourEntreFilter(Demande.created_at, "Date de la demande"),
    )
    named_filter_urls = True
    column_formatters = {
        "type": lambda v, c, m, n: Demande.TYPES.get(m.type, m.type),
        "etat": lambda v, c, m, n: Demande.ETATS.get(m.etat, m.etat),
        "decision": lambda v, c, m, n: Demande.DECISIONS.get(m.decision, ""),
        "citoyen": _citoyen,
        "delai": _delai,
    }

    def get_filter_arg(self, index, flt):
        """Readable, accent-free filter URLs: flt0_etat_equals=traitee, flt0_type_equals=absence."""
        operation = flt.operation()
        operation = getattr(operation, "_args", [operation])[0]  # the untranslated word of a lazy string
        nom = unicodedata.normalize("NFKD", f"{flt.name} {operation}").encode("ascii", "ignore").decode().lower()
        return re.sub(r"\s+", "_", re.sub(r"[^a-z0-9 ]", "", nom))

    # ------------------------------------------------------------------ "seulement les demandes en retard"

    @staticmethod
    def en_retard() -> bool:
        """?en_retard=1: only the late requests (a stable URL the dashboard links to)."""
        return request.args.get("en_retard") == "1"

    def get_query(self):
        query = super().get_query()
        return query.filter(service.critere_en_retard(_seuils())) if self.en_retard() else query

    def seuils(self) -> dict:
        return {Demande.TYPES[t]: jours for t, jours in _seuils().items()}

    # ------------------------------------------------------------------ detail page

    def get_one(self, id):
        # The detail page must open a request whatever the list's filter.
        return db.session.get(Demande, id)

    def contenu(self, demande: Demande) -> list[tuple[str, str]]:
        """The request's content as (label, text) pairs; dates in French."""
        lignes = []
        for cle, valeur in (demande.contenu or {}).items():
            if cle == "dates" and isinstance(valeur, list):
                valeur = ", ".join(_date_fr_iso(v) for v in valeur)
            lignes.append((CHAMPS_CONTENU.get(cle, cle), str(valeur)))
        return lignes

    def courriels(self, demande: Demande) -> list[tuple[str, Courriel]]:
        """The request's outbox rows with the label of their kind."""
        return [(TYPES_COURRIEL.get(c.type, c.type), c) for c in service.courriels_de(demande)]

    def reponse_form(self, demande: Demande):
        """The reply form, only for a contact request not yet treated."""
        if demande.type == "contact" and demande.etat != "traitee":
            return ReponseForm()
        return None

    @expose("/repondre/", methods=("POST",))
    def repondre_view(self):
        """Answer a contact request: reply in the history, request treated, accusé de traitement to the family."""
        demande = self._demande_du_formulaire()
        form = ReponseForm()
        if not form.validate_on_submit():
            for erreurs in form.errors.values():
                for erreur in erreurs:
                    flash(erreur, "error")
            return redirect(url_for(".details_view", id=demande.id))
        courriels, ok = commit_or_flash(service.repondre, demande, current_user, form.reponse.data)
        if not ok:
            return redirect(url_for(".details_view", id=demande.id))
        planifier(courriels)
        flash(f"Réponse enregistrée : la demande {demande.reference} est traitée et la famille en est informée "
              "par courriel.", "success")
        return redirect(url_for(".details_view", id=demande.id))

    @expose("/relancer-courriel/", methods=("POST",))
    def relancer_courriel_view(self):
        """Send again a pending or failed e-mail of a request (an e-mail already sent is not sent twice)."""
        demande = self._demande_du_formulaire()
        courriel = db.session.get(Courriel, request.form.get("courriel_id", type=int) or 0)
        if courriel is None or courriel.demande_id != demande.id:
            flash("Courriel introuvable pour cette demande.", "error")
        elif courriel.etat == "envoye":
            flash("Ce courriel a déjà été envoyé.", "info")
        else:
            planifier([courriel.id])
            flash(f"Envoi du courriel à {courriel.destinataire} relancé.", "success")
        return redirect(url_for(".details_view", id=demande.id))

    def _demande_du_formulaire(self) -> Demande:
        demande = db.session.get(Demande, request.form.get("id", type=int) or 0)
        if demande is None:
            abort(404)
        return demande


def _date_fr_iso(valeur) -> str:
    try:
        return dt.date.fromisoformat(valeur).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return str(valeur)


def register(admin):
    admin.add_view(DemandeView(Demande, db, name="Demandes", endpoint="demandes"))
