"""The "next step" panel at the top of a proposal page: what is needed now, by whom, by when, and what this user
can do about it. Computed here from the engine's answers (allowed actions, explain) and the stage rules, once
per page, never in the template; the page hands in what it has already loaded (allowed actions, events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from app.deadlines import due_date, today
from app.i18n import tr
from app.models.proposals import ACCEPTANCE_KINDS, DOSSIER_KINDS
from workflow.explain import Action
from workflow.guards import DEFAULT_DOSSIER
from workflow.machine import CompiledWorkflow
from workflow.permissions import Actor

# The main path the stepper shows: each step is reached by any of its states (the first one names the step).
MAIN_PATH: tuple[tuple[str, ...], ...] = (
    ("draft", "returned"),
    ("local_review", "district_review"),
    ("provincial_appraisal", "shortlisted", "reserve", "ministry_appraisal"),
    ("funded", "implementing"),
    ("implemented", "settled"),
    ("evaluated",),
)
SIDE_STATES = frozenset({"returned", "reserve"})  # reached by a step aside, not forward
# Transitions whose reason the applicant must see at the top (a return, a refusal, a stop).
REASONED_TRIGGERS = frozenset({"return_for_revision", "not_recommend", "reject", "close_reserve", "terminate",
                               "ministry_reject", "withdraw"})
# Fields of the dossier the checklist shows (the form requires the others).
CHECKED_FIELDS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("objectives", ("Mục tiêu của đề án", "Objectives")),
    ("expected_results", ("Kết quả dự kiến", "Expected results")),
    ("expected_output", ("Sản phẩm, sản lượng dự kiến", "Expected output")),
    ("expected_jobs", ("Số lao động dự kiến", "Jobs expected")),
)


@dataclass(frozen=True)
class Button:
    label: str
    href: str
    ident: str  # the element id the page gives it (tests and the browser story click it)
    confirm: str = ""  # for destructive actions: what the confirm step says


@dataclass(frozen=True)
class Check:
    label: str
    done: bool
    kind: str  # "document" or "field"


@dataclass(frozen=True)
class LatestReason:
    title: str
    text: str
    at: dt.datetime
    by: str


@dataclass(frozen=True)
class StepperStep:
    title: str
    status: str  # "done", "current" or "todo"


@dataclass
class NextStep:
    needed: str  # what is needed now, in the user's language
    by_whom: str  # role titles
    due: dt.date | None
    overdue: bool
    primary: list[Button] = field(default_factory=list)
    secondary: list[Button] = field(default_factory=list)
    destructive: list[Button] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # why the forward action is not open yet
    checklist: list[Check] = field(default_factory=list)
    reason: LatestReason | None = None
    stepper: list[StepperStep] = field(default_factory=list)
    final: bool = False


def _role_titles(compiled: CompiledWorkflow, roles: Sequence[str]) -> str:
    titles = []
    for role in roles:
        spec = compiled.definition.roles.get(role)
        titles.append(tr(spec.title.as_dict()) if spec is not None and spec.title else role)
    return ", ".join(dict.fromkeys(titles))


def kind_of(compiled: CompiledWorkflow, dest: str) -> str:
    """primary (forward on the main path), secondary (a step aside) or destructive (ends the proposal)."""
    state = compiled.states.get(dest)
    if state is not None and state.final and dest != MAIN_PATH[-1][0]:
        return "destructive"
    return "secondary" if dest in SIDE_STATES else "primary"


def forward_rules(compiled: CompiledWorkflow, state: str) -> list[Any]:
    return [rule for rules in compiled.rules_from.get(state, {}).values() for rule in rules
            if kind_of(compiled, rule.dest) == "primary"]


def stepper(compiled: CompiledWorkflow, state: str, events: Sequence[Any]) -> list[StepperStep]:
    """The main path's steps present in this lifecycle; a final state off the path marks the step it left."""
    steps = [group for group in MAIN_PATH if any(s in compiled.states for s in group)]
    where = state
    if state in compiled.finals and not any(state in g for g in steps):
        where = next((e.from_state for e in reversed(events) if e.to_state == state and e.from_state), state)
    current = next((i for i, group in enumerate(steps) if where in group), 0)
    out = []
    for i, group in enumerate(steps):
        name = next(s for s in group if s in compiled.states)
        status = "done" if i < current or (i == current and state == MAIN_PATH[-1][0]) else (
            "current" if i == current else "todo")
        out.append(StepperStep(compiled.title_of(name, _lang()), status))
    return out


