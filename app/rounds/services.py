"""Plan rounds: opening, filing into a round, the compiled plan list, the People's Committee's approval.

The round's lifecycle is ``definitions/plan_round``; this module holds what the definitions cannot say: the
registration window (the ``round_problem`` fact of a proposal's ``round_open`` guard), the plan list (ranked,
grouped by activity, with totals), the decision file and the approval's fields. Every change goes through
``workflow.operations`` (audited on the round's own chain).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.common.rules import clean, explain_action, msg, transition_inputs
from app.deadlines import today as local_today  # registration windows are local dates
from app.formatting import date as show_date
from app.models.proposals import CATEGORIES, Proposal
from app.models.rounds import FUNDS, PlanRound
from app.paging import page_rows
from workflow import operations
from workflow.definitions import InputSpec
from workflow.errors import Conflict, InvalidInput
from workflow.permissions import Actor
from workflow.registry import default_registry

ROUND_WORKFLOW = "plan-round"
# The proposal definition each fund's proposals follow (the latest version of it).
FUND_WORKFLOWS = {"local": "khuyen-cong-local", "national": "khuyen-cong-national"}
PLANNED = ("shortlisted", "reserve", "ministry_appraisal")  # passed the province's appraisal: the plan list
ROUND_SPECS = {
    "fund": InputSpec(type="choice", choices=list(FUNDS)),
    "plan_year": InputSpec(type="int", min=2000, max=2100),
    "opens_on": InputSpec(type="date"),
    "closes_on": InputSpec(type="date"),
    "note": InputSpec(type="text"),
}


# --- rounds ----------------------------------------------------------------------------------------------

def open_round(session: Session, user: Any, province: str, inputs: Mapping[str, Any], *,
               request_id: str | None = None) -> PlanRound:
    """A new round in registration; one per (province, fund, plan year). The views admit centre officers."""
    cleaned = clean(inputs, ROUND_SPECS, optional=["note"])
    if cleaned["closes_on"] < cleaned["opens_on"]:
        raise InvalidInput({"closes_on": msg("Ngày kết thúc đăng ký phải sau ngày bắt đầu",
                                             "Registration must close after it opens")})
    plan_round = PlanRound(province_code=province, created_by_id=user.id, note=cleaned.pop("note", ""), **cleaned)
    try:
        with session.begin_nested():  # the unique (province, fund, plan year) decides between two openers
            operations.create(session, plan_round, user.actor(), default_registry().latest(ROUND_WORKFLOW),
                              request_id=request_id)
    except IntegrityError:
        raise Conflict(msg(f"Đã có đợt {FUNDS[cleaned['fund']][0].lower()} năm {cleaned['plan_year']}",
                           f"A {cleaned['fund']} round for {cleaned['plan_year']} already exists")) from None
    return plan_round


ROUNDS_PER_PAGE = 50


def rounds(session: Session, province: str, page: int = 1,
           per_page: int = ROUNDS_PER_PAGE) -> tuple[list[PlanRound], bool]:
    """A page of the province's rounds, newest plan year first, and whether another page follows."""
    return page_rows(session, select(PlanRound).where(PlanRound.province_code == province), PlanRound.id,
                     (PlanRound.plan_year.desc(), PlanRound.fund, PlanRound.id), page, per_page)


def round_of(session: Session, province: str, round_id: Any) -> PlanRound:
    """The round named, within the province, else a 422 on ``round_id``."""
    chosen = clean({"round_id": round_id}, {"round_id": InputSpec(type="int", min=1)})["round_id"]
    found = session.get(PlanRound, chosen)
    if found is None or found.province_code != province:
        raise InvalidInput({"round_id": msg("Không có đợt đăng ký này", "No such plan round")})
    return found


def round_for_new_proposal(session: Session, province: str, year: int, round_id: Any = None) -> PlanRound | None:
    """The round a new proposal files into: the one named, else the province's local round of its year."""
    if round_id not in (None, ""):
        return round_of(session, province, round_id)
    return session.scalar(select(PlanRound).where(PlanRound.province_code == province, PlanRound.fund == "local",
                                                  PlanRound.plan_year == year))


def round_problem(session: Session, proposal: Any) -> dict[str, str] | None:
    """Why the proposal's round does not take a filing today (None when it does, or without a round)."""
    if proposal.round_id is None:
        return None
    plan_round = session.get_one(PlanRound, proposal.round_id)
    label_vi, label_en = FUNDS[plan_round.fund][0], FUNDS[plan_round.fund][1]
    today = local_today()
    if plan_round.wf_state != "registration" or today > plan_round.closes_on:
        return msg(f"{label_vi} năm {plan_round.plan_year} đã hết hạn nhận hồ sơ ngày "
                   f"{show_date(plan_round.closes_on)}",
                   f"The {label_en.lower()} round {plan_round.plan_year} closed for filing on "
                   f"{plan_round.closes_on.isoformat()}")
    if today < plan_round.opens_on:
        return msg(f"{label_vi} năm {plan_round.plan_year} nhận hồ sơ từ ngày {show_date(plan_round.opens_on)}",
                   f"The {label_en.lower()} round {plan_round.plan_year} opens for filing on "
                   f"{plan_round.opens_on.isoformat()}")
    return None


