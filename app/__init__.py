"""GrantFlow Flask application: ``create_app(config=None)``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, g


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    from app import errors, extensions, i18n, security
    from app.config import default_config, instance_path, secret_key

    app = Flask(__name__, instance_path=instance_path(), instance_relative_config=False)
    instance = Path(app.instance_path)
    app.config.from_mapping(default_config(instance))
    if config:
        app.config.from_mapping(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(instance)

    extensions.init_db(app)
    security.init_app(app)
    extensions.csrf.init_app(app)
    extensions.init_login(app)
    extensions.limiter.init_app(app)
    i18n.compile_catalogues()
    extensions.babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)

    _register_areas(app)
    app.view_functions["static"]._access = "public"  # type: ignore[union-attr]  # CSS only
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


def _register_areas(app: Flask) -> None:
    """Everything the areas contribute, in ``app.areas.areas()`` order: blueprints, one API blueprint built from
    their route tables, menu entries, permissions, action handlers, engine hooks and the guards' facts."""
    from app import access, actions, api, stage_facts
    from app.areas import areas
    from app.models.stages import StageFacts
    from workflow import operations

    listed = areas()
    StageFacts.use(stage_facts)
    for area in listed:
        access.register_permissions(area.permissions)
        actions.register(area.handlers, area.optional_inputs)
        for listener in area.on_applied:
            operations.on_applied(listener)
        if area.blueprint is not None:
            app.register_blueprint(area.blueprint)
    app.register_blueprint(api.create_blueprint(area.api for area in listed if area.api is not None))
    app.extensions["grantflow.nav"] = [link for area in listed for link in area.nav]
    access.check_views(app)


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
        return [(endpoint, i18n.tr(label), role) for endpoint, label, role in app.extensions["grantflow.nav"]]

    app.jinja_env.globals.update(lang=i18n.lang, nav_extra=nav_extra, CATEGORIES=CATEGORIES, SECTORS=SECTORS,
                                 ORGANISATION_KINDS=ORGANISATION_KINDS, ATTACHMENT_KINDS=ATTACHMENT_KINDS)
