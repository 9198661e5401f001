"""Implementation, acceptance and settlement: contract, progress, advances, changes, termination.

Advances: together at most ADVANCE_SHARE_PERCENT of the approved support; for machinery only once reported
progress is above MACHINERY_PROGRESS_PERCENT (Circular 36/2013 practice, see domain.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import today
from app.common.caps import cap_problem
from app.common.rules import clean, compiled_for, explain_action, lock, msg
from app.formatting import vnd
from app.funding.services import funding_of, move_money, no_check, records_on_funding, release
from app.models.proposals import CATEGORIES
from app.models.stages import Advance, BudgetEnvelope, ChangeRequest, Funding, ProgressReport
from workflow import operations
from workflow.definitions import InputSpec
from workflow.errors import InvalidInput
from workflow.permissions import Actor
from workflow.storage import utcnow

ADVANCE_SHARE_PERCENT = 70
MACHINERY_PROGRESS_PERCENT = 70
# Categories advanced only after confirmed progress above MACHINERY_PROGRESS_PERCENT. domain.md [V] names
# machinery; add a category here when a circular is found to name it.
ADVANCE_AFTER_PROGRESS = ("machinery",)
# Acceptance documents beyond the committee's record, per category (issue 10; domain.md step 6).
ACCEPTANCE_EXTRA: dict[str, tuple[str, ...]] = {
    "machinery": ("purchase_contract", "contract_liquidation", "invoices", "counterpart_proof"),
    "training": ("attendee_list",),
    "demonstration": ("attendance_list",),
    "brand_registration": ("brand_certificate",),
}
CHANGE_KINDS = {"amount": msg("Thay đổi kinh phí", "Change of amount"),
                "content": msg("Thay đổi nội dung", "Change of content"),
                "extension": msg("Gia hạn", "Extension")}
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def acceptance_kinds_required(proposal: Any) -> list[str]:
    return ["acceptance_record", *ACCEPTANCE_EXTRA.get(proposal.category, ())]


def progress_percent(session: Session, proposal_id: int) -> int:
    """The latest progress the Centre has confirmed (an unconfirmed report does not count)."""
    latest = session.scalar(select(ProgressReport.percent).where(ProgressReport.proposal_id == proposal_id,
                                                                 ProgressReport.confirmed_at.is_not(None))
                            .order_by(ProgressReport.period.desc(), ProgressReport.id.desc()).limit(1))
    return latest or 0


def progress_percents(session: Session, proposal_ids: list[int]) -> dict[int, int]:
    """:func:`progress_percent` of many proposals in one query (the latest report of each)."""
    rows = session.execute(select(ProgressReport.proposal_id, ProgressReport.percent)
                           .where(ProgressReport.proposal_id.in_(proposal_ids))
                           .order_by(ProgressReport.period, ProgressReport.id))
    latest = dict.fromkeys(proposal_ids, 0)
    latest.update({pid: percent or 0 for pid, percent in rows})  # later rows overwrite earlier ones
    return latest


def advanced_total(session: Session, proposal_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Advance.amount), 0))
                              .where(Advance.proposal_id == proposal_id)) or 0)


def advance_limit(funding: Funding) -> int:
    return funding.approved_amount * ADVANCE_SHARE_PERCENT // 100


def settlement_due(proposal: Any, funding: Funding | None) -> dt.date | None:
    """Acceptance date plus the deadline the definition puts on the state ``accept`` leads to."""
    if funding is None or funding.accepted_on is None:
        return None
    compiled = compiled_for(proposal)
    target = next((r.dest for r in compiled.rules if r.trigger == "accept"), None)
    deadline = compiled.states[target].deadline if target else None
    return funding.accepted_on + dt.timedelta(days=deadline.days) if deadline and deadline.days else None


# --- actions ----------------------------------------------------------------------------------------------

def report_progress(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                    expected_version: int | None = None, request_id: str | None = None) -> Any:
    """The applicant's monthly report: one per month (YYYY-MM), percent done and a note."""
    cleaned = operations.action_inputs(session, proposal, actor, "report_progress", inputs, request_id=request_id)
    period = cleaned.get("period") or today().strftime("%Y-%m")
    if not _PERIOD.match(period):
        raise InvalidInput({"period": msg("Tháng báo cáo phải có dạng YYYY-MM", "The period must be YYYY-MM")})

    def problems() -> list[dict[str, str]]:
        taken = session.scalar(select(ProgressReport.id).where(ProgressReport.proposal_id == proposal.id,
                                                               ProgressReport.period == period))
        return [msg(f"Đã có báo cáo tiến độ tháng {period}", f"Progress for {period} is already reported")] \
            if taken else []

    def apply() -> dict[str, Any]:
        before = progress_percent(session, proposal.id)
        session.add(ProgressReport(proposal_id=proposal.id, period=period, percent=cleaned["percent"],
                                   note=cleaned.get("note", ""), reported_by_id=int(actor.user_id)))
        session.flush()
        return {"progress_percent": [before, progress_percent(session, proposal.id)]}

    return operations.act(
        session, proposal, actor, "report_progress",
        check=lambda: explain_action(proposal, actor, "report_progress", problems),
        apply=apply, inputs={**cleaned, "period": period}, expected_version=expected_version, request_id=request_id)


