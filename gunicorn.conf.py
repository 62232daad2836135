"""gunicorn settings for the web process: threaded workers (a thread per WebSocket)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from config import ConfigError, load_config

try:  # once, here in the master: a bad value stops gunicorn with one line, before any worker boots
    load_config()
except ConfigError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    sys.exit(2)

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))  # a live dashboard socket holds one thread
timeout = 60
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # after the drain delay
keepalive = 5
accesslog = None  # the app writes one JSON line per request itself
wsgi_app = "wsgi:app"


def on_starting(server):
    """Prometheus multiprocess mode: one directory of metric files shared by every worker, emptied at start."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))


DRAIN_SECONDS = float(os.environ.get("DRAIN_SECONDS", "2"))


def post_worker_init(worker):
    """On SIGTERM readiness fails at once; the worker keeps serving for DRAIN_SECONDS so the balancer
    sees it, then stops accepting and finishes its in-flight requests (graceful_timeout)."""
    import signal
    import threading

    from nous.health.service import DRAINING

    original = worker.handle_exit

    def handle_exit(sig, frame):
        if DRAINING.is_set():
            return
        DRAINING.set()
        if DRAIN_SECONDS > 0:
            threading.Timer(DRAIN_SECONDS, original, (sig, frame)).start()
        else:
            original(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def worker_int(worker):
    """Ctrl-C or SIGQUIT (quick shutdown): open live sockets close at once (1012, the browser reconnects)
    instead of keeping the worker alive until the master kills it after graceful_timeout."""
    from nous.health.service import DRAINING

    DRAINING.set()
    if hasattr(worker, "tpool"):  # gthread: give the socket loops a moment to see it and say goodbye
        import time

        time.sleep(0.5)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server):
    """Record the address this server listens on, so `flask nous login-link` in another shell links to it."""
    from nous.server_address import record_gunicorn

    record_gunicorn(server)


def on_exit(server):
    from nous.server_address import forget_gunicorn

    forget_gunicorn(server)
