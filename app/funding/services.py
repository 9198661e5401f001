"""Budget envelopes, the funding decision (approve_funding) and the ranking of appraised proposals.

Locking order, everywhere money moves: the envelope row first, then the proposal row (``fire``/``act``).
Holding the envelope's row lock from the check to the commit is what keeps concurrent decisions from
overspending it; the CHECK constraint on ``committed`` is the last line of defence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.actions import Handler, OptionalInput, perform
from app.common.caps import cap_problem
from app.common.rules import clean, lock, msg, transition_inputs
from app.council.services import council_result
from app.formatting import vnd
from app.models.proposals import Proposal
from app.models.stages import BudgetEnvelope, Funding
from app.rounds.services import allocation_key, plan_problem, round_of
from workflow import audit, operations
from workflow.definitions import InputSpec
from workflow.errors import Conflict, InvalidInput, Refused, WorkflowError
from workflow.permissions import Actor

ENVELOPE_CHAIN = "budget_envelope"  # each envelope's creation and every change of its commitments

APPRAISED = ("shortlisted", "reserve")
ENVELOPE_SPECS = {"fund": InputSpec(type="string"), "year": InputSpec(type="int", min=2000, max=2100),
                  "amount": InputSpec(type="money", min=1)}


# --- envelopes ---------------------------------------------------------------------------------------------

def create_envelope(session: Session, user: Any, province: str, inputs: Mapping[str, Any], *,
                    request_id: str | None = None) -> BudgetEnvelope:
    """A new (fund, year) envelope, recorded on its own audit chain; the views admit centre officers and
    directors only. With ``round_id`` it belongs to that round's plan, which must be approved, and carries the
    plan's fund, year and decision."""
    if inputs.get("round_id") not in (None, ""):
        return _round_envelope(session, user, province, inputs, request_id)
    cleaned = clean(inputs, ENVELOPE_SPECS)
    return _add_envelope(session, user, BudgetEnvelope(province_code=province, created_by_id=user.id, committed=0,
                                                       **cleaned), request_id)


def _round_envelope(session: Session, user: Any, province: str, inputs: Mapping[str, Any],
                    request_id: str | None) -> BudgetEnvelope:
    plan_round = round_of(session, province, inputs.get("round_id"))
    amount = clean(inputs, {"amount": ENVELOPE_SPECS["amount"]})["amount"]
    if not plan_round.approved:
        raise InvalidInput({"round_id": msg(f"Kế hoạch {plan_round.label} chưa được UBND tỉnh phê duyệt",
                                            f"The plan {plan_round.label} is not approved yet")})
    assert plan_round.approved_total is not None
    if amount > plan_round.approved_total:
        raise InvalidInput({"amount": msg(f"Vượt tổng kinh phí được phê duyệt {vnd(plan_round.approved_total)}",
                                          f"Above the approved total of {vnd(plan_round.approved_total)}")})
    fund = f"{plan_round.label} (QĐ {plan_round.decision_number})"
    return _add_envelope(session, user, BudgetEnvelope(province_code=province, created_by_id=user.id, committed=0,
                                                       fund=fund, year=plan_round.plan_year, amount=amount,
                                                       round_id=plan_round.id), request_id)


def _add_envelope(session: Session, user: Any, envelope: BudgetEnvelope, request_id: str | None) -> BudgetEnvelope:
    try:
        with session.begin_nested():  # the unique (province, fund, year) decides, even between two creators
            session.add(envelope)
    except IntegrityError:
        raise Conflict(msg(f"Đã có dự toán '{envelope.fund}' năm {envelope.year}",
                           f"An envelope '{envelope.fund}' for {envelope.year} already exists")) from None
    audit.append(session, subject_type=ENVELOPE_CHAIN, subject_id=str(envelope.id), action="create",
                 outcome="created", actor_id=str(user.id), request_id=request_id,
                 inputs={"province_code": envelope.province_code, "fund": envelope.fund, "year": envelope.year,
                         "amount": envelope.amount, "committed": 0, "round_id": envelope.round_id})
    return envelope


def move_money(session: Session, envelope: BudgetEnvelope, delta: int, proposal_id: int, action: str,
               actor_id: str | None = None) -> None:
    """Change what the (locked) envelope has committed, and record it on the envelope's own chain."""
    old = envelope.committed
    envelope.committed = old + delta
    audit.append(session, subject_type=ENVELOPE_CHAIN, subject_id=str(envelope.id), action=action,
                 outcome="applied", actor_id=actor_id, inputs={"proposal_id": proposal_id, "amount": delta},
                 diff={"committed": [old, envelope.committed]})


