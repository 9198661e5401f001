"""GrantFlow Flask application: ``create_app(config=None)``."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g

# reports and notifications before api: reports adds API routes
BLUEPRINTS = ("auth", "proposals", "review", "audit", "admin", "reports", "notifications", "api", "health")
STAGE_BLUEPRINTS = ("council", "funding", "implementation", "rounds")  # issue 5's areas, registered once they exist

# Extra menu entries: (endpoint, label (vi, en), role that sees it). Shown only once the endpoint exists, so
# areas can add theirs here.
NAV_LINKS: list[tuple[str, tuple[str, str], str]] = [
    ("audit.index", ("Kiểm tra, giám sát", "Audit"), "auditor"),
    ("admin.index", ("Quản trị", "Administration"), "admin"),
    ("notifications.outbox_admin", ("Hàng đợi thư", "E-mail outbox"), "admin"),
]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    from app import errors, extensions, i18n, security
    from app.config import default_config

    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(default_config())
    if config:
        app.config.from_mapping(config)

    extensions.init_db(app)
    security.init_app(app)
    extensions.csrf.init_app(app)
    extensions.init_login(app)
    extensions.limiter.init_app(app)
    i18n.compile_catalogues()
    extensions.babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)

    if importlib.util.find_spec("app.stages"):
        importlib.import_module("app.stages")  # registers the stage handlers with app.actions
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f"app.{name}").bp)
    for name in STAGE_BLUEPRINTS:
        module = importlib.import_module(f"app.{name}") if importlib.util.find_spec(f"app.{name}") else None
        if module is not None and hasattr(module, "bp"):
            app.register_blueprint(module.bp)
    app.view_functions["static"]._access = "public"  # type: ignore[attr-defined]  # CSS only
    errors.register(app)
    _register_template_helpers(app)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")  # uploads are served by their checked type
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    from app.cli import register as register_cli

    register_cli(app)
    return app


def _register_template_helpers(app: Flask) -> None:
    from app import formatting, i18n
    from app.extensions import db_session
    from app.models.proposals import ATTACHMENT_KINDS, CATEGORIES, ORGANISATION_KINDS, SECTORS
    from app.models.units import unit_names

    def unit_name(code: str | None) -> str:
        """A unit's name from the unit table (read once per request), its code when unknown."""
        if "unit_names" not in g:
            g.unit_names = unit_names(db_session())
        return g.unit_names.get(code or "", code or "")

    def place_as_filed(proposal: Any) -> str:
        """The proposal's commune as named when it was filed (and what it is now if abolished since), with its
        district when districts still existed then (read once per request)."""
        from app.deadlines import today
        from app.models.units import UnitHistory

        if "unit_history" not in g:
            g.unit_history = UnitHistory.load(db_session())
        day = formatting.local(proposal.created_at).date() if proposal.created_at is not None else today()
        return g.unit_history.place_on(proposal.commune_code, proposal.district_code, day)

    app.jinja_env.filters.update(vnd=formatting.money, number=formatting.number, kb=formatting.kb,
                                 date=formatting.date, datetime=formatting.datetime,
                                 tr=i18n.tr_filter, unit_name=unit_name, place_as_filed=place_as_filed)

    def nav_extra() -> list[tuple[str, str, str]]:
        return [(endpoint, i18n.tr(label), role) for endpoint, label, role in NAV_LINKS
                if endpoint in app.view_functions]

    app.jinja_env.globals.update(lang=i18n.lang, nav_extra=nav_extra, CATEGORIES=CATEGORIES, SECTORS=SECTORS,
                                 ORGANISATION_KINDS=ORGANISATION_KINDS, ATTACHMENT_KINDS=ATTACHMENT_KINDS)
