"""WSGI entry point of a checkout: ``gunicorn wsgi:app``, ``flask --app wsgi …``
(an installed package: ``regional_loket.wsgi:app`` and the ``loket`` command)."""

from regional_loket.wsgi import app  # noqa: F401