def envelopes(session: Session, province: str, year: int | None = None) -> list[BudgetEnvelope]:
    stmt = select(BudgetEnvelope).where(BudgetEnvelope.province_code == province)
    if year is not None:
        stmt = stmt.where(BudgetEnvelope.year == year)
    return list(session.scalars(stmt.order_by(BudgetEnvelope.year.desc(), BudgetEnvelope.fund)))


def envelope_for(session: Session, proposal: Proposal, envelope_id: Any = None) -> BudgetEnvelope:
    """The envelope named, else the only one of the proposal's province and year."""
    if envelope_id not in (None, ""):
        chosen = clean({"envelope_id": envelope_id},
                       {"envelope_id": InputSpec(type="int", min=1, max=2**31 - 1)})["envelope_id"]
        envelope = session.get(BudgetEnvelope, chosen)
        if envelope is None or envelope.province_code != proposal.province_code:
            raise InvalidInput({"envelope_id": msg("Không có dự toán này", "No such budget envelope")})
        return envelope
    found = envelopes(session, proposal.province_code, proposal.year)
    if proposal.round_id is not None:
        found = [e for e in found if e.round_id == proposal.round_id]
    if len(found) != 1:
        raise InvalidInput({"envelope_id": msg(
            f"Chọn dự toán kinh phí năm {proposal.year}" if found else f"Chưa có dự toán kinh phí năm {proposal.year}",
            f"Choose a budget envelope for {proposal.year}" if found else f"No budget envelope for {proposal.year}")})
    return found[0]


def budget_problem(session: Session, proposal: Proposal, amount: int,
                   inputs: Mapping[str, Any]) -> dict[str, str] | None:
    """The ``budget_problem`` fact of the ``within_budget`` guard: ``amount`` does not fit what is left in the
    envelope named by ``envelope_id`` (else the only one that fits). The handler has locked that envelope
    first; ``operations.fire`` alone (no handler) is refused here as well, never funded from an exhausted one.
    No envelope, several to choose from, or none of an approved plan: that is the problem (the handler reports
    these first, as InvalidInput naming ``envelope_id``)."""
    unapproved = plan_problem(session, proposal)
    if unapproved is not None:
        return unapproved
    try:
        envelope = envelope_for(session, proposal, inputs.get("envelope_id"))
    except InvalidInput as exc:
        return exc.errors["envelope_id"]
    outside = plan_problem(session, proposal, envelope)
    if outside is not None:
        return outside
    left = envelope.remaining
    if amount <= left:
        return None
    return msg(f"Dự toán '{envelope.label}' chỉ còn {vnd(left)}, không đủ {vnd(amount)}",
               f"Envelope '{envelope.label}' has only {vnd(left)} left, not {vnd(amount)}")


def amount_problem(proposal: Proposal, amount: int) -> dict[str, str] | None:
    """approved <= requested <= cap."""
    if amount > proposal.requested_support:
        return msg(f"Kinh phí duyệt {vnd(amount)} lớn hơn kinh phí đề nghị {vnd(proposal.requested_support)}",
                   f"Approved {vnd(amount)} is above the requested {vnd(proposal.requested_support)}")
    return cap_problem(proposal, proposal.requested_support) or cap_problem(proposal, amount)


def envelope_choices(session: Session, proposal: Proposal) -> list[tuple[str, str]]:
    return [(str(e.id), f"{e.fund} ({e.year}): {vnd(e.amount - e.committed)}")
            for e in envelopes(session, proposal.province_code, proposal.year)]


OPTIONAL_INPUTS = {"approve_funding": [OptionalInput(
    "envelope_id", {"vi": "Dự toán kinh phí (khi năm có nhiều dự toán)",
                    "en": "Budget envelope (when the year has several)"}, envelope_choices)]}


def approve_funding(session: Session, proposal: Proposal, trigger: str, actor: Actor, inputs: dict[str, Any],
                    expected_version: int | None = None, *, request_id: str | None = None) -> Any:
    # Who and when first (without the amount, so the budget guard waits for the envelope chosen below).
    asked = {k: v for k, v in inputs.items() if k != "approved_amount"}
    cleaned = transition_inputs(session, proposal, trigger, actor, inputs, asked=asked)
    if cleaned is None:
        return operations.fire(session, proposal, trigger, actor, inputs, expected_version, request_id=request_id)
    amount = cleaned["approved_amount"]
    problem = amount_problem(proposal, amount)
    if problem is not None:
        raise InvalidInput({"approved_amount": problem})
    unapproved = plan_problem(session, proposal)
    if unapproved is not None:
        raise InvalidInput({"envelope_id": unapproved})
    envelope = lock(session, BudgetEnvelope, envelope_for(session, proposal, inputs.get("envelope_id")).id)
    outside = plan_problem(session, proposal, envelope)
    if outside is not None:
        raise InvalidInput({"envelope_id": outside})
    chosen = {**inputs, "envelope_id": envelope.id}  # the guard checks the envelope locked here
    event = operations.fire(session, proposal, trigger, actor, chosen, expected_version, request_id=request_id)
    move_money(session, envelope, amount, proposal.id, "commit", actor.user_id)
    session.add(Funding(proposal_id=proposal.id, envelope_id=envelope.id, approved_amount=amount,
                        decision_number=cleaned["decision_number"], decision_date=cleaned["decision_date"],
                        content=proposal.objectives))
    session.flush()
    return event


