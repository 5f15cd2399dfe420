"""Menu Administration (admins only): the entries in the seed's order, each defined in its own module."""
from ..extensions import db
from ..models import Agent, ModeleNotification, Parametre, Traitement
from .agents import AgentView
from .notifications import NotificationView, ParametreView
from .traitements import TraitementView

CATEGORY = "Administration"


def register(admin):
    admin.add_view(NotificationView(ModeleNotification, db, name="Notifications", category=CATEGORY,
                                    endpoint="notifications"))
    admin.add_view(ParametreView(Parametre, db, name="Paramètres", category=CATEGORY, endpoint="parametres"))
    admin.add_view(TraitementView(Traitement, db, name="État des traitements", category=CATEGORY,
                                  endpoint="traitements"))
    admin.add_view(AgentView(Agent, db, name="Agents", category=CATEGORY, endpoint="agents"))
