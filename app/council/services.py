"""The appraisal council declared on a state: membership, recusal, score sheets and the result.

Score arithmetic: a sheet's score is its points scaled to 100 (each criterion weighs its maximum points); the
council's average is the mean of the current sheets of non-recused members plus the bonus points of every flag
the proposal has (definitions before v3 only), at most 100, rounded half-up to 2 decimals. Exact (Fraction)
until the final rounding.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from app.common.rules import clean, compiled_for, explain_action, msg
from app.models.stages import CouncilMember, ScoreSheet
from app.models.users import User
from workflow import operations
from workflow.definitions import Council, InputSpec
from workflow.errors import InvalidInput
from workflow.explain import ROLE, SEPARATION, Reason
from workflow.permissions import Actor
from workflow.storage import utcnow

MEMBER_ROLE = "council_member"
RECUSAL_KINDS = {"conflict": msg("Xung đột lợi ích", "Conflict of interest"),
                 "recusal": msg("Tự từ chối tham gia", "Recusal")}


def council_of(proposal: Any) -> tuple[str, Council] | tuple[None, None]:
    """The state that declares the council in the proposal's definition, and the council."""
    for name, state in compiled_for(proposal).states.items():
        if state.council is not None:
            return name, state.council
    return None, None


# --- arithmetic ---------------------------------------------------------------------------------------------

def sheet_score(council: Council, points: Mapping[str, int]) -> Fraction:
    """Points scaled to 100: sum(points) * 100 / sum(max points)."""
    top = sum(c.max_points for c in council.criteria)
    return Fraction(sum(points.get(c.key, 0) for c in council.criteria) * 100, top)


def bonus_points(council: Council, proposal: Any) -> int:
    return sum(b.points for b in council.bonuses if getattr(proposal, b.flag, False))


def average_score(council: Council, sheets: Iterable[Mapping[str, int]], bonus: int) -> Decimal | None:
    scores = [sheet_score(council, s) for s in sheets]
    if not scores:
        return None
    # Priority is not score points from v3 on (no bonuses); older definitions' bonuses never lift it past 100.
    exact = min(sum(scores, Fraction(0)) / len(scores) + bonus, Fraction(100))
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class CouncilResult:
    """The ``council_result`` fact: what the quorum, score and veto guards read."""

    assigned: int  # every member ever assigned, recused ones included: the council's size
    members: int  # members without a conflict or recusal
    submitted: int  # current sheets of those members
    average: Decimal | None
    bonus: int
    vetoed: bool
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def member_user_ids(self) -> frozenset[str]:
        """Everyone who sits or sat on the council (recused too), as actor ids: the engine refuses them the
        council's conclusion (workflow.machine, separation of duties)."""
        return frozenset(str(r["member"].user_id) for r in self.rows)

    @property
    def former_user_ids(self) -> frozenset[str]:
        """Whoever assigned a member of the council, as actor ids (the ``not_council_former`` guard)."""
        return frozenset(str(r["member"].assigned_by_id) for r in self.rows if r["member"].assigned_by_id)


def members_of(session: Session, proposal_id: int) -> list[CouncilMember]:
    return list(session.scalars(select(CouncilMember).where(CouncilMember.proposal_id == proposal_id)
                                .order_by(CouncilMember.id)))


def current_sheets(session: Session, proposal_id: int) -> dict[int, ScoreSheet]:
    """member id -> that member's latest sheet version."""
    latest = (select(ScoreSheet.member_id, func.max(ScoreSheet.version).label("v"))
              .where(ScoreSheet.proposal_id == proposal_id).group_by(ScoreSheet.member_id).subquery())
    rows = session.scalars(select(ScoreSheet).join(latest, (ScoreSheet.member_id == latest.c.member_id)
                                                   & (ScoreSheet.version == latest.c.v)))
    return {s.member_id: s for s in rows}


def council_result(session: Session, proposal: Any) -> CouncilResult | None:
    return council_results(session, [proposal])[proposal.id]


