"""The implementation API: progress reports, advances, change requests and their decision, evaluation indicators.

The transitions themselves (sign_contract, accept, settle, evaluate, terminate) go through
``POST /proposals/<id>/actions/<trigger>``.
"""

from __future__ import annotations

from typing import Any

from app.access import requires
from app.api.routes import Routes
from app.api.spec import documented
from app.common.stages_api import ALL_ERRORS, StagesOut, operate
from app.implementation import evaluation
from app.implementation import services as implementation
from app.implementation.schemas import AdvanceIn, ChangeDecisionIn, ChangeIn, IndicatorIn, ProgressIn

routes = Routes()


@routes.post("/proposals/<int:proposal_id>/progress")
@documented("Monthly progress report (applicant, while implementing)", body=ProgressIn, response=StagesOut,
            errors=ALL_ERRORS)
@requires("logged_in")
def post_progress(proposal_id: int) -> Any:
    return operate(proposal_id, ProgressIn, implementation.report_progress, action="report_progress")


@routes.post("/proposals/<int:proposal_id>/advances")
@documented("Record an advance (centre officer): together at most 70 % of the approved support; machinery "
            "only above 70 % progress", body=AdvanceIn, response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_advance(proposal_id: int) -> Any:
    return operate(proposal_id, AdvanceIn, implementation.record_advance, action="record_advance")


@routes.post("/proposals/<int:proposal_id>/changes")
@documented("Request a change of amount, content or end date", body=ChangeIn, response=StagesOut,
            errors=ALL_ERRORS)
@requires("logged_in")
def post_change(proposal_id: int) -> Any:
    return operate(proposal_id, ChangeIn, implementation.request_change, action="request_change")


@routes.post("/proposals/<int:proposal_id>/changes/<int:change_id>/decision")
@documented("Approve (a new terms version) or reject a change request (director)", body=ChangeDecisionIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_change_decision(proposal_id: int, change_id: int) -> Any:
    return operate(proposal_id, ChangeDecisionIn, implementation.decide_change, change_id,
                   action="approve_change")  # rejecting: the same roles and states


@routes.post("/proposals/<int:proposal_id>/indicators")
@documented("Record an evaluation indicator's target and/or actual value (centre officer)", body=IndicatorIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_indicator(proposal_id: int) -> Any:
    return operate(proposal_id, IndicatorIn, evaluation.record_indicator, action="record_indicator")
