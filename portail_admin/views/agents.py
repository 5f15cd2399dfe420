"""Administration › Agents: who can log into the back-office."""
from ..models import Agent
from .base import AdminOnlyMixin, PortailModelView


class AgentView(AdminOnlyMixin, PortailModelView):
    """Agents: e-mail, name, role and active flag; passwords never shown."""

    can_create = False
    can_delete = False
    column_list = ("email", "nom", "prenom", "role", "actif", "derniere_connexion")
    column_labels = {"email": "Email", "nom": "Nom", "prenom": "Prénom", "role": "Rôle", "actif": "Actif",
                     "derniere_connexion": "Dernière connexion"}
    column_searchable_list = ("email", "nom")
    column_formatters = {"role": lambda v, c, m, n: Agent.ROLES.get(m.role, m.role)}
    column_details_exclude_list = ("password_hash", "session_version")
    form_columns = ("nom", "prenom", "role", "actif")