def council_results(session: Session, proposals: Iterable[Any]) -> dict[int, CouncilResult | None]:
    """:func:`council_result` of many proposals: members and latest sheets in one query each."""
    councils = {p.id: (p, council_of(p)[1]) for p in proposals}
    ids = [pid for pid, (_p, council) in councils.items() if council is not None]
    members: dict[int, list[CouncilMember]] = {pid: [] for pid in ids}
    sheets: dict[int, dict[int, ScoreSheet]] = {pid: {} for pid in ids}
    if ids:
        for member in session.scalars(select(CouncilMember).where(CouncilMember.proposal_id.in_(ids))
                                      .order_by(CouncilMember.id)):
            members[member.proposal_id].append(member)
        latest = (select(ScoreSheet.proposal_id, ScoreSheet.member_id, func.max(ScoreSheet.version).label("v"))
                  .where(ScoreSheet.proposal_id.in_(ids)).group_by(ScoreSheet.proposal_id, ScoreSheet.member_id)
                  .subquery())
        for sheet in session.scalars(select(ScoreSheet).join(latest, (ScoreSheet.proposal_id == latest.c.proposal_id)
                                     & (ScoreSheet.member_id == latest.c.member_id)
                                     & (ScoreSheet.version == latest.c.v))):
            sheets[sheet.proposal_id][sheet.member_id] = sheet
    return {pid: _result(p, council, members[pid], sheets[pid]) if council is not None else None
            for pid, (p, council) in councils.items()}


def _result(proposal: Any, council: Council, members: list[CouncilMember],
            sheets: dict[int, ScoreSheet]) -> CouncilResult:
    counted = [sheets[m.id] for m in members if not m.recused and m.id in sheets]
    bonus = bonus_points(council, proposal)
    rows = [{"member": m, "sheet": sheets.get(m.id),
             "score": sheet_score(council, sheets[m.id].points) if m.id in sheets else None} for m in members]
    return CouncilResult(
        assigned=len(members),
        members=sum(1 for m in members if not m.recused),
        submitted=len(counted),
        average=average_score(council, (s.points for s in counted), bonus),
        bonus=bonus,
        vetoed=council.veto and any(s.not_eligible for s in counted),
        rows=rows,
    )


# --- conflicts ------------------------------------------------------------------------------------------------

def conflict_with(user: User, proposal: Any) -> dict[str, str] | None:
    """Why ``user`` may not appraise ``proposal``: their own organisation or their own district/commune."""
    if user.organisation_id is not None and user.organisation_id == proposal.organisation_id:
        return msg(f"{user.full_name or user.username} thuộc chính tổ chức đề nghị",
                   f"{user.full_name or user.username} belongs to the applicant organisation")
    local = {proposal.district_code, proposal.commune_code} - {None}
    if any(g.unit_code in local for g in user.grants):
        return msg(f"{user.full_name or user.username} công tác tại địa bàn của đề án",
                   f"{user.full_name or user.username} works in the proposal's own district or commune")
    return None


def membership(session: Session, proposal_id: int, user_id: int) -> CouncilMember | None:
    return session.scalar(select(CouncilMember).where(CouncilMember.proposal_id == proposal_id,
                                                      CouncilMember.user_id == user_id))


def _user(session: Session, actor: Actor) -> User:
    return session.get_one(User, int(actor.user_id))


# --- actions ---------------------------------------------------------------------------------------------

def assign_member(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                  expected_version: int | None = None, request_id: str | None = None) -> Any:
    """A centre officer adds a council member; refused when the member has a conflict with the proposal. Who
    forms the council never sits on it: the definition declares it (``not_council_former``, ``members_may_not``)."""
    user_id = operations.action_inputs(session, proposal, actor, "assign_council_member", inputs,
                                       request_id=request_id)["user_id"]
    user = session.get(User, user_id)
    if user is None or MEMBER_ROLE not in user.roles:
        raise InvalidInput({"user_id": msg("Người dùng không có vai trò thành viên hội đồng",
                                           "The user does not hold the council member role")})

    def problems() -> list[Reason | dict[str, str]]:
        found: list[Reason | dict[str, str]] = []
        if membership(session, proposal.id, user_id) is not None:
            found.append(msg("Người này đã là thành viên hội đồng của đề án",
                             "This user is already on the proposal's council"))
        conflict = conflict_with(user, proposal)
        if conflict is not None:
            found.append(Reason(SEPARATION, conflict, "council_member"))
        return found

    def apply() -> dict[str, Any]:
        session.add(CouncilMember(proposal_id=proposal.id, user_id=user_id, assigned_by_id=int(actor.user_id)))
        session.flush()
        return {"member": user_id, "member_name": user.full_name or user.username}

    return operations.act(
        session, proposal, actor, "assign_council_member",
        check=lambda: explain_action(proposal, actor, "assign_council_member", problems,
                                     inputs={"user_id": user_id}),
        apply=apply, inputs={"user_id": user_id}, expected_version=expected_version, request_id=request_id)