# --- the plan list ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanLine:
    proposal: Proposal
    rank: int
    score: Any  # Decimal | None


@dataclass(frozen=True)
class PlanGroup:
    category: str
    lines: list[PlanLine]
    total: int


@dataclass(frozen=True)
class PlanList:
    groups: list[PlanGroup]
    count: int
    total: int


def allocation_key(proposal: Any, score: Any) -> tuple[Any, ...]:
    """Circular 46/2012 art. 6.3: priority regions first, then priority sectors, then the council's score."""
    return (not proposal.priority_region, not proposal.priority_sector, score is None, -(score or 0), proposal.id)


def plan_list(session: Session, plan_round: PlanRound) -> PlanList:
    """The round's appraised proposals ranked for allocation, grouped by activity, with subtotals and total."""
    from app.council.services import council_results

    rows = session.scalars(select(Proposal).where(Proposal.round_id == plan_round.id,
                                                  Proposal.wf_state.in_(PLANNED))).all()
    results = council_results(session, rows)  # every council's members and sheets at once, not per proposal
    scored = sorted(((p, getattr(results[p.id], "average", None)) for p in rows), key=lambda r: allocation_key(*r))
    by_category: dict[str, list[PlanLine]] = {}
    for rank, (p, score) in enumerate(scored, start=1):
        by_category.setdefault(p.category, []).append(PlanLine(p, rank, score))
    groups = [PlanGroup(c, lines, sum(line.proposal.requested_support for line in lines))
              for c, lines in sorted(by_category.items(), key=lambda kv: list(CATEGORIES).index(kv[0]))]
    return PlanList(groups, len(scored), sum(g.total for g in groups))


def compile_plan(session: Session, plan_round: PlanRound, actor: Actor, *,
                 request_id: str | None = None) -> Any:
    """Record the plan list's count and total on the round (recompiling is allowed while compiling)."""
    plan = plan_list(session, plan_round)

    def problems() -> list[dict[str, str]]:
        return [] if plan.count else [msg("Đợt chưa có đề án nào đạt thẩm định",
                                          "No proposal of the round has passed appraisal")]

    def apply() -> dict[str, Any]:
        before = plan_round.plan_total
        plan_round.plan_total = plan.total
        return {"plan_total": [before, plan.total], "proposals": [line.proposal.code for g in plan.groups
                                                                  for line in g.lines]}

    return operations.act(session, plan_round, actor, "compile_plan",
                          check=lambda: explain_action(plan_round, actor, "compile_plan", problems),
                          apply=apply, request_id=request_id)


def attach_decision(session: Session, plan_round: PlanRound, actor: Actor, stored: str, name: str, sha256: str, *,
                    request_id: str | None = None) -> Any:
    """The People's Committee's signed decision, stored by ``app.uploads``; a later file replaces it."""

    def apply() -> dict[str, Any]:
        old = plan_round.decision_file_sha256
        plan_round.decision_file_stored, plan_round.decision_file_name = stored, name
        plan_round.decision_file_sha256 = sha256
        return {"decision_file": {"name": name, "sha256": sha256, "replaced": old}}

    return operations.act(session, plan_round, actor, "attach_decision",
                          check=lambda: explain_action(plan_round, actor, "attach_decision"),
                          apply=apply, inputs={"name": name}, request_id=request_id)


def fire_round(session: Session, plan_round: PlanRound, trigger: str, actor: Actor, inputs: Mapping[str, Any],
               expected_version: int | None = None, *, request_id: str | None = None) -> Any:
    """Fire a round transition; ``record_approval`` also stores the decision (never dated in the future)."""
    if trigger != "record_approval":
        return operations.fire(session, plan_round, trigger, actor, inputs, expected_version, request_id=request_id)
    cleaned = transition_inputs(session, plan_round, trigger, actor, inputs)
    if cleaned is not None and cleaned["decision_date"] > local_today():
        raise InvalidInput({"decision_date": msg("Ngày quyết định không được sau hôm nay",
                                                 "The decision date cannot be in the future")})
    event = operations.fire(session, plan_round, trigger, actor, inputs, expected_version, request_id=request_id)
    assert cleaned is not None  # fire refuses whatever transition_inputs does not clean
    plan_round.decision_number = cleaned["decision_number"]
    plan_round.decision_date = cleaned["decision_date"]
    plan_round.approved_total = cleaned["approved_total"]
    session.flush()
    return event


def plan_problem(session: Session, proposal: Any, envelope: Any = None) -> dict[str, str] | None:
    """A proposal filed into a round is funded only once the round's plan is approved (the People's Committee's
    decision recorded), and only from an envelope of that plan. Proposals without a round (filed before rounds
    existed) keep their envelopes."""
    if proposal.round_id is None:
        return None
    plan_round = session.get_one(PlanRound, proposal.round_id)
    if not plan_round.approved:
        return msg(f"Kế hoạch {plan_round.label} chưa được UBND tỉnh phê duyệt",
                   f"The plan {plan_round.label} is not approved by the People's Committee yet")
    if envelope is not None and envelope.round_id != plan_round.id:
        return msg(f"Dự toán '{envelope.label}' không thuộc kế hoạch {plan_round.label}",
                   f"Envelope '{envelope.label}' does not belong to the plan {plan_round.label}")
    return None