def _lang() -> str:
    from app.i18n import lang

    return lang()


def latest_reason(events: Sequence[Any], names: dict[str, str], compiled: CompiledWorkflow) -> LatestReason | None:
    """The last return, refusal or stop with its reason: what the applicant must read first."""
    for event in reversed(events):
        if event.action in REASONED_TRIGGERS and event.outcome == "applied":
            inputs = event.inputs or {}
            text = inputs.get("reason") or inputs.get("comment") or event.comment or ""
            rule = next((r for r in compiled.rules if r.trigger == event.action), None)
            title = tr(rule.title) if rule else event.action
            return LatestReason(title, str(text), event.occurred_at, names.get(event.actor_id or "", ""))
    return None


def _checklist(proposal: Any) -> list[Check]:
    have = proposal.attachment_kinds()
    checks = [Check(tr(DOSSIER_KINDS.get(k, (k, k))), k in have, "document") for k in DEFAULT_DOSSIER]
    checks += [Check(tr(label), bool(getattr(proposal, name, None)), "field") for name, label in CHECKED_FIELDS]
    return checks


def _action_button(proposal: Any, action: Action, kind: str) -> Button:
    label = tr(action.title)
    confirm = tr(("Thao tác này kết thúc hồ sơ và không hoàn tác được. Tiếp tục?",
                  "This ends the proposal and cannot be undone. Continue?")) if kind == "destructive" else ""
    return Button(label, url_for("proposals.action", pid=proposal.id, trigger=action.trigger),
                  f"action-{action.trigger}", confirm)


def _stage_tasks(session: Session, proposal: Any, actor: Actor, user: Any, compiled: CompiledWorkflow,
                 stage: dict[str, Any] | None) -> list[Button]:
    """The domain actions (council, implementation) that move the proposal along without changing its state."""
    from app.common.rules import may  # late: the stage services import app.proposals
    from app.council import services as council
    from app.implementation import services as implementation

    tasks: list[Button] = []
    detail = url_for("proposals.detail", pid=proposal.id)
    state, council_def = council.council_of(proposal)
    if council_def is not None and proposal.wf_state == state:
        if may(proposal, actor, "assign_council_member"):
            result = council.council_result(session, proposal)
            have = len(result.rows) if result else 0
            tasks.append(Button(tr((f"Phân công hội đồng thẩm định (đã có {have}/{council_def.min_members})",
                                    f"Assign the appraisal council ({have} of {council_def.min_members})")),
                                detail + "#council", "next-assign-council"))
        if may(proposal, actor, "confirm_priority") and proposal.priority_confirmed_at is None:
            tasks.append(Button(tr(("Xác nhận đối tượng ưu tiên", "Confirm the priority flags")),
                                detail + "#priority", "next-confirm-priority"))
        member = council.membership(session, proposal.id, user.id)
        if member is not None and not member.recused and member.id not in council.current_sheets(session,
                                                                                                  proposal.id):
            tasks.append(Button(tr(("Chấm điểm đề án", "Score this proposal")),
                                url_for("council.review", pid=proposal.id), "next-score"))
    if proposal.wf_state == "implementing":
        if may(proposal, actor, "report_progress"):
            tasks.append(Button(tr(("Báo cáo tiến độ", "Report progress")), detail + "#progress-form",
                                "next-report-progress"))
        if may(proposal, actor, "confirm_progress") and any(
                p.confirmed_at is None for p in (stage or {}).get("progress", [])):
            tasks.append(Button(tr(("Xác nhận báo cáo tiến độ", "Confirm the progress report")),
                                detail + "#progress-table", "next-confirm-progress"))
        if may(proposal, actor, "record_advance"):
            tasks.append(Button(tr(("Ghi nhận tạm ứng", "Record an advance")), detail + "#advance-form",
                                "next-record-advance"))
        missing = [k for k in implementation.acceptance_kinds_required(proposal)
                   if k not in proposal.attachment_kinds()]
        if missing and may(proposal, actor, "report_progress"):  # the applicant uploads the records
            names = ", ".join(tr(ACCEPTANCE_KINDS.get(k, (k, k))) for k in missing)
            tasks.append(Button(tr((f"Tải lên hồ sơ nghiệm thu: {names}", f"Upload the acceptance records: {names}")),
                                detail + "#upload-form", "next-upload-acceptance"))
    if proposal.wf_state == "settled" and may(proposal, actor, "record_indicator"):
        missing_indicators = [i for i, v in (stage or {}).get("indicators", []) if v is None or v.actual is None]
        if missing_indicators:
            tasks.append(Button(tr(("Ghi nhận chỉ số đánh giá", "Record the evaluation indicators")),
                                detail + "#indicator-form", "next-record-indicator"))
    return tasks


