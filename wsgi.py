"""WSGI entry point: ``gunicorn -w 4 wsgi:app``."""

from regional_loket import create_app

app = create_app()