def confirm_progress(session: Session, proposal: Any, actor: Actor, report_id: Any, *,
                     expected_version: int | None = None, request_id: str | None = None) -> Any:
    """The Centre confirms one progress report; from then on it counts (advances read confirmed progress)."""
    chosen = operations.action_inputs(session, proposal, actor, "confirm_progress", {"report_id": report_id},
                                      request_id=request_id)["report_id"]
    report = session.get(ProgressReport, chosen)
    if report is None or report.proposal_id != proposal.id:
        raise InvalidInput({"report_id": msg("Không có báo cáo tiến độ này", "No such progress report")})

    def problems() -> list[dict[str, str]]:
        return [msg("Báo cáo này đã được xác nhận", "This report is already confirmed")] \
            if report.confirmed_at is not None else []

    def apply() -> dict[str, Any]:
        before = progress_percent(session, proposal.id)
        report.confirmed_at, report.confirmed_by_id = utcnow(), int(actor.user_id)
        session.flush()
        return {"report": report.id, "period": report.period,
                "progress_percent": [before, progress_percent(session, proposal.id)]}

    return operations.act(
        session, proposal, actor, "confirm_progress",
        check=lambda: explain_action(proposal, actor, "confirm_progress", problems),
        apply=apply, inputs={"report_id": report.id}, expected_version=expected_version, request_id=request_id)


def advance_problems(session: Session, proposal: Any, amount: int) -> list[dict[str, str]]:
    funding = funding_of(session, proposal.id)
    if funding is None:
        return [msg("Đề án chưa có quyết định giao kinh phí", "The proposal has no funding decision")]
    found = []
    if proposal.category in ADVANCE_AFTER_PROGRESS:
        progress = progress_percent(session, proposal.id)
        if progress <= MACHINERY_PROGRESS_PERCENT:
            vi, en = CATEGORIES[proposal.category]
            found.append(msg(
                f"Nội dung '{vi}' chỉ được tạm ứng khi tiến độ đã xác nhận trên {MACHINERY_PROGRESS_PERCENT}% "
                f"(hiện {progress}%)",
                f"'{en}' may be advanced only above {MACHINERY_PROGRESS_PERCENT}% confirmed progress "
                f"(now {progress}%)"))
    left = advance_limit(funding) - advanced_total(session, proposal.id)
    if amount > left:
        found.append(msg(
            f"Tổng tạm ứng tối đa {ADVANCE_SHARE_PERCENT}% kinh phí hỗ trợ; chỉ còn được tạm ứng {vnd(left)}",
            f"Advances may total at most {ADVANCE_SHARE_PERCENT}% of the support; {vnd(left)} is left"))
    return found


def record_advance(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                   expected_version: int | None = None, request_id: str | None = None) -> Any:
    cleaned = operations.action_inputs(session, proposal, actor, "record_advance", inputs, request_id=request_id)
    paid_on = cleaned.get("paid_on") or today()

    def apply() -> dict[str, Any]:
        before = advanced_total(session, proposal.id)
        session.add(Advance(proposal_id=proposal.id, amount=cleaned["amount"], paid_on=paid_on,
                            note=cleaned.get("note", ""), recorded_by_id=int(actor.user_id)))
        session.flush()
        return {"advanced_total": [before, before + cleaned["amount"]]}

    return operations.act(
        session, proposal, actor, "record_advance",
        check=lambda: explain_action(proposal, actor, "record_advance",
                                     lambda: advance_problems(session, proposal, cleaned["amount"])),
        apply=apply, inputs={**cleaned, "paid_on": paid_on}, expected_version=expected_version,
        request_id=request_id)