HANDLERS = {"approve_funding": approve_funding}  # registered with app.actions by create_app


# --- ranking and bulk decisions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Ranked:
    proposal: Proposal
    score: Any  # Decimal | None
    priority: bool
    cumulative: int
    fits: bool


def ranking(session: Session, scope: Any, envelope: BudgetEnvelope) -> list[Ranked]:
    """Appraised proposals of the envelope's year in allocation order (priority region, then priority sector, then
    score; shortlist before reserve), with the running total of their requested support against what is left
    in the envelope."""
    rows = session.scalars(select(Proposal).where(scope, Proposal.wf_state.in_(APPRAISED),
                                                  Proposal.year == envelope.year,
                                                  Proposal.province_code == envelope.province_code,
                                                  *((Proposal.round_id == envelope.round_id,)
                                                    if envelope.round_id is not None else ())))
    scored = []
    for p in rows:
        result = council_result(session, p)
        scored.append((p, result.average if result else None, p.priority_region or p.priority_sector))
    scored.sort(key=lambda r: (allocation_key(r[0], r[1])[:-1], r[0].wf_state != "shortlisted", r[0].id))
    out, total = [], 0
    for p, score, priority in scored:
        total += p.requested_support
        out.append(Ranked(p, score, priority, total, total <= envelope.remaining))
    return out


class BulkRefused(WorkflowError):
    """A bulk decision that was undone: ``failures`` maps each refused proposal's code to its error."""

    def __init__(self, failures: dict[str, WorkflowError]):
        self.failures = failures
        super().__init__("; ".join(f"{k}: {v}" for k, v in failures.items()))

    @property
    def kind(self) -> str:
        """The most fundamental failure: permission, then state or conflict, then guard or invalid input."""
        kinds = {e.kind if isinstance(e, Refused) else "conflict" if isinstance(e, Conflict) else "invalid"
                 for e in self.failures.values()}
        return next(k for k in ("permission", "state", "conflict", "guard", "invalid") if k in kinds)


def bulk_approve(session: Session, proposals: Sequence[Proposal], actor: Actor, inputs: Mapping[str, Any], *,
                 request_id: str | None = None) -> list[Any]:
    """approve_funding for each proposal at its requested support, all or nothing (the caller rolls back on
    BulkRefused). Each success is its own audit event."""
    if not proposals:
        raise InvalidInput({"proposal_ids": msg("Chưa chọn đề án nào", "No proposal selected")})
    events, failures = [], {}
    for p in proposals:  # in the order given: the ranking's
        try:
            events.append(perform(session, p, "approve_funding", actor,
                                  {**inputs, "approved_amount": p.requested_support}, request_id=request_id))
        except WorkflowError as exc:
            failures[p.code] = exc
    if failures:
        raise BulkRefused(failures)
    return events


def funding_of(session: Session, proposal_id: int) -> Funding | None:
    return session.scalar(select(Funding).where(Funding.proposal_id == proposal_id))


def release(session: Session, funding: Funding, amount: int) -> None:
    """Give ``amount`` of a funded proposal's money back to its envelope (termination, settlement)."""
    if amount <= 0:
        return
    envelope = lock(session, BudgetEnvelope, funding.envelope_id)
    move_money(session, envelope, -amount, funding.proposal_id, "release")
    funding.released += amount
    session.flush()


def records_on_funding(validate: Any, record: Any) -> Handler:
    """The handler of a transition that writes on the Funding row: clean the inputs, ``validate(cleaned, funding)``,
    lock the envelope, fire, then ``record(cleaned, funding)``."""

    def handler(session: Session, proposal: Any, trigger: str, actor: Actor, inputs: dict[str, Any],
                expected_version: int | None = None, *, request_id: str | None = None) -> Any:
        cleaned = transition_inputs(session, proposal, trigger, actor, inputs)
        funding = funding_of(session, proposal.id)
        if cleaned is None or funding is None:
            return operations.fire(session, proposal, trigger, actor, inputs, expected_version,
                                   request_id=request_id)
        validate(session, proposal, cleaned, funding)
        lock(session, BudgetEnvelope, funding.envelope_id)  # envelope before proposal
        event = operations.fire(session, proposal, trigger, actor, inputs, expected_version, request_id=request_id)
        record(session, proposal, cleaned, funding)
        session.flush()
        return event

    return handler


def no_check(*_: Any) -> None:
    return None
