"""The outbox against a real SMTP server (aiosmtpd on localhost): delivery, SMTP down then up, no double sending,
header injection refused; in-process jobs and a real Redis with an RQ worker in burst mode."""
import asyncio
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from portail_admin import create_app
from portail_admin.extensions import db
from portail_admin.jobs import courriels as jobs
from portail_admin.models import Citoyen, CompteMetier, Courriel, Parametre
from portail_admin.services import ServiceError, courriels, notifications, parametres
from portail_admin.services import demandes as service
from portail_admin.services.agents import create_agent

PORTS = range(8025, 8036)


class Boite:
    """aiosmtpd handler: keeps the messages it accepts; refuses them while `refus` is set; can be slow."""

    def __init__(self):
        self.messages = []
        self.refus = None
        self.lenteur = 0

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.lenteur)
        if self.refus:
            return self.refus
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


class ServeurSMTP:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self):
        self.boite = Boite()
        self.port = next(p for p in PORTS if _libre(p))
        self.controller = None

    def demarrer(self):
        self.controller = Controller(self.boite, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def arreter(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.boite.messages

    def pour(self, adresse):
        return [m for rcpt, m in self.messages if adresse in rcpt]


def _libre(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def smtp():
    serveur = ServeurSMTP()
    serveur.demarrer()
    yield serveur
    serveur.arreter()


@pytest.fixture
def app(request, database_url, smtp):
    """The app sending real e-mail to the test SMTP server; with a real Redis when the test asks for redis_url."""
    redis_url = request.getfixturevalue("redis_url") if "redis_url" in request.fixturenames else None
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "SERVER_NAME": "localhost",
    })
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def famille(app):
    parametres.ensure_defaults()
    citoyen = Citoyen(email="marie.dupont@exemple.fr", nom="DUPONT", prenom="Marie", civilite="MME")
    db.session.add_all([citoyen, CompteMetier(emetteur="Divers", code="ENF-1", nom="DUPONT", citoyen=citoyen)])
    db.session.get(Parametre, "agent_contact_email").valeur = "accueil@mairie.example"
    db.session.commit()
    return citoyen


def deposer(client, headers, type_="contact"):
    contenu = {"contact": {"objet": "Facture de mars", "message": "Bonjour,\nune question."},
               "absence": {"activite": "Cantine", "dates": ["2026-03-11"], "motif": "Maladie"}}[type_]
    response = client.post("/api/v1/portail/demandes", headers=headers,
                           json={"email": "marie.dupont@exemple.fr", "type": type_, "contenu": contenu})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reference"]


def texte(message) -> str:
    """The body as received, with the wire's CRLF line ends turned back into \\n."""
    return message.get_content().replace("\r\n", "\n")


def etats():
    db.session.expire_all()
    return {c.type: (c.etat, c.tentatives) for c in db.session.scalars(db.select(Courriel))}


def worker(redis_url):
    """Run the queued jobs in this process and app context, then stop (burst)."""
    connection = Redis.from_url(redis_url)
    SimpleWorker([Queue(jobs.QUEUE, connection=connection, serializer=JSONSerializer)], connection=connection,
                 serializer=JSONSerializer).work(burst=True)


def test_accuse_de_reception_and_contact_email_reach_family_and_agent(client, famille, api_headers, smtp):
    reference = deposer(client, api_headers("portail"))
    [accuse] = smtp.pour("marie.dupont@exemple.fr")
    assert accuse["Subject"] == f"Votre demande {reference} a bien été reçue"
    assert accuse["From"] == "Portail Famille <portail-famille@mairie.example>"
    corps = texte(accuse)
    assert corps.startswith(f"Bonjour Mme DUPONT,\nVotre demande de contact {reference}, a bien été prise en compte")
    assert "dans le menu Mes Demandes." in corps and accuse["Auto-Submitted"] == "auto-generated"
    [agent] = smtp.pour("accueil@mairie.example")
    assert reference in agent["Subject"] and "Facture de mars" in agent["Subject"]
    assert "Bonjour,\nune question." in texte(agent) and "marie.dupont@exemple.fr" in texte(agent)
    assert etats() == {"accuse_reception": ("envoye", 1), "contact_agent": ("envoye", 1)}


def test_accuse_de_traitement_after_a_decision_and_after_a_reply(client, famille, api_headers, smtp):
    absence = deposer(client, api_headers("portail"), "absence")
    enfance = api_headers("enfance")
    client.post(f"/api/v1/enfance/demandes/{absence}/decision", headers=enfance,
                json={"decision": "acceptee", "date": "2026-03-09"})
    traitement = [m for m in smtp.pour("marie.dupont@exemple.fr") if "traitée" in m["Subject"]]
    assert len(traitement) == 1
    assert f"Votre demande absence {absence}, réalisée le " in texte(traitement[0])
    assert "a été ACCEPTÉE le 09/03/2026." in texte(traitement[0])

    contact = service.recevoir("marie.dupont@exemple.fr", "contact", {"objet": "Question", "message": "?"})[0]
    agent = create_agent("agent@mairie.example", "un mot de passe solide", role="agent")
    a_envoyer = service.repondre(contact, agent, "Voici la réponse.")
    db.session.commit()
    jobs.planifier(a_envoyer)
    [reponse] = [m for m in smtp.pour("marie.dupont@exemple.fr") if contact.reference in m["Subject"]]
    assert "a été TRAITÉE le" in texte(reponse)
    assert "Réponse de la collectivité :\nVoici la réponse." in texte(reponse)


def test_smtp_down_then_up_in_process_nothing_lost_nothing_sent_twice(client, famille, api_headers, smtp, runner):
    smtp.arreter()
    reference = deposer(client, api_headers("portail"))  # the request is accepted even with SMTP down
    assert etats() == {"accuse_reception": ("echec", 1), "contact_agent": ("echec", 1)}
    erreur = db.session.scalar(db.select(Courriel.derniere_erreur).where(Courriel.type == "accuse_reception"))
    assert "Connection refused" in erreur or "ConnectionRefused" in erreur

    smtp.demarrer()
    assert "Courriels relancés : 2" in runner.invoke(args=["relance-courriels"]).output
    assert etats() == {"accuse_reception": ("envoye", 2), "contact_agent": ("envoye", 2)}
    assert "Courriels relancés : 0" in runner.invoke(args=["relance-courriels"]).output
    jobs.planifier(db.session.scalars(db.select(Courriel.id)).all())  # a stray re-enqueue sends nothing
    assert len(smtp.pour("marie.dupont@exemple.fr")) == 1 and len(smtp.pour("accueil@mairie.example")) == 1
    assert reference in smtp.pour("accueil@mairie.example")[0]["Subject"]


def test_smtp_refusing_then_accepting(client, famille, api_headers, smtp, runner):
    smtp.boite.refus = "451 4.3.0 Try again later"
    deposer(client, api_headers("portail"))
    assert etats()["accuse_reception"] == ("echec", 1)
    assert "451" in db.session.scalar(db.select(Courriel.derniere_erreur).where(Courriel.type == "accuse_reception"))
    smtp.boite.refus = None
    runner.invoke(args=["relance-courriels"])
    assert etats()["accuse_reception"] == ("envoye", 2) and len(smtp.messages) == 2


def test_a_silent_smtp_server_fails_the_sending_after_the_timeout_not_the_request(app, client, famille,
                                                                                  api_headers):
    """A server that accepts the connection and never greets: the request still answers, the e-mail waits."""
    with socket.socket() as muet:
        muet.bind(("127.0.0.1", 0))
        muet.listen()
        app.extensions["mail"].port = muet.getsockname()[1]  # Flask-Mail reads MAIL_PORT at start-up
        app.config["MAIL_TIMEOUT"] = 0.3
        reference = deposer(client, api_headers("portail"))
    assert etats() == {"accuse_reception": ("echec", 1), "contact_agent": ("echec", 1)}
    assert "timed out" in db.session.scalar(db.select(Courriel.derniere_erreur).where(Courriel.type == "contact_agent"))
    assert db.session.scalar(db.select(Courriel.id).where(Courriel.sujet.contains(reference))) is not None


@pytest.mark.redis
def test_redis_worker_retries_and_relaunch_nothing_lost_nothing_sent_twice(client, famille, api_headers, smtp,
                                                                          redis_url):
    reference = deposer(client, api_headers("portail"))
    assert etats() == {"accuse_reception": ("en_attente", 0), "contact_agent": ("en_attente", 0)}
    queue = Queue(jobs.QUEUE, connection=Redis.from_url(redis_url), serializer=JSONSerializer)
    assert queue.count == 2

    smtp.arreter()
    worker(redis_url)
    assert etats() == {"accuse_reception": ("echec", 1), "contact_agent": ("echec", 1)}
    # RQ keeps both jobs for a retry with backoff.
    assert len(queue.scheduled_job_registry.get_job_ids()) == 2

    smtp.demarrer()
    assert jobs.relancer_courriels() == 2
    worker(redis_url)
    assert etats() == {"accuse_reception": ("envoye", 2), "contact_agent": ("envoye", 2)}

    # The scheduled retries come due: they find the e-mails sent and skip them.
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.enqueue_job(queue.fetch_job(job_id))
    worker(redis_url)
    assert len(smtp.pour("marie.dupont@exemple.fr")) == 1 and len(smtp.pour("accueil@mairie.example")) == 1
    assert reference in smtp.messages[0][1]["Subject"]
    assert etats() == {"accuse_reception": ("envoye", 2), "contact_agent": ("envoye", 2)}


@pytest.mark.redis
def test_redis_worker_sends_the_queued_emails(client, famille, api_headers, smtp, redis_url):
    deposer(client, api_headers("portail"), "absence")
    assert smtp.messages == []
    worker(redis_url)
    assert [rcpt for rcpt, _ in smtp.messages] == [["marie.dupont@exemple.fr"]]
    assert etats() == {"accuse_reception": ("envoye", 1)}


def test_header_injection_is_refused(client, famille, api_headers, smtp):
    for sujet, destinataire in (("Objet\r\nBcc: victime@evil.example", "a@exemple.fr"),
                                ("Objet", "a@exemple.fr\r\nBcc: victime@evil.example"),
                                ("Objet\nX-Injecte: 1", "a@exemple.fr")):
        with pytest.raises(ServiceError, match="retour à la ligne"):
            courriels.enregistrer("test", destinataire, sujet, "corps")
    db.session.rollback()

    response = client.post("/api/v1/portail/demandes", headers=api_headers("portail"), json={
        "email": "marie.dupont@exemple.fr", "type": "contact",
        "contenu": {"objet": "Bonjour\r\nBcc: victime@evil.example", "message": "m"}})
    assert response.status_code == 400 and "contenu.objet" in response.get_json()["details"]

    # A citizen's name carrying CR/LF lands in a subject through [nom]: it is flattened, no header is added.
    famille.nom = "DUPONT\r\nBcc: victime@evil.example"
    notifications.modele("accuse_reception").sujet = "Demande [reference] de [nom]"
    db.session.commit()
    deposer(client, api_headers("portail"), "absence")
    [message] = smtp.pour("marie.dupont@exemple.fr")
    assert message["Bcc"] is None and "victime@evil.example" not in [r for rcpt, _ in smtp.messages for r in rcpt]
    assert "\n" not in message["Subject"] and "DUPONT Bcc:" in message["Subject"]


def test_two_workers_on_the_same_email_send_it_once(app, famille, smtp):
    """The claim (conditional UPDATE, row locked until commit) lets only one of two concurrent runs send."""
    demande, a_envoyer = service.recevoir(famille.email, "absence",
                                          {"activite": "Cantine", "dates": ["2026-03-11"], "motif": "Malade"})
    db.session.commit()
    courriel_id = a_envoyer[0].id
    smtp.boite.lenteur = 0.5
    resultats = []

    def run():
        with app.app_context():
            resultats.append(jobs.envoyer_courriel(courriel_id))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(resultats) == ["déjà envoyé", "envoyé"]
    assert len(smtp.messages) == 1 and etats() == {"accuse_reception": ("envoye", 1)}
