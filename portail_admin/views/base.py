"""The secured base views every back-office screen derives from: deny by default, CSRF, French formats."""
import datetime as dt
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from flask_admin.model import typefmt
from flask_login import current_user
from flask_wtf import FlaskForm

from ..extensions import db
from ..formatting import date_fr, datetime_fr, euros, oui_non
from ..models import UNIVERS
from ..services import ServiceError, audit
from .fastlist import FastListMixin


def colonne_oui_non(view, context, model, name) -> str:
    """Column formatter: a boolean column as Oui / Non."""
    return oui_non(getattr(model, name))


def colonne_univers(view, context, model, name) -> str:
    """Column formatter: the univers' label (Enfance, Eau, Divers)."""
    return UNIVERS.get(model.univers, model.univers)


def commit_or_flash(operation, *args):
    """Run a service operation and commit; a refusal (ServiceError) is rolled back and flashed in French.

    Returns (the operation's result, True), or (None, False) after a refusal.
    """
    try:
        result = operation(*args)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None, False
    return result, True


class PortailForm(BaseForm):
    """Flask-Admin forms carrying Flask-WTF's CSRF token, which CSRFProtect checks on every POST."""

    class Meta(FlaskForm.Meta):
        pass


class SecureMixin:
    """Deny by default: anonymous users go to the login page, non-admins get 403 on admin-only views."""

    #: Views of the Administration menu set this.
    admin_only = False

    def is_accessible(self) -> bool:
        if not current_user.is_authenticated:
            return False
        return current_user.is_admin or not self.admin_only

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class AdminOnlyMixin:
    """Views of the Administration menu: admins only."""

    admin_only = True


FORMATTERS = dict(typefmt.BASE_FORMATTERS)
FORMATTERS.update({
    # Flask-Admin takes the first isinstance match: datetime (a subclass of date) must come first.
    dt.datetime: lambda view, value, name: datetime_fr(value),
    dt.date: lambda view, value, name: date_fr(value),
    Decimal: lambda view, value, name: euros(value),
})


class PortailModelView(SecureMixin, FastListMixin, ModelView):
    """A list/detail/edit screen of the back-office."""

    form_base_class = PortailForm
    action_disallowed_list = []
    can_view_details = True
    details_modal = False
    can_export = False
    page_size = 20
    column_display_pk = False
    column_type_formatters = FORMATTERS
    column_type_formatters_detail = FORMATTERS
    list_template = "admin/portail/list.html"
    #: Detail pages end with the record's "Historique" (audit trail).
    details_template = "admin/portail/details.html"

    def historique(self, model) -> list:
        """The audit entries on this record, newest first."""
        return audit.historique(type(model).__name__, self.get_pk_value(model))

    def _get_list_extra_args(self):
        view_args = super()._get_list_extra_args()
        # A crafted negative page would be a negative OFFSET: an error on PostgreSQL, not a page.
        view_args.page = max(view_args.page or 0, 0)
        return view_args


class ReadOnlyModelView(PortailModelView):
    """Data owned by the Enfance application: consultation only, here and against crafted POSTs."""

    can_create = False
    can_edit = False
    can_delete = False


class PortailBaseView(SecureMixin, BaseView):
    """A custom (non-model) screen."""


class PortailIndexView(SecureMixin, AdminIndexView):
    """The back-office home page."""
