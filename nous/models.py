"""Imports every model so that metadata (and so Alembic) knows every table."""

from nous.audit.models import AuditEvent  # noqa: F401
from nous.dbmonitor.models import SlowQuery  # noqa: F401
from nous.settings.models import Setting  # noqa: F401
