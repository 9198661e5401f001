"""What waits on a user besides workflow transitions, for "Việc của tôi": council scoring tasks, change requests to
decide, advances that may be paid, and completed progress to confirm by acceptance.

Each kind is one set-based query (correlated subqueries, no per-proposal round trip), scoped with the same
``scope_clause`` as every list, limited to ``limit`` rows; the result is plain rows for the template. Every kind
walks only the rows in its states (:func:`in_states`, :func:`first_rows`): the state-first index of migration
0018 holds the scope's columns, so a query reads the rows it returns and no others, whatever the table size.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.deadlines import due_date
from app.i18n import lang
from app.implementation.services import ADVANCE_SHARE_PERCENT, MACHINERY_PROGRESS_PERCENT
from app.models import Advance, ChangeRequest, CouncilMember, Funding, ProgressReport, Proposal, ScoreSheet
from app.scoping import scope_clause
from workflow.registry import default_registry

LIMIT = 50
Step = tuple[str, str]
NEXT_STEPS: dict[str, Step] = {
    "council_scoring": ("Chấm điểm hội đồng", "Score as council member"),
    "change_to_decide": ("Quyết định đề nghị điều chỉnh", "Decide the change request"),
    "advance_to_pay": ("Có thể tạm ứng", "An advance may be paid"),
    "progress_to_confirm": ("Tiến độ 100%: nghiệm thu", "Progress at 100%: accept the results"),
}


def _holds(user: Any, roles: tuple[str, ...] | list[str]) -> bool:
    return bool({g.role for g in user.grants} & set(roles))


def _action_states(user: Any, action: str) -> Any | None:
    """Proposals in a (workflow, version, state) where the definitions let one of the user's roles take ``action``
    (None as :func:`in_states`)."""
    return in_states(lambda c: c.action_rules[action].sources
                     if action in c.action_rules and _holds(user, list(c.action_rules[action].roles)) else ())


def in_states(pick: Any) -> Any | None:
    """Proposals in the states ``pick(compiled)`` names, per (workflow, version); None when it names none (no
    query to run). The conditions are led by one ``wf_state IN`` over all of them, which the state-first index
    answers."""
    conditions, every = [], set()
    for c in default_registry():
        if names := sorted(set(pick(c))):
            every.update(names)
            conditions.append(and_(Proposal.wf_workflow == c.workflow, Proposal.wf_workflow_version == c.version,
                                   Proposal.wf_state.in_(names)))
    return and_(Proposal.wf_state.in_(sorted(every)), or_(*conditions)) if conditions else None


def first_keys(where: Any, limit: int, order: tuple[Any, ...] = (Proposal.wf_entered_at, Proposal.id)) -> Any:
    """The ids of the first ``limit`` proposals matching ``where`` (led by :func:`in_states`) in ``order``: a walk of
    the state-first index, the scope checked in the index."""
    return select(Proposal.id).where(where).order_by(*order).limit(limit).correlate(None)


def first_rows(session: Session, where: Any, limit: int) -> list[Proposal]:
    """The first ``limit`` proposals matching ``where``, longest in their state first: their keys from the index,
    then only those rows."""
    order = (Proposal.wf_entered_at, Proposal.id)
    return list(session.scalars(select(Proposal).where(Proposal.id.in_(first_keys(where, limit, order)))
                                .order_by(*order)))


def _latest_progress() -> Any:
    return (select(ProgressReport.percent).where(ProgressReport.proposal_id == Proposal.id)
            .order_by(ProgressReport.period.desc(), ProgressReport.id.desc()).limit(1).scalar_subquery())


def council_scoring(session: Session, user: Any, limit: int = LIMIT) -> list[Proposal]:
    """Proposals in their council state where the user is an assigned member with no score sheet yet."""
    council_states = in_states(lambda c: [n for n, s in c.states.items() if s.council is not None])
    if council_states is None:
        return []
    stmt = (select(Proposal).join(CouncilMember, and_(CouncilMember.proposal_id == Proposal.id,
                                                      CouncilMember.user_id == user.id,
                                                      CouncilMember.recused.is_(False)))
            .where(council_states, ~exists().where(ScoreSheet.member_id == CouncilMember.id))
            .order_by(Proposal.wf_entered_at, Proposal.id).limit(limit))  # from the user's few seats
    return list(session.scalars(stmt))


def changes_to_decide(session: Session, user: Any, limit: int = LIMIT) -> list[Proposal]:
    decidable = _action_states(user, "approve_change")
    if decidable is None:
        return []
    pending = exists().where(ChangeRequest.proposal_id == Proposal.id, ChangeRequest.status == "pending")
    return first_rows(session, and_(decidable, scope_clause(user), pending), limit)


def advances_to_pay(session: Session, user: Any, limit: int = LIMIT) -> list[Proposal]:
    """Running proposals with advance room left (machinery: once progress passed the threshold)."""
    payable = _action_states(user, "record_advance")
    if payable is None:
        return []
    advanced = (select(func.coalesce(func.sum(Advance.amount), 0)).where(Advance.proposal_id == Proposal.id)
                .scalar_subquery())
    approved = select(Funding.approved_amount).where(Funding.proposal_id == Proposal.id).scalar_subquery()
    return first_rows(session, and_(payable, scope_clause(user),
                                    advanced < approved * ADVANCE_SHARE_PERCENT / 100,
                                    or_(Proposal.category != "machinery",
                                        func.coalesce(_latest_progress(), 0) > MACHINERY_PROGRESS_PERCENT)), limit)


def progress_to_confirm(session: Session, user: Any, limit: int = LIMIT) -> list[Proposal]:
    """Proposals whose latest progress report says 100%, waiting for the acceptance (``accept``)."""
    accept_states = in_states(lambda c: [s for r in c.rules if r.trigger == "accept" and _holds(user, list(r.roles))
                                         for s in r.sources])
    if accept_states is None:
        return []
    return first_rows(session, and_(accept_states, scope_clause(user), _latest_progress() >= 100), limit)


def waiting_items(session: Session, user: Any) -> list[dict[str, Any]]:
    """Every kind, as rows for the "my work" page: proposal, kind, next step, link, due date."""
    registry = default_registry()
    items = []
    for kind, rows, endpoint in (("council_scoring", council_scoring(session, user), "/council/proposals/"),
                                 ("change_to_decide", changes_to_decide(session, user), "/proposals/"),
                                 ("advance_to_pay", advances_to_pay(session, user), "/proposals/"),
                                 ("progress_to_confirm", progress_to_confirm(session, user), "/proposals/")):
        for p in rows:
            compiled = registry.for_subject(p)
            items.append({"kind": kind, "proposal": p, "next_step": NEXT_STEPS[kind], "link": f"{endpoint}{p.id}",
                          "state_title": compiled.title_of(p.wf_state, lang()),
                          "due": due_date(p.wf_entered_at, compiled.states[p.wf_state].deadline)})
    return items