def _member_problems(session: Session, proposal: Any, actor: Actor) -> list[Reason | dict[str, str]]:
    member = membership(session, proposal.id, int(actor.user_id))
    if member is None:
        return [Reason(ROLE, msg("Bạn không phải thành viên hội đồng của đề án này",
                                 "You are not on this proposal's council"), MEMBER_ROLE)]
    if member.recused:
        return [Reason(SEPARATION, msg("Bạn đã từ chối tham gia (xung đột lợi ích) nên không được chấm điểm",
                                       "You recused yourself (conflict of interest) and may not score"),
                       MEMBER_ROLE)]
    conflict = conflict_with(_user(session, actor), proposal)
    return [Reason(SEPARATION, conflict, MEMBER_ROLE)] if conflict else []


def recuse(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
           expected_version: int | None = None, request_id: str | None = None) -> Any:
    """A member declares a conflict of interest or recuses; their sheets stop counting."""
    action = "declare_conflict" if inputs.get("kind") == "conflict" else "recuse"
    cleaned = operations.action_inputs(session, proposal, actor, action, inputs, request_id=request_id)

    def problems() -> list[Reason | dict[str, str]]:
        member = membership(session, proposal.id, int(actor.user_id))
        if member is None:
            return [Reason(ROLE, msg("Bạn không phải thành viên hội đồng của đề án này",
                                     "You are not on this proposal's council"), MEMBER_ROLE)]
        if member.recused:
            return [msg("Bạn đã từ chối tham gia trước đó", "You have already recused yourself")]
        return []

    def apply() -> dict[str, Any]:
        member = membership(session, proposal.id, int(actor.user_id))
        assert member is not None
        member.recused, member.recusal_kind, member.recusal_reason = True, cleaned["kind"], cleaned["reason"]
        member.recused_at = utcnow()
        session.flush()
        return {"member": member.user_id, "kind": cleaned["kind"]}

    return operations.act(
        session, proposal, actor, action,
        check=lambda: explain_action(proposal, actor, action, problems),
        apply=apply, inputs=cleaned, expected_version=expected_version, request_id=request_id)


