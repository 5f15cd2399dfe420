"""End-to-end fixtures: a real server on 127.0.0.1 with demo data, and Debian's Chromium driven by Playwright.

Every journey gets a fresh browser context whose page fails the test on a JavaScript error (console or uncaught)
or on a 4xx/5xx answer to one of the page's own requests, and leaves a screenshot under test-results/e2e/.
"""
import datetime as dt
import os
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.models import CompteMetier, Demande, DemandeHistorique, Traitement, utcnow
from portail_admin.services import demo
from portail_admin.tests.conftest import DEMO_PASSWORD, require_service

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: Ports kept for these tests, so parallel runs of other suites do not collide with them.
PORTS = range(5111, 5120)
RESULTATS = Path(__file__).resolve().parents[3] / "test-results" / "e2e"
#: Bounded waits: a journey that hangs fails in seconds rather than minutes.
DELAI_MS = 8000


def _port_libre() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"aucun port libre entre {PORTS.start} et {PORTS.stop - 1}")


class Serveur:
    """The app served over real HTTP by a werkzeug thread, with its own SQLite database."""

    def __init__(self, app, port: int):
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self._http = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._http.serve_forever, name="e2e-serveur", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._http.shutdown()
        self._thread.join(5)

    def lire(self, requete):
        """Run requete() against the server's database (to pick the rows a journey works on)."""
        with self.app.app_context():
            return requete()


def _donnees_du_jour():
    """This morning's activity: a contact request an hour ago and a failed import (the demo's are older)."""
    compte = db.session.scalar(db.select(CompteMetier).where(CompteMetier.citoyen_id.is_not(None))
                               .order_by(CompteMetier.id))
    arrivee = utcnow() - dt.timedelta(hours=1)
    db.session.add(Demande(
        reference="D-E2E-000001", created_at=arrivee, citoyen=compte.citoyen, compte=compte,
        email=compte.citoyen.email, type="contact", etat="a_traiter",
        contenu={"objet": "Question sur une facture", "message": "Bonjour, pouvez-vous m'envoyer le détail ?"},
        historique=[DemandeHistorique(created_at=arrivee, libelle="Demande reçue", auteur="Portail")],
    ))
    db.session.add(Traitement(created_at=arrivee, debut=arrivee, fin=arrivee + dt.timedelta(seconds=2),
                              type="individus", nombre=12, avancement=40, resultat="erreur",
                              erreurs=[{"ligne": 3, "message": "Famille inconnue : 99999999."}],
                              journal="Import refusé : 1 ligne en erreur."))


@pytest.fixture(scope="session")
def serveur(tmp_path_factory):
    """A real server on 127.0.0.1 with a 30-family demo municipality, shared by the journeys."""
    dossier = tmp_path_factory.mktemp("e2e")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{dossier / 'portail.db'}",
        "SECRET_KEY": "e2e-" + os.urandom(8).hex(),
        "REDIS_URL": None,
        "MAIL_SUPPRESS_SEND": True,
    })
    with app.app_context():
        db.create_all()
        demo.load(familles=30)
        _donnees_du_jour()
        db.session.commit()
    serveur = Serveur(app, _port_libre())
    serveur.start()
    yield serveur
    serveur.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def navigateur():
    """Headless Chromium, started once for the session."""
    if not shutil.which(CHROMIUM):
        require_service("Chromium", f"{CHROMIUM} introuvable (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Incidents:
    """What went wrong in the page: JavaScript errors and failed answers to the page's own requests."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.erreurs: list[str] = []

    def console(self, message):
        if message.type == "error":
            self.erreurs.append(f"console ({message.location.get('url')}) : {message.text}")

    def exception(self, error):
        self.erreurs.append(f"erreur JavaScript : {error}")

    def reponse(self, response):
        if response.url.startswith(self.base_url) and response.status >= 400:
            self.erreurs.append(f"HTTP {response.status} : {response.request.method} {response.url}")


@pytest.fixture
def page(request, navigateur, serveur):
    """A fresh page (its own cookies) on the server; checked for errors and photographed at the end."""
    context = navigateur.new_context(base_url=serveur.url, locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DELAI_MS)
    # The tab icon is the browser's own request, not the page's, and the back-office has none.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    incidents = Incidents(serveur.url)
    page.on("console", incidents.console)
    page.on("pageerror", incidents.exception)
    page.on("response", incidents.reponse)
    yield page
    RESULTATS.mkdir(parents=True, exist_ok=True)
    nom = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(RESULTATS / f"{nom}.png"), full_page=True)
    finally:
        context.close()
    assert not incidents.erreurs, "incidents dans la page :\n" + "\n".join(incidents.erreurs)


@pytest.fixture
def connecter(page):
    """Log in through the real form (the demo agent unless told otherwise) and land on the dashboard."""

    def connecter(email: str = "agent@demo.fr", password: str = DEMO_PASSWORD):
        page.goto("/login")
        page.get_by_label("Adresse e-mail").fill(email)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/admin/")
        return page

    return connecter
