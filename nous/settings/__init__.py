"""Runtime settings: typed, validated, stored in the database, applied in every process within a second.

The area also tells the shared modules what they read from it, so they import no area: humanize
names a setting by its label, and the outbound guard allows the networks of `outbound.allowed_networks`.
"""

from typing import Any

from flask import Blueprint, Flask

from nous import humanize, outbound
from nous.cli import nous
from nous.settings import service
from nous.settings.cli import settings_group
from nous.settings.forms import display_value, probe_rows
from nous.settings.registry import DEFINITIONS, GROUP_LABELS

bp = Blueprint("settings", __name__, url_prefix="/admin")

from nous.settings import routes  # noqa: E402,F401  # the routes register on `bp`


def _allowed_networks() -> Any:
    return service.get(outbound.NETWORKS_SETTING)


def init_app(app: Flask) -> None:
    if settings_group.name not in nous.commands:
        nous.add_command(settings_group)
    app.register_blueprint(bp)
    humanize.SETTING_LABELS.update({key: d.label for key, d in DEFINITIONS.items()})
    outbound.allowed_networks = _allowed_networks
    app.jinja_env.filters.update({
        "setting_definition": DEFINITIONS.get, "setting_group": lambda key: GROUP_LABELS.get(key, key),
        "setting_display": display_value, "setting_probe_rows": probe_rows, "setting_version": service.version_of,
    })
