"""RGPD screens (admins only, reached from a family account, not from the menu): export and anonymisation."""
import json

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose

from ..extensions import db
from ..models import CompteMetier
from ..services import rgpd
from .base import AdminOnlyMixin, PortailBaseView, commit_or_flash


def _compte_id() -> int:
    compte_id = request.values.get("compte_id", type=int)
    if compte_id is None or db.session.get(CompteMetier, compte_id) is None:
        abort(404)
    return compte_id


class RgpdView(AdminOnlyMixin, PortailBaseView):
    """Right of access (JSON download of everything held on a family) and anonymisation of a family."""

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        return redirect(url_for("comptes_metier.index_view"))

    @expose("/export")
    def export(self):
        """The family's file as a JSON download; the export is recorded in the journal."""
        compte_id = _compte_id()
        document = rgpd.exporter_famille(compte_id)
        db.session.commit()
        body = json.dumps(document, ensure_ascii=False, indent=2)
        return Response(body, mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="famille-{compte_id}-rgpd.json"'})

    @expose("/anonymiser", methods=("GET", "POST"))
    def anonymiser(self):
        """GET asks for confirmation; POST (with CSRF) anonymises, or says in French why it cannot."""
        compte_id = _compte_id()
        compte = db.session.get(CompteMetier, compte_id)
        if request.method == "POST":
            resume, ok = commit_or_flash(rgpd.anonymiser_famille, compte_id)
            if ok:
                flash(f"Famille anonymisée : {resume['individus']} individu(s), {resume['factures']} facture(s) et "
                      f"{resume['reglements']} règlement(s) conservés sans données personnelles.", "success")
            return redirect(url_for("comptes_metier.details_view", id=compte_id))
        return self.render("admin/rgpd/anonymiser.html", compte=compte, deja=rgpd.est_anonymise(compte))
