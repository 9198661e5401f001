"""The application's areas, in registration order: each one's web blueprint, API routes, menu entries, action
handlers, permissions and engine hooks. ``create_app`` registers exactly what is listed here; importing an area's modules
registers nothing by itself (no import side effects, no optional areas found by name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint

from app import permissions as can
from app.access import Predicate
from app.actions import Handler, OptionalInput
from app.api.routes import Routes

# A menu entry: (endpoint, label (vi, en), role that sees it).
NavLink = tuple[str, tuple[str, str], str]
OFFICES = ("director", "centre_officer", "auditor")


@dataclass(frozen=True)
class Area:
    name: str
    blueprint: Blueprint | None = None
    api: Routes | None = None
    nav: tuple[NavLink, ...] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    optional_inputs: Mapping[str, list[OptionalInput]] = field(default_factory=dict)
    on_applied: tuple[Callable[..., Any], ...] = ()  # workflow.operations listeners (same transaction)
    permissions: Mapping[str, Predicate] = field(default_factory=dict)  # the names @requires may use


def areas() -> tuple[Area, ...]:
    """Imported here, not at the top: the areas import ``app`` modules that import this package."""
    from app import health
    from app.admin import views as admin_views
    from app.audit import api as audit_api
    from app.audit import views as audit_views
    from app.auth import views as auth_views
    from app.common import stages_api
    from app.council import api as council_api
    from app.council import views as council_views
    from app.funding import api as funding_api
    from app.funding import services as funding_services
    from app.funding import views as funding_views
    from app.implementation import api as implementation_api
    from app.implementation import evaluation
    from app.implementation import services as implementation_services
    from app.implementation import views as implementation_views
    from app.notifications import outbox
    from app.notifications import views as notification_views
    from app.proposals import api as proposals_api
    from app.proposals import views as proposals_views
    from app.reports import api as reports_api
    from app.reports import views as reports_views
    from app.review import views as review_views
    from app.rounds import api as rounds_api
    from app.rounds import views as rounds_views
    return (
        Area("auth", auth_views.bp, permissions={"logged_in": can.logged_in, "applicant": can.applicant,
                                                 "auditor": can.auditor, "admin": can.admin}),
        Area("proposals", proposals_views.bp, proposals_api.routes),
        Area("review", review_views.bp),
        Area("audit", audit_views.bp, audit_api.routes, nav=(("audit.index", ("Kiểm tra, giám sát", "Audit"), "auditor"),)),
        Area("admin", admin_views.bp, nav=(("admin.index", ("Quản trị", "Administration"), "admin"),)),
        Area("reports", reports_views.bp, reports_api.routes, permissions={"reports": can.reports}),
        Area("notifications", notification_views.bp,
             nav=(("notifications.outbox_admin", ("Hàng đợi thư", "E-mail outbox"), "admin"),),
             on_applied=(outbox.write_outbox,)),
        Area("stages", None, stages_api.routes),  # GET /proposals/<id>/stages: the later stages' summary
        Area("council", council_views.bp, council_api.routes,
             nav=(("council.index", ("Hội đồng thẩm định", "Appraisal council"), "council_member"),),
             permissions={"council": can.council}),
        Area("funding", funding_views.bp, funding_api.routes,
             nav=tuple(("funding.envelopes", ("Kinh phí", "Funding"), role) for role in OFFICES),
             handlers=funding_services.HANDLERS, optional_inputs=funding_services.OPTIONAL_INPUTS,
             permissions={"funding_view": can.funding_view, "funding_manage": can.funding_manage}),
        Area("implementation", implementation_views.bp, implementation_api.routes,
             handlers={**implementation_services.HANDLERS, **evaluation.HANDLERS}),
        Area("rounds", rounds_views.bp, rounds_api.routes,
             nav=tuple(("rounds.index", ("Kế hoạch", "Plan rounds"), role) for role in OFFICES)),
        Area("health", health.bp),
    )
