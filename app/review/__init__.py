"""My work: what the logged-in user can act on now, oldest first, overdue ones flagged."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import and_, or_

from app.access import public, requires
from app.extensions import db_session
from app.i18n import lang
from app.models import Proposal
from app.review.deadlines import due_date, today
from app.scoping import visible_proposals
from workflow.registry import default_registry

bp = Blueprint("review", __name__)


def actionable_states(roles: frozenset[str]) -> list[Any]:
    """(workflow, version, state) conditions where one of these roles has some transition."""
    conditions = []
    for compiled in default_registry():
        states = [state for state, triggers in compiled.rules_from.items()
                  if any(role in roles for rules in triggers.values() for rule in rules for role in rule.roles)
                  or roles & set(compiled.states[state].editable_by)]
        if states:
            conditions.append(and_(Proposal.wf_workflow == compiled.workflow,
                                   Proposal.wf_workflow_version == compiled.version,
                                   Proposal.wf_state.in_(states)))
    return conditions


def my_work_items(user: Any) -> list[dict[str, Any]]:
    session = db_session()
    actor = user.actor()
    conditions = actionable_states(actor.roles)
    if not conditions:
        return []
    stmt = visible_proposals(user).where(or_(*conditions)).order_by(Proposal.wf_entered_at, Proposal.id)
    items, now = [], today()
    registry = default_registry()
    for proposal in session.scalars(stmt):
        compiled = registry.for_subject(proposal)
        actions = compiled.allowed_actions(proposal, actor, session=session)
        editable = compiled.explain_edit(proposal, actor).allowed
        if not actions and not editable:
            continue
        due = due_date(proposal.wf_entered_at, compiled.states[proposal.wf_state].deadline)
        items.append({"proposal": proposal, "actions": actions, "editable": editable, "due": due,
                      "overdue": due is not None and due < now,
                      "state_title": compiled.title_of(proposal.wf_state, lang())})
    return items


@bp.route("/")
@public
def home() -> Any:
    return redirect(url_for("review.my_work") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/my-work")
@requires("logged_in")
def my_work() -> Any:
    from app.notifications.waiting import waiting_items

    return render_template("review/my_work.html", items=my_work_items(current_user),
                           waiting=waiting_items(db_session(), current_user))
