"""Error pages in French: HTML for the back-office, JSON under /api/."""
from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "Requête invalide.",
    401: "Authentification requise.",
    403: "Vous n'avez pas les droits nécessaires pour accéder à cette page.",
    404: "Page introuvable.",
    405: "Méthode non autorisée pour cette adresse.",
    413: "Corps de requête trop volumineux.",
    415: "Type de contenu non pris en charge.",
    429: "Trop de tentatives : réessayez dans quelques minutes.",
    500: "Une erreur interne est survenue. L'équipe technique en a été informée.",
}


def _render(code: int, message: str):
    if request.path.startswith("/api/"):
        response = jsonify(erreur=message)
        response.status_code = code
        return response
    return render_template("errors.html", code=code, message=message), code


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(400, "Le formulaire a expiré ou n'est pas valide. Rechargez la page et réessayez.")

    @app.errorhandler(HTTPException)
    def http_error(error):
        return _render(error.code, MESSAGES.get(error.code, error.description))
