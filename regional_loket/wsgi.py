"""WSGI entry point of an installed package:
``gunicorn -c python:regional_loket.gunicorn_conf regional_loket.wsgi:app``."""

import gc

from . import create_app

app = create_app()
# Everything built at start-up lives as long as the worker: keep it out of the garbage
# collector's full passes, which otherwise pause requests for ~100 ms (bench/ranked_list.py).
gc.collect()
gc.freeze()
