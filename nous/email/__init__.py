"""Email: Jinja templates (HTML + text), an outbox table, sending by a job over SMTP (STARTTLS or TLS)."""

from flask import Blueprint, Flask

bp = Blueprint("email", __name__)


def init_app(app: Flask) -> None:
    from nous.cli import nous
    from nous.email import routes  # noqa: F401
    from nous.email.cli import email_group

    if "email" not in app.blueprints:
        app.register_blueprint(bp)
    nous.add_command(email_group)
