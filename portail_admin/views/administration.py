"""Menu Administration (admins only): notifications, settings, import runs, agents."""
from ..extensions import db
from ..formatting import duree_fr
from ..models import UNIVERS, Agent, ModeleNotification, Parametre, Traitement
from .base import PortailModelView, ReadOnlyModelView

CATEGORY = "Administration"


class AdminOnly:
    admin_only = True


class NotificationView(AdminOnly, PortailModelView):
    """Notifications: the accusé de réception and accusé de traitement e-mails."""

    can_create = False
    can_delete = False
    column_list = ("code", "sujet", "partie_variable", "updated_at")
    column_labels = {"code": "Notification", "sujet": "Objet", "partie_variable": "Partie variable",
                     "updated_at": "Modifiée le"}
    column_formatters = {"code": lambda v, c, m, n: str(m)}
    form_columns = ("sujet", "partie_variable")


class ParametreView(AdminOnly, PortailModelView):
    """Paramètres: the portal's settings."""

    can_create = False
    can_delete = False
    column_list = ("cle", "valeur", "updated_at")
    column_labels = {"cle": "Paramètre", "valeur": "Valeur", "updated_at": "Modifié le"}
    form_columns = ("valeur",)


class TraitementView(AdminOnly, ReadOnlyModelView):
    """État des traitements: the mass imports from Enfance."""

    column_list = ("created_at", "duree", "avancement", "univers", "type", "nombre", "resultat")
    column_labels = {
        "created_at": "Date", "duree": "Durée", "avancement": "Avancement %", "univers": "Univers",
        "type": "Type", "nombre": "Nombre", "resultat": "Résultat",
    }
    column_sortable_list = ("created_at", "type", "nombre", "resultat")
    column_default_sort = [("created_at", True), ("id", True)]
    column_formatters = {
        "duree": lambda v, c, m, n: duree_fr(m.duree),
        "univers": lambda v, c, m, n: UNIVERS.get(m.univers, m.univers),
        "type": lambda v, c, m, n: Traitement.TYPES.get(m.type, m.type),
        "resultat": lambda v, c, m, n: "✓" if m.resultat == "succes" else Traitement.RESULTATS.get(m.resultat),
    }


class AgentView(AdminOnly, PortailModelView):
    """Agents: who can log into the back-office."""

    can_create = False
    can_delete = False
    column_list = ("email", "nom", "prenom", "role", "actif", "derniere_connexion")
    column_labels = {"email": "Email", "nom": "Nom", "prenom": "Prénom", "role": "Rôle", "actif": "Actif",
                     "derniere_connexion": "Dernière connexion"}
    column_searchable_list = ("email", "nom")
    column_formatters = {"role": lambda v, c, m, n: Agent.ROLES.get(m.role, m.role)}
    column_details_exclude_list = ("password_hash", "session_version")
    form_columns = ("nom", "prenom", "role", "actif")


def register(admin):
    admin.add_view(NotificationView(ModeleNotification, db, name="Notifications", category=CATEGORY,
                                    endpoint="notifications"))
    admin.add_view(ParametreView(Parametre, db, name="Paramètres", category=CATEGORY, endpoint="parametres"))
    admin.add_view(TraitementView(Traitement, db, name="État des traitements", category=CATEGORY,
                                  endpoint="traitements"))
    admin.add_view(AgentView(Agent, db, name="Agents", category=CATEGORY, endpoint="agents"))
