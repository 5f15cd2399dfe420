"""Flask-Admin back-office: built per app in init_admin, menus in the seed's order."""
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from ..security import csp_nonce
from . import administration, citoyens, demandes, facturation, famille
from .accueil import AccueilView

#: Menu sections in the order of the vendor guide.
SECTIONS = (citoyens, facturation, famille, demandes, administration)


def init_admin(app) -> Admin:
    """Build the Admin for this app (never at import time, so create_app can run twice)."""
    admin = Admin(
        app,
        name="Portail Famille",
        index_view=AccueilView(name="Accueil", url="/admin", template="admin/portail/index.html"),
        theme=Bootstrap4Theme(base_template="admin/portail/base.html", fluid=True),
        csp_nonce_generator=csp_nonce,
    )
    for section in SECTIONS:
        section.register(admin)
    return admin