def _clean_change_value(kind: str, value: Any) -> str:
    spec = {"amount": InputSpec(type="money", min=1), "content": InputSpec(type="text"),
            "extension": InputSpec(type="date")}[kind]
    cleaned = clean({"value": value}, {"value": spec})["value"]
    return cleaned.isoformat() if isinstance(cleaned, dt.date) else str(cleaned)


def request_change(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                   expected_version: int | None = None, request_id: str | None = None) -> Any:
    """A change of amount, content or end date, waiting for the director."""
    cleaned = operations.action_inputs(session, proposal, actor, "request_change", inputs, request_id=request_id)
    value = _clean_change_value(cleaned["kind"], inputs.get("value"))

    def problems() -> list[dict[str, str]]:
        pending = session.scalar(select(ChangeRequest.id).where(ChangeRequest.proposal_id == proposal.id,
                                                                ChangeRequest.kind == cleaned["kind"],
                                                                ChangeRequest.status == "pending"))
        return [msg("Đã có đề nghị thay đổi cùng loại đang chờ duyệt",
                    "A change request of this kind is already waiting")] if pending else []

    def apply() -> dict[str, Any]:
        change = ChangeRequest(proposal_id=proposal.id, kind=cleaned["kind"], new_value=value,
                               reason=cleaned["reason"], requested_by_id=int(actor.user_id))
        session.add(change)
        session.flush()
        return {"change_request": change.id}

    return operations.act(
        session, proposal, actor, "request_change",
        check=lambda: explain_action(proposal, actor, "request_change", problems),
        apply=apply, inputs={**cleaned, "value": value}, expected_version=expected_version, request_id=request_id)


def _amount_change_problems(session: Session, proposal: Any, funding: Funding, envelope: BudgetEnvelope,
                            new: int) -> list[dict[str, str]]:
    found = []
    advanced = advanced_total(session, proposal.id)
    if new * ADVANCE_SHARE_PERCENT // 100 < advanced:
        found.append(msg(f"Đã tạm ứng {vnd(advanced)}, vượt {ADVANCE_SHARE_PERCENT}% mức mới",
                         f"{vnd(advanced)} already advanced is above {ADVANCE_SHARE_PERCENT}% of the new amount"))
    over_cap = cap_problem(proposal, new)
    if over_cap:
        found.append(over_cap)
    if new - funding.approved_amount > envelope.remaining:
        found.append(msg(f"Dự toán '{envelope.label}' chỉ còn {vnd(envelope.remaining)}",
                         f"Envelope '{envelope.label}' has only {vnd(envelope.remaining)} left"))
    return found


def decide_change(session: Session, proposal: Any, actor: Actor, change_id: int, inputs: Mapping[str, Any], *,
                  expected_version: int | None = None, request_id: str | None = None) -> Any:
    """The director approves (the change applies, as a new terms version) or rejects a change request."""
    try:
        approve, bad_approve = clean(inputs, {"approve": InputSpec(type="bool")})["approve"], None
    except InvalidInput as exc:  # reported after who-and-when, which approving and rejecting share
        approve, bad_approve = True, exc
    action = "approve_change" if approve else "reject_change"
    cleaned = {**operations.action_inputs(session, proposal, actor, action, {**inputs, "change_id": change_id},
                                          request_id=request_id), "approve": approve}
    if bad_approve is not None:
        raise bad_approve
    change = session.get(ChangeRequest, change_id)
    if change is None or change.proposal_id != proposal.id:
        raise InvalidInput({"change_id": msg("Không có đề nghị thay đổi này", "No such change request")})
    funding = funding_of(session, proposal.id)
    # The envelope is locked before the proposal (act), as everywhere money moves.
    envelope = lock(session, BudgetEnvelope, funding.envelope_id) if funding and change.kind == "amount" else None

    def problems() -> list[dict[str, str]]:
        if change.status != "pending":
            return [msg("Đề nghị này đã được quyết định", "This request has already been decided")]
        if funding is None:
            return [msg("Đề án chưa có quyết định giao kinh phí", "The proposal has no funding decision")]
        if cleaned["approve"] and envelope is not None:
            return _amount_change_problems(session, proposal, funding, envelope, int(change.new_value))
        return []

    def apply() -> dict[str, Any]:
        assert funding is not None
        change.status = "approved" if cleaned["approve"] else "rejected"
        change.decided_by_id, change.decided_at = int(actor.user_id), utcnow()
        change.decision_comment = cleaned.get("comment")
        details: dict[str, Any] = {"change_request": change.id, "status": change.status}
        if cleaned["approve"]:
            field, old, new = _apply_change(session, funding, envelope, change, actor.user_id)
            change.old_value = None if old is None else str(old)
            funding.terms_version += 1
            details.update({field: [old, new], "terms_version": funding.terms_version})
        session.flush()
        return details

    return operations.act(
        session, proposal, actor, action,
        check=lambda: explain_action(proposal, actor, action, problems),
        apply=apply, inputs=cleaned, expected_version=expected_version,
        request_id=request_id)


