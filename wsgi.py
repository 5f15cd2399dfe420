"""WSGI entry point: gunicorn 'wsgi:app', flask --app wsgi ..."""
from portail_admin import create_app

app = create_app()
