"""The OpenID Connect client (authlib): Google by default, any provider through OIDC_METADATA_URL.

One `OAuth` registry per application, so several apps in one process (tests) keep their own provider.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app


def init_oidc(app: Flask) -> None:
    oauth = OAuth(app)
    oauth.register(
        name="oidc",
        server_metadata_url=app.config["OIDC_METADATA_URL"],
        client_id=app.config["GOOGLE_CLIENT_ID"],
        client_secret=app.config["GOOGLE_CLIENT_SECRET"],
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 10},
    )
    app.extensions["nous.oauth"] = oauth


def client() -> Any:
    return current_app.extensions["nous.oauth"].oidc


def configured() -> bool:
    return bool(current_app.config["GOOGLE_CLIENT_ID"] and current_app.config["GOOGLE_CLIENT_SECRET"])
