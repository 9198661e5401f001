"""The deadline sweep: reminders before a state's deadline, a notice once it has passed, and escalation some
working days later, as each state's ``reminders`` in the definitions declare.

Each notice's dedup key names the proposal, the moment it entered the state and the kind, so a sweep that runs
again (several workers, a restart, a missed day) adds nothing twice; a proposal that re-enters the state starts
afresh. Deadline notices go out on working days only (weekends and Vietnam's public holidays, Tết included).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.deadlines import _vn_holidays, add_working_days, due_date
from app.deadlines import today as local_today
from app.formatting import LOCAL_TZ, local
from app.models import Proposal
from app.notifications.outbox import insert_notices, notice_params, recipients
from workflow.definitions import Deadline, Reminders
from workflow.machine import CompiledWorkflow
from workflow.notices import ESCALATION, OVERDUE, REMINDER
from workflow.registry import Registry, default_registry


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _vn_holidays()


def notices_due(today: dt.date, due: dt.date, rule: Reminders) -> list[tuple[str, list[str]]]:
    """(notice key, roles) of the deadline notices that are due by ``today`` (a working day)."""
    found: list[tuple[str, list[str]]] = []
    if today > due:
        found.append((OVERDUE, rule.roles))
        if rule.escalate_after_working_days and today >= add_working_days(due, rule.escalate_after_working_days):
            found.append((ESCALATION, rule.escalate_to))
    elif rule.before_working_days and add_working_days(today, rule.before_working_days) >= due:
        found.append((REMINDER, rule.roles))
    return found


def _candidates(session: Session, compiled: CompiledWorkflow, state: str, today: dt.date,
                rule: Reminders, deadline: Deadline) -> list[Proposal]:
    """Proposals in the state whose deadline may fall by ``today`` + the reminder's lead. A deadline is never
    earlier than entry + its length in calendar days, so later entries cannot be due yet."""
    horizon = add_working_days(today, rule.before_working_days or 0)
    latest_entry = horizon - dt.timedelta(days=(deadline.working_days or deadline.days or 0) - 1)
    before = dt.datetime.combine(latest_entry, dt.time(), tzinfo=LOCAL_TZ).astimezone(dt.UTC)
    return list(session.scalars(
        select(Proposal).where(Proposal.wf_workflow == compiled.workflow,
                               Proposal.wf_workflow_version == compiled.version, Proposal.wf_state == state,
                               Proposal.wf_entered_at < before).order_by(Proposal.id)))


def sweep(session: Session, today: dt.date | None = None, registry: Registry | None = None) -> int:
    """Add the deadline notices due ``today`` (local date); returns how many proposals had some. The caller
    commits."""
    today = today or local_today()
    if not is_working_day(today):
        return 0
    touched = 0
    for compiled in registry or default_registry():
        for state, spec in compiled.definition.states.items():
            rule = spec.reminders
            if rule is None or spec.deadline is None:
                continue
            for proposal in _candidates(session, compiled, state, today, rule, spec.deadline):
                due = due_date(proposal.wf_entered_at, spec.deadline)
                wanted = notices_due(today, due, rule) if due else []
                if not wanted:
                    continue
                entered = local(proposal.wf_entered_at).isoformat(timespec="seconds")
                prefix = f"dl:{proposal.id}:{entered}:{state}"
                notices = [(prefix, key, recipients(session, compiled.definition, proposal, roles))
                           for key, roles in wanted]
                insert_notices(session, proposal, notices, notice_params(session, compiled, proposal, due=due))
                touched += 1
    return touched
