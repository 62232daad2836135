"""The WSGI entry point for gunicorn and `flask`: `app = create_app()`."""

import sys

from config import ConfigError
from nous import create_app

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    sys.exit(2)
