"""GrantFlow Flask application: ``create_app(config=None)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

BLUEPRINTS = ("auth", "proposals", "review", "audit", "admin", "api")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    from app import extensions
    from app.config import default_config

    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(default_config())
    if config:
        app.config.from_mapping(config)

    extensions.init_db(app)
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.limiter.init_app(app)

    import importlib

    for name in BLUEPRINTS:
        module = importlib.import_module(f"app.{name}")
        app.register_blueprint(module.bp)
    return app
