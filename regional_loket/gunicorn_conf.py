"""gunicorn settings shipped with the package:
``gunicorn -c python:regional_loket.gunicorn_conf regional_loket.wsgi:app``.

Command-line flags and ``GUNICORN_CMD_ARGS`` still override each of these.
"""

import multiprocessing
import os

# No bind here: gunicorn's own default applies (127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is
# set), and `-b` chooses another for the TLS proxy in front (README "Production").
# The usual 2 × cores + 1, capped: each worker holds its own database pool (DATABASE_POOL_SIZE +
# DATABASE_MAX_OVERFLOW) plus one LISTEN connection for the search cache.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
# Requests are short; a worker stuck longer than this is restarted.
timeout = 30
graceful_timeout = 20
keepalive = 5
# gunicorn's own messages to stderr for the service manager to collect. No access log: the app
# writes one line per request itself, with request id, host and tenant (regional_loket.access).
errorlog = "-"
accesslog = None
# Not preloaded: each worker builds its app after the fork, so no connection or thread (the
# search cache's listener) is shared across processes.
preload_app = False


def child_exit(server, worker):
    """Metrics of a worker that exited leave the shared multi-process files (prometheus_client
    in multi-process mode, when PROMETHEUS_MULTIPROC_DIR is set)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
