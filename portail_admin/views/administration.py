"""Menu Administration (admins only): the entries in the seed's order, each defined in its own module."""
from ..extensions import db
from ..models import Agent, Audit, ModeleNotification, Traitement
from .agents import AgentView
from .journal import JournalView
from .notifications import NotificationView, ParametreView
from .rgpd import RgpdView
from .traitements import TraitementView

CATEGORY = "Administration"


def register(admin):
    admin.add_view(NotificationView(ModeleNotification, db, name="Notifications", category=CATEGORY,
                                    endpoint="notifications"))
    admin.add_view(ParametreView(name="Paramètres", category=CATEGORY, endpoint="parametres"))
    admin.add_view(TraitementView(Traitement, db, name="État des traitements", category=CATEGORY,
                                  endpoint="traitements"))
    admin.add_view(AgentView(Agent, db, name="Agents", category=CATEGORY, endpoint="agents"))
    admin.add_view(JournalView(Audit, db, name="Journal", category=CATEGORY, endpoint="journal"))
    admin.add_view(RgpdView(name="RGPD", category=CATEGORY, endpoint="rgpd"))