def _apply_change(session: Session, funding: Funding, envelope: BudgetEnvelope | None, change: ChangeRequest,
                  actor_id: str) -> tuple[str, Any, Any]:
    if change.kind == "amount":
        assert envelope is not None
        old, new = funding.approved_amount, int(change.new_value)
        move_money(session, envelope, new - old, funding.proposal_id, "commit", actor_id)
        funding.approved_amount = new
        return "approved_amount", old, new
    if change.kind == "content":
        old_text, funding.content = funding.content, change.new_value
        return "content", old_text, change.new_value
    old_end = funding.end_date.isoformat() if funding.end_date else None
    funding.end_date = dt.date.fromisoformat(change.new_value)
    return "end_date", old_end, change.new_value


# --- transitions that record money and dates ---------------------------------------------------------------

def _add_months(day: dt.date, months: int) -> dt.date | None:
    """The same day ``months`` later (the month's last day when shorter); None past the calendar's end."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if year > dt.MAXYEAR:
        return None
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _record_contract(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    end = funding.end_date or _add_months(cleaned["contract_date"], proposal.duration_months)
    if end is None:
        raise InvalidInput({"contract_date": msg("Ngày ký hợp đồng không hợp lệ: ngày kết thúc vượt quá năm 9999",
                                                 "Invalid contract date: the end date would pass the year 9999")})
    funding.contract_number, funding.contract_date = cleaned["contract_number"], cleaned["contract_date"]
    funding.end_date = end


def committee_members(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _check_acceptance(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    """The committee's record: a date neither in the future nor before the contract, and named members."""
    if "acceptance_date" not in cleaned:
        return  # definitions before v3: the click's date
    errors = {}
    held = cleaned["acceptance_date"]
    if held > today():
        errors["acceptance_date"] = msg("Ngày nghiệm thu không được sau hôm nay",
                                        "The acceptance date cannot be in the future")
    elif funding.contract_date is not None and held < funding.contract_date:
        errors["acceptance_date"] = msg("Ngày nghiệm thu không được trước ngày ký hợp đồng",
                                        "The acceptance date cannot be before the contract date")
    members = committee_members(cleaned["committee_members"])
    if len(set(members)) != len(members):
        errors["committee_members"] = msg("Một thành viên được ghi hai lần", "A member is listed twice")
    if errors:
        raise InvalidInput(errors)


def _record_acceptance(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    funding.accepted_on = cleaned.get("acceptance_date") or today()
    if "committee_members" in cleaned:
        funding.acceptance_members = committee_members(cleaned["committee_members"])
        funding.acceptance_conclusion = cleaned["comment"]


def _check_settlement(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    errors = {}
    if cleaned["disbursed_total"] > funding.approved_amount:
        errors["disbursed_total"] = msg(
            f"Không được vượt kinh phí được duyệt {vnd(funding.approved_amount)}",
            f"Must not exceed the approved {vnd(funding.approved_amount)}")
    advanced = advanced_total(session, proposal.id)
    if cleaned["refund_amount"] > advanced:
        errors["refund_amount"] = msg(f"Không được vượt số đã tạm ứng {vnd(advanced)}",
                                      f"Must not exceed the {vnd(advanced)} advanced")
    if errors:
        raise InvalidInput(errors)


def _record_settlement(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    funding.disbursed_total, funding.refund_amount = cleaned["disbursed_total"], cleaned["refund_amount"]
    release(session, funding, funding.approved_amount - funding.released - cleaned["disbursed_total"])


def _record_termination(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    release(session, funding, funding.approved_amount - funding.released - advanced_total(session, proposal.id))


HANDLERS = {"sign_contract": records_on_funding(no_check, _record_contract),
            "accept": records_on_funding(_check_acceptance, _record_acceptance),
            "settle": records_on_funding(_check_settlement, _record_settlement),
            "terminate": records_on_funding(no_check, _record_termination)}
