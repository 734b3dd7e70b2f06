"""The ceiling for ``bench/search.py``: a hello-world Flask app, served by the same gunicorn
command line as the real one (``gunicorn --pythonpath bench hello:app``)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
