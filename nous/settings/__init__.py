"""Runtime settings: typed, validated, stored in the database, applied in every process within a second."""

from flask import Flask


def init_app(app: Flask) -> None:
    from nous.cli import nous
    from nous.settings.cli import settings_group

    if "settings" not in nous.commands:
        nous.add_command(settings_group)
