"""My work: what the logged-in user can act on now, oldest first, overdue ones flagged, a page at a time.

Each kind of waiting item is one function in ``WAITING_KINDS``: given the session, the user, its own cursor
(from the query string) and a page size, it returns a :class:`WorkPage`. The proposal kind narrows in SQL to
the (workflow, version, state)s where the user's roles can do something, walks them oldest first by keyset
on (wf_entered_at, id) (the keys from the state-first index, then the rows), and explains only the rows of a
page, their attachments loaded in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, literal, select, true, tuple_
from sqlalchemy.orm import Session, selectinload

from app.access import public, requires
from app.council.services import council_results
from app.deadlines import due_date, today
from app.extensions import db_session
from app.i18n import lang
from app.implementation.evaluation import recorded_indicators_of
from app.implementation.services import progress_percents
from app.models import Proposal
from app.notifications.waiting import first_keys, in_states, waiting_items
from app.proposals.guide import work_step
from app.scoping import scope_clause
from workflow.registry import default_registry

bp = Blueprint("review", __name__, template_folder="templates")
PER_PAGE = 25
MAX_CHUNKS = 3  # rows a page looks at: at most MAX_CHUNKS * PER_PAGE, whatever the table size


@dataclass
class WorkPage:
    """A page of one kind of waiting item; ``next_cursor`` (a string for the query string) when more follow."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def actionable_states(roles: frozenset[str]) -> Any | None:
    """Proposals in a (workflow, version, state) where one of these roles has some transition or may edit; None
    when there is no such state."""
    def acting(compiled: Any) -> list[str]:
        return [state for state, triggers in compiled.rules_from.items()
                if any(role in roles for rules in triggers.values() for rule in rules for role in rule.roles)
                or roles & set(compiled.states[state].editable_by)]
    return in_states(acting)


def _parse_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    try:
        moment, _, key = (cursor or "").partition("_")
        return dt.datetime.fromisoformat(moment), int(key)
    except ValueError:
        return None  # a mangled cursor starts from the beginning


def prefetch_facts(session: Session, proposals: Sequence[Proposal]) -> None:
    """The guard facts that would cost a query per row, for all rows in one query each."""
    ids = [p.id for p in proposals]
    if not ids:
        return
    progress, indicators = progress_percents(session, ids), recorded_indicators_of(session, ids)
    councils = council_results(session, proposals)
    for p in proposals:
        p.prefetched_facts = {"progress_percent": progress[p.id], "recorded_indicators": indicators[p.id],
                              "council_result": councils[p.id]}


def _work_item(session: Session, proposal: Proposal, actor: Any, now: dt.date) -> dict[str, Any] | None:
    """The row of "my work" for a proposal the actor can act on now (an action or an edit), else None."""
    compiled = default_registry().for_subject(proposal)
    actions = compiled.allowed_actions(proposal, actor, session=session)
    editable = compiled.explain_edit(proposal, actor).allowed
    if not (actions or editable):
        return None
    due = due_date(proposal.wf_entered_at, compiled.states[proposal.wf_state].deadline)
    return {"proposal": proposal, "actions": actions, "editable": editable, "due": due,
            "next": work_step(proposal, compiled, actions, editable), "overdue": due is not None and due < now,
            "state_title": compiled.title_of(proposal.wf_state, lang())}


def proposal_work(session: Session, user: Any, cursor: str | None, per_page: int = PER_PAGE) -> WorkPage:
    actor = user.actor()
    acting = actionable_states(actor.roles)
    if acting is None:
        return WorkPage()
    where = and_(acting, scope_clause(user))
    order = (Proposal.wf_entered_at, Proposal.id)
    now, page = today(), WorkPage()
    after = _parse_cursor(cursor)
    # a page's rows, then (when too few could be acted on) twice as many: MAX_CHUNKS * per_page rows at most
    for size in (per_page, (MAX_CHUNKS - 1) * per_page):
        beyond = tuple_(*order) > tuple_(*(literal(v, c.type) for v, c in zip(after, order, strict=True))) \
            if after else true()
        rows = session.scalars(select(Proposal).where(Proposal.id.in_(first_keys(and_(where, beyond), size)))
                               .options(selectinload(Proposal.attachments)).order_by(*order)).all()
        prefetch_facts(session, rows)
        for proposal in rows:
            after = (proposal.wf_entered_at, proposal.id)
            if (item := _work_item(session, proposal, actor, now)) is not None:
                page.items.append(item)
            if len(page.items) == per_page:
                break
        if len(rows) < size:
            return page  # nothing further to look at
        if len(page.items) == per_page:
            break
    assert after is not None
    page.next_cursor = f"{after[0].isoformat()}_{after[1]}"
    return page


# One entry per kind of waiting item: (name, function). Other modules append theirs.
WAITING_KINDS: list[tuple[str, Callable[[Session, Any, str | None], WorkPage]]] = [("proposals", proposal_work)]


def my_work_pages(user: Any, cursors: dict[str, str]) -> dict[str, WorkPage]:
    session = db_session()
    return {name: kind(session, user, cursors.get(name)) for name, kind in WAITING_KINDS}


@bp.route("/")
@public
def home() -> Any:
    return redirect(url_for("review.my_work") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/my-work")
@requires("logged_in")
def my_work() -> Any:
    cursors = {name: request.args.get(name, "")[:64] for name, _kind in WAITING_KINDS}
    pages = my_work_pages(current_user, cursors)
    return render_template("review/my_work.html", items=pages["proposals"].items, pages=pages, cursors=cursors,
                           waiting=waiting_items(db_session(), current_user))