def next_step(session: Session, proposal: Any, user: Any, compiled: CompiledWorkflow, allowed: Sequence[Action],
              events: Sequence[Any], names: dict[str, str], *, editable: bool,
              stage: dict[str, Any] | None = None) -> NextStep:
    """The panel's content for this user: one pass over what the page has already loaded, plus the stage rules."""
    actor = user.actor()
    state = proposal.wf_state
    spec = compiled.states[state]
    due = due_date(proposal.wf_entered_at, spec.deadline)
    forward = forward_rules(compiled, state)
    who_roles = [r for rule in forward for r in rule.roles] or list(spec.editable_by) or [
        r for rules in compiled.rules_from.get(state, {}).values() for rule in rules for r in rule.roles]
    panel = NextStep(needed="", by_whom=_role_titles(compiled, who_roles), due=due,
                     overdue=due is not None and due < today(), final=state in compiled.finals,
                     reason=latest_reason(events, names, compiled), stepper=stepper(compiled, state, events))
    for action in allowed:
        kind = kind_of(compiled, action.target)
        getattr(panel, kind).append(_action_button(proposal, action, kind))
    tasks = _stage_tasks(session, proposal, actor, user, compiled, stage)
    panel.primary[:0] = tasks  # the work of the stage comes before concluding it
    if editable:
        panel.checklist = _checklist(proposal)
        if any(not c.done for c in panel.checklist if c.kind == "document"):
            panel.primary.insert(0, Button(tr(("Tải lên tài liệu còn thiếu", "Upload the missing documents")),
                                           url_for("proposals.detail", pid=proposal.id) + "#upload-form",
                                           "next-upload-dossier"))
        panel.secondary.insert(0, Button(tr(("Sửa thông tin đề án", "Edit the proposal")),
                                         url_for("proposals.edit", pid=proposal.id), "action-edit"))
    if panel.final:
        panel.needed = tr(("Hồ sơ đã kết thúc; không còn việc gì phải làm.",
                           "The proposal is closed; nothing is left to do."))
        panel.by_whom, panel.due, panel.overdue = "", None, False
        return panel
    forward_titles = ", ".join(dict.fromkeys(tr(rule.title) for rule in forward))
    if panel.primary:
        panel.needed = tr(("Bạn cần: ", "Your turn: ")) + ", ".join(b.label for b in panel.primary)
    else:
        panel.needed = tr(("Đang chờ: ", "Waiting for: ")) + (forward_titles or compiled.title_of(state, _lang()))
    mine = {rule.trigger for rule in forward if set(rule.roles) & actor.roles}
    for trigger in sorted(mine - {a.trigger for a in allowed}):
        explanation = compiled.explain(proposal, actor, trigger, session=session)
        panel.blockers += [tr(r.message) for r in explanation.reasons if tr(r.message) not in panel.blockers]
    return panel


@dataclass(frozen=True)
class WorkStep:
    """A "my work" row's next step: the forward action when the user may take it, else where to see what is
    missing (the proposal's panel), named after the forward step or the stage task."""

    label: str
    href: str
    ready: bool


def work_step(proposal: Any, compiled: CompiledWorkflow, actions: Sequence[Action], editable: bool) -> WorkStep:
    """No query: the row's allowed actions are already explained."""
    forward = [a for a in actions if kind_of(compiled, a.target) == "primary"]
    if forward:
        return WorkStep(tr(forward[0].title), url_for("proposals.action", pid=proposal.id,
                                                      trigger=forward[0].trigger), True)
    detail = url_for("proposals.detail", pid=proposal.id, _anchor="next-step")
    state = compiled.states[proposal.wf_state]
    if state.council is not None:
        return WorkStep(tr(("Hội đồng thẩm định, rồi kết luận", "Council appraisal, then conclude")), detail, False)
    if editable:
        return WorkStep(tr(("Hoàn thiện hồ sơ rồi nộp", "Complete the dossier, then submit")), detail, False)
    titles = ", ".join(dict.fromkeys(tr(r.title) for r in forward_rules(compiled, proposal.wf_state)))
    return WorkStep(titles or tr(("Xem bước tiếp theo", "See the next step")), detail, False)
