"""Every web form with bad input, through real HTTP on a Vietnamese page: 422 with the same page (never the
dead-end error page), the typed values kept, the message beside the field (aria-invalid, aria-describedby), a
summary linking to the field, and not one English word in the error output."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import PROVINCE, csrf_token, login
from sqlalchemy import func, select

from app.implementation import evaluation
from app.models import (
    Advance,
    BudgetEnvelope,
    ChangeRequest,
    CouncilMember,
    IndicatorValue,
    PlanRound,
    ProgressReport,
    ScoreSheet,
    Unit,
    User,
)

KEPT = "giữ nguyên chữ đã gõ"  # typed into a free-text field of every form; must come back
# Words of WTForms' and our English messages; none is Vietnamese.
ENGLISH = re.compile(r"\b(this|field|required|must|number|between|invalid|not a|enter|cannot|longer|the|is)\b",
                     re.IGNORECASE)


@dataclass
class Case:
    user: str  # the person posting: a key of ``people`` or "admin"
    stage: str  # draft, appraisal, member (assigned council member), implementing, none
    page: str  # where the form is, {pid} filled in
    action: str  # where it posts
    data: dict[str, str]
    field: str  # the element id whose message must be in place
    model: Any = None  # nothing of this kind may be stored
    kept: tuple[str, ...] | None = None  # the inputs whose typed text must come back (default: all)


CASES = {
    "progress": Case("applicant", "implementing", "/proposals/{pid}", "/implementation/{pid}/progress",
                     {"period": "2026/13", "percent": "150", "note": KEPT}, "progress-value", ProgressReport),
    "advance": Case("officer", "implementing", "/proposals/{pid}", "/implementation/{pid}/advances",
                    {"amount": "nhiều", "paid_on": "31/02/2026", "note": KEPT}, "advance-amount", Advance),
    "change": Case("applicant", "implementing", "/proposals/{pid}", "/implementation/{pid}/changes",
                   {"kind": "amount", "value": "mười triệu", "reason": KEPT}, "change-value", ChangeRequest),
    "indicator": Case("officer", "implementing", "/proposals/{pid}", "/implementation/{pid}/indicators",
                      {"key": "{indicator}", "target": KEPT, "actual": "có lẽ"}, "indicator-actual", IndicatorValue),
    "assign": Case("officer", "appraisal", "/proposals/{pid}", "/council/proposals/{pid}/members",
                   {"user_id": "không phải số"}, "assign-user", CouncilMember, kept=()),
    "priority": Case("officer", "appraisal_unconfirmed", "/proposals/{pid}", "/implementation/{pid}/priority",
                     {"priority_region": "có lẽ", "priority_sector": "false"}, "priority-region", kept=()),
    "sheet": Case("member", "member", "/council/proposals/{pid}", "/council/proposals/{pid}/sheets",
                  {"points_capacity": "999", "points_links": "-1", "comment": KEPT}, "points-capacity", ScoreSheet),
    "recusal": Case("member", "member", "/council/proposals/{pid}", "/council/proposals/{pid}/recusal",
                    {"kind": "", "reason": KEPT}, "recusal-kind", kept=("reason",)),
    "upload": Case("applicant", "draft", "/proposals/{pid}", "/proposals/{pid}/attachments",
                   {"kind": "quotes"}, "file"),
    "proposal": Case("applicant", "none", "/proposals/new", "/proposals/new",
                     {"title": "T" * 501, "objectives": KEPT, "year": "1999", "total_cost": "nhiều"}, "title"),
    "edit": Case("applicant", "draft", "/proposals/{pid}/edit", "/proposals/{pid}/edit",
                 {"title": "", "objectives": KEPT, "duration_months": "99"}, "title"),
    "action": Case("director", "shortlisted", "/proposals/{pid}/actions/approve_funding",
                   "/proposals/{pid}/actions/approve_funding",
                   {"approved_amount": "x", "decision_number": KEPT, "decision_date": "32/13/2026"},
                   "approved_amount"),
    "round": Case("officer", "none", "/rounds/", "/rounds/",
                  {"fund": "local", "plan_year": "năm sau", "opens_on": "hôm nay", "closes_on": "",
                   "note": KEPT}, "round-year", PlanRound),
    "envelope": Case("officer", "none", "/funding/envelopes", "/funding/envelopes",
                     {"fund": KEPT, "year": "1800", "amount": "0"}, "envelope-year", BudgetEnvelope),
    "user": Case("admin", "none", "/admin/users", "/admin/users",
                 {"username": "Tên Sai!", "full_name": KEPT, "organisation_id": "0", "language": "vi",
                  "password": ""}, "username", User, kept=("username", "full_name")),
    "commune": Case("admin", "none", "/admin/units", "/admin/units",
                    {"code": "12", "name": KEPT, "district_code": ""}, "code", Unit),
    "successor": Case("admin", "none", "/admin/reform", "/admin/reform/successors",
                      {"old_code": "1", "new_code": KEPT}, "old_code"),
    "password": Case("officer", "none", "/account/password", "/account/password",
                     {"current": "", "password": KEPT, "confirm": "khác"}, "current", kept=()),
}


def _count(db: Any, model: Any) -> int:
    n = db.scalar(select(func.count()).select_from(model))
    db.commit()
    return n


@pytest.fixture
def setup(db: Any, people: Any, walk: Any, make_proposal: Any, make_user: Any) -> Callable[[Case], dict[str, Any]]:
    def prepare(case: Case) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if case.stage == "draft":
            values["pid"] = make_proposal(people.applicant).id
        elif case.stage in ("appraisal", "appraisal_unconfirmed"):
            proposal = walk.to_appraisal(make_proposal(people.applicant),
                                         confirm_priority=case.stage == "appraisal")
            values["pid"] = proposal.id
        elif case.stage == "member":
            proposal = walk.to_appraisal(make_proposal(people.applicant))
            walk.assign(proposal, people.members[:1])
            values["pid"] = proposal.id
        elif case.stage == "shortlisted":
            proposal = walk.to_shortlist(make_proposal(people.applicant))
            walk.envelope()
            values["pid"] = proposal.id
        elif case.stage == "implementing":
            proposal = walk.to_implementing(make_proposal(people.applicant))
            values["pid"] = proposal.id
            values["indicator"] = evaluation.declared_indicators(proposal)[0].key
        users = {"applicant": people.applicant, "officer": people.officer, "director": people.director,
                 "member": people.members[0]}
        values["username"] = (make_user("quan_tri", "admin", unit_code=PROVINCE) if case.user == "admin"
                              else users[case.user]).username
        db.commit()
        return values

    return prepare


def _errors_text(body: str) -> str:
    """The text of the messages and the summary, tags stripped."""
    parts = re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', body, re.S)
    parts += re.findall(r'<div class="error-summary".*?</div>', body, re.S)
    parts += re.findall(r'<div class="flash error"[^>]*>(.*?)</div>', body, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(parts)))


@pytest.mark.parametrize("name", list(CASES))
def test_a_refused_form_comes_back_with_its_values_and_messages_in_vietnamese(
        name: str, client: Any, db: Any, setup: Callable[[Case], dict[str, Any]]) -> None:
    case = CASES[name]
    values = setup(case)
    before = _count(db, case.model) if case.model is not None else None
    login(client, values["username"])
    page = case.page.format(**values)
    data = {k: v.format(**values) for k, v in case.data.items()}
    answer = client.post(case.action.format(**values), data={**data, "csrf_token": csrf_token(client, page)})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422, body[:2000]
    assert 'id="error-422"' not in body  # the form's own page, not the error page
    text = html.unescape(body)
    for key in case.kept if case.kept is not None else data:  # a password is never sent back
        assert data[key] in text, f"{name}: the typed value {data[key][:40]!r} of {key} is lost"
    element = re.search(rf'<[^>]+\bid="{case.field}"[^>]*>', body)
    assert element, f"{name}: no element #{case.field}"
    assert 'aria-invalid="true"' in element.group(0), element.group(0)
    assert f'aria-describedby="{case.field}-error"' in element.group(0) or \
        re.search(rf'aria-describedby="[^"]*{case.field}-error', element.group(0))
    assert f'id="{case.field}-error"' in body
    assert f'href="#{case.field}"' in body  # the summary links to the field
    errors = _errors_text(body)
    assert errors.strip(), f"{name}: no message shown"
    english = ENGLISH.findall(errors)
    assert not english, f"{name}: English on a Vietnamese page: {english} in {errors!r}"
    if case.model is not None:
        assert _count(db, case.model) == before


def test_maxlength_no_longer_truncates_in_the_browser(client: Any, db: Any, people: Any) -> None:
    login(client, people.applicant.username)
    body = client.get("/proposals/new").get_data(as_text=True)
    assert "maxlength" not in body  # the server refuses an over-long title with a message instead


def test_a_yes_no_indicator_accepts_the_vietnamese_answer(client: Any, db: Any, people: Any, walk: Any,
                                                         make_proposal: Any) -> None:
    proposal = walk.to_implementing(make_proposal(people.applicant))
    boolean = [i for i in evaluation.declared_indicators(proposal) if i.kind == "bool"]
    if not boolean:
        pytest.skip("the definition declares no yes/no indicator")
    login(client, people.officer.username)
    page = f"/proposals/{proposal.id}"
    answer = client.post(f"/implementation/{proposal.id}/indicators",
                         data={"key": boolean[0].key, "actual": "Có", "csrf_token": csrf_token(client, page)})
    assert answer.status_code == 303, _errors_text(answer.get_data(as_text=True))
    row = db.scalar(select(IndicatorValue).where(IndicatorValue.proposal_id == proposal.id))
    assert row is not None and row.actual == 1


def test_an_advance_date_in_either_format(client: Any, db: Any, people: Any, walk: Any, make_proposal: Any) -> None:
    proposal = walk.to_implementing(make_proposal(people.applicant))
    walk.progress(proposal, 80, "2026-05")  # machinery: advances only past 70 % confirmed progress
    login(client, people.officer.username)
    page = f"/proposals/{proposal.id}"
    assert 'type="date" id="advance-date"' in client.get(page).get_data(as_text=True)
    for typed in ("2026-06-01", "02/06/2026"):
        answer = client.post(f"/implementation/{proposal.id}/advances",
                             data={"amount": "1.000.000", "paid_on": typed, "csrf_token": csrf_token(client, page)})
        assert answer.status_code == 303, _errors_text(answer.get_data(as_text=True))
    paid = sorted(a.paid_on.isoformat() for a in db.scalars(select(Advance)))
    assert paid == ["2026-06-01", "2026-06-02"]


def test_english_pages_keep_english_number_formats(client: Any, db: Any, people: Any, walk: Any,
                                                   make_proposal: Any) -> None:
    proposal = walk.to_implementing(make_proposal(people.applicant, requested_support=150_000_000,
                                                  total_cost=300_000_000, counterpart_funds=150_000_000))
    login(client, people.officer.username)
    vi = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "150.000.000 ₫" in vi and "80,00" in vi  # decimal comma, thousands dot
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, f"/proposals/{proposal.id}")})
    en = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "150,000,000 ₫" in en and "80.00" in en
