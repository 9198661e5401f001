"""Evaluation: the indicators the definition declares (target and actual values), then ``evaluate``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.common.rules import clean, compiled_for, explain_action, msg
from app.funding.services import no_check, records_on_funding
from app.models.stages import Funding, IndicatorValue
from workflow import operations
from workflow.definitions import Indicator, InputSpec
from workflow.errors import InvalidInput
from workflow.permissions import Actor
from workflow.storage import utcnow

VALUE_SPECS = {"int": InputSpec(type="int", min=0), "money": InputSpec(type="money", min=0),
               "percent": InputSpec(type="int", min=-100, max=10_000), "bool": InputSpec(type="bool")}


def declared_indicators(proposal: Any) -> list[Indicator]:
    """The indicators of the definition (on the state ``evaluate`` leaves from)."""
    compiled = compiled_for(proposal)
    return [i for s in compiled.states.values() for i in (s.indicators or [])]


def indicator_values(session: Session, proposal_id: int) -> dict[str, IndicatorValue]:
    return {v.key: v for v in session.scalars(select(IndicatorValue).where(IndicatorValue.proposal_id == proposal_id))}


def recorded_indicators(session: Session, proposal_id: int) -> list[str]:
    return [k for k, v in indicator_values(session, proposal_id).items() if v.actual is not None]


def recorded_indicators_of(session: Session, proposal_ids: list[int]) -> dict[int, list[str]]:
    """:func:`recorded_indicators` of many proposals in one query."""
    out: dict[int, list[str]] = {pid: [] for pid in proposal_ids}
    for pid, key in session.execute(select(IndicatorValue.proposal_id, IndicatorValue.key).where(
            IndicatorValue.proposal_id.in_(proposal_ids), IndicatorValue.actual.is_not(None))
            .order_by(IndicatorValue.id)):
        out[pid].append(key)
    return out


def record_indicator(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                     expected_version: int | None = None, request_id: str | None = None) -> Any:
    """Set an indicator's target and/or actual value (booleans stored as 0/1); the event keeps both sides."""
    declared = {i.key: i for i in declared_indicators(proposal)}
    key = operations.action_inputs(session, proposal, actor, "record_indicator", inputs,
                                   request_id=request_id)["key"]
    if key not in declared:
        raise InvalidInput({"key": msg(f"Không có chỉ số '{key}'", f"No such indicator: {key}")})
    spec = VALUE_SPECS[declared[key].kind]
    values = clean(inputs, {"target": spec, "actual": spec}, optional=["target", "actual"])
    if not values:
        raise InvalidInput({"actual": msg("Nhập giá trị mục tiêu hoặc thực tế", "Give a target or an actual value")})
    values = {k: int(v) for k, v in values.items()}

    def apply() -> dict[str, Any]:
        row = session.scalar(select(IndicatorValue).where(IndicatorValue.proposal_id == proposal.id,
                                                          IndicatorValue.key == key))
        if row is None:
            row = IndicatorValue(proposal_id=proposal.id, key=key)
            session.add(row)
        diff = {name: [getattr(row, name), new] for name, new in values.items() if getattr(row, name) != new}
        for name, new in values.items():
            setattr(row, name, new)
        row.recorded_by_id, row.recorded_at = int(actor.user_id), utcnow()
        session.flush()
        return {"indicator": key, **diff}

    return operations.act(
        session, proposal, actor, "record_indicator",
        check=lambda: explain_action(proposal, actor, "record_indicator"),
        apply=apply, inputs={"key": key, **values}, expected_version=expected_version, request_id=request_id)


def _record_evaluation(session: Session, proposal: Any, cleaned: dict[str, Any], funding: Funding) -> None:
    funding.evaluation_score, funding.evaluation_comment = cleaned["evaluation_score"], cleaned.get("comment")


HANDLERS = {"evaluate": records_on_funding(no_check, _record_evaluation)}
