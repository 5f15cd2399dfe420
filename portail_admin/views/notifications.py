"""Administration › Notifications and Paramètres."""
from .base import AdminOnlyMixin, PortailModelView


class NotificationView(AdminOnlyMixin, PortailModelView):
    """Notifications: the accusé de réception and accusé de traitement e-mails."""

    can_create = False
    can_delete = False
    column_list = ("code", "sujet", "partie_variable", "updated_at")
    column_labels = {"code": "Notification", "sujet": "Objet", "partie_variable": "Partie variable",
                     "updated_at": "Modifiée le"}
    column_formatters = {"code": lambda v, c, m, n: str(m)}
    form_columns = ("sujet", "partie_variable")


class ParametreView(AdminOnlyMixin, PortailModelView):
    """Paramètres: the portal's settings."""

    can_create = False
    can_delete = False
    column_list = ("cle", "valeur", "updated_at")
    column_labels = {"cle": "Paramètre", "valeur": "Valeur", "updated_at": "Modifié le"}
    form_columns = ("valeur",)
