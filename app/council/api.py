"""The council API: assignment, recusal and score sheets (answers are the stage summary)."""

from __future__ import annotations

from typing import Any

from app.access import requires
from app.api.routes import Routes
from app.api.spec import documented
from app.common.stages_api import ALL_ERRORS, StagesOut, operate
from app.council import services as council
from app.council.schemas import MemberIn, RecusalIn, SheetIn

routes = Routes()


@routes.post("/proposals/<int:proposal_id>/council/members")
@documented("Assign a council member (centre officer; refused for a member from the applicant's own "
            "organisation or district)", body=MemberIn, response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_member(proposal_id: int) -> Any:
    return operate(proposal_id, MemberIn, council.assign_member, action="assign_council_member")


@routes.post("/proposals/<int:proposal_id>/council/recusal")
@documented("Recuse yourself or declare a conflict of interest (council member)", body=RecusalIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_recusal(proposal_id: int) -> Any:
    return operate(proposal_id, RecusalIn, council.recuse, action="recuse")  # as declare_conflict


@routes.post("/proposals/<int:proposal_id>/council/sheets")
@documented("Submit your score sheet; a second one is a new version (council member)", body=SheetIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_sheet(proposal_id: int) -> Any:
    return operate(proposal_id, SheetIn, council.submit_sheet, action="submit_score_sheet")  # as replace_