def clean_sheet(council: Council, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Points for every criterion within 0..max, a comment, and the veto flag when the council allows it."""
    raw = inputs.get("points")
    points_in = raw if isinstance(raw, Mapping) else {
        c.key: inputs.get(f"points_{c.key}", inputs.get(c.key)) for c in council.criteria}
    specs = {c.key: InputSpec(type="int", min=0, max=c.max_points) for c in council.criteria}
    errors: dict[str, dict[str, str]] = {}
    unknown = set(points_in) - set(specs)
    if unknown:
        errors["points"] = msg("Tiêu chí không có trong hội đồng: " + ", ".join(sorted(unknown)),
                               "Criteria not in the council: " + ", ".join(sorted(unknown)))
    try:
        points = clean(points_in, specs)
    except InvalidInput as exc:
        points = {}
        errors.update({f"points.{k}": v for k, v in exc.errors.items()})
    try:
        rest = clean(inputs, {"comment": InputSpec(type="text"), "not_eligible": InputSpec(type="bool")},
                     optional=["comment", "not_eligible"])
    except InvalidInput as exc:
        rest = {}
        errors.update(exc.errors)
    if rest.get("not_eligible") and not council.veto:
        errors["not_eligible"] = msg("Hội đồng này không có quyền phủ quyết", "This council has no veto")
    if errors:
        raise InvalidInput(errors)
    return {"points": points, "comment": rest.get("comment", ""), "not_eligible": bool(rest.get("not_eligible"))}


def submit_sheet(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                 expected_version: int | None = None, request_id: str | None = None) -> Any:
    """A member's score sheet; a second submission is a new version, the old ones are kept."""
    member = membership(session, proposal.id, int(actor.user_id))
    has_sheet = member is not None and member.id in current_sheets(session, proposal.id)
    action = "replace_score_sheet" if has_sheet else "submit_score_sheet"
    with contextlib.suppress(InvalidInput):  # clean_sheet reports these with the points' errors
        operations.action_inputs(session, proposal, actor, action, inputs, request_id=request_id)
    _, council = council_of(proposal)
    if council is None:
        raise InvalidInput({"points": msg("Quy trình này không có hội đồng thẩm định",
                                          "This workflow has no appraisal council")})
    sheet = clean_sheet(council, inputs)

    # The event carries a commitment to the sheet, not its points: an HMAC keyed with a random salt kept only
    # in the sheet row, so the few possible point combinations cannot be tried against what the history shows.
    salt = secrets.token_hex(32)
    commitment = sheet_commitment(sheet, salt)

    def apply() -> dict[str, Any]:
        assert member is not None
        previous = current_sheets(session, proposal.id).get(member.id)  # read under the subject's lock
        version = previous.version + 1 if previous else 1
        session.add(ScoreSheet(proposal_id=proposal.id, member_id=member.id, version=version,
                               points=sheet["points"], total=sum(sheet["points"].values()),
                               comment=sheet["comment"], not_eligible=sheet["not_eligible"], salt=salt))
        session.flush()
        return {"member": member.user_id, "version": version, "sheet_hmac": commitment}

    return operations.act(
        session, proposal, actor, action,
        check=lambda: explain_action(proposal, actor, action, lambda: _member_problems(session, proposal, actor)),
        apply=apply, inputs={"sheet_hmac": commitment}, expected_version=expected_version, request_id=request_id)


def sheet_commitment(sheet: Mapping[str, Any], salt: str) -> str:
    """HMAC-SHA256, keyed with the sheet's salt, of its canonical JSON (points, comment, not_eligible)."""
    body = json.dumps({k: sheet[k] for k in ("points", "comment", "not_eligible")}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hmac.new(bytes.fromhex(salt), body.encode(), hashlib.sha256).hexdigest()


# --- what a user may see ------------------------------------------------------------------------------------

def hides_applicant(proposal: Any, user: Any) -> bool:
    """Blind review goes with the council seat: a member of a blind council never sees the applicant, whatever
    other grants they hold."""
    _, council = council_of(proposal)
    session = object_session(proposal)
    return bool(council is not None and council.blind and session is not None
                and membership(session, proposal.id, user.id) is not None)


OVERSEERS = frozenset({"centre_officer", "director", "auditor", "admin"})  # see the whole council at work
COUNCIL_ACTIONS = frozenset({"assign_council_member", "recuse", "declare_conflict", "submit_score_sheet",
                             "replace_score_sheet"})


def council_running(proposal: Any) -> bool:
    state, council = council_of(proposal)
    return council is not None and proposal.wf_state == state


def oversees(session: Session, proposal: Any, user: Any) -> bool:
    """Officers, directors, auditors and admins see the whole council at work, unless they sit on it."""
    return bool(user.roles & OVERSEERS) and membership(session, proposal.id, user.id) is None


def visible_events(proposal: Any, user: Any, events: Iterable[Any]) -> list[Any]:
    """The history as ``user`` may read it: while the council runs, whoever does not oversee it (the
    applicant, the members) sees none of its events but their own: no sheet commitments, no member names."""
    session = object_session(proposal)
    if not council_running(proposal) or (session is not None and oversees(session, proposal, user)):
        return list(events)
    me = str(user.id)
    return [e for e in events if e.action not in COUNCIL_ACTIONS or e.actor_id == me]


def hides_member_names(session: Session, proposal: Any, user: Any) -> bool:
    """While appraisal runs, only overseers and the council's own members see who sits on it."""
    return (council_running(proposal) and not user.roles & OVERSEERS
            and membership(session, proposal.id, user.id) is None)


def may_see_sheets(session: Session, proposal: Any, user: Any) -> bool:
    """A member of the council sees the others' sheets only after submitting their own (whatever other grants
    they hold); officers, directors, auditors and admins see every sheet; the applicant none."""
    member = membership(session, proposal.id, user.id)
    if member is not None:
        return member.id in current_sheets(session, proposal.id)
    return bool(user.roles & OVERSEERS)
