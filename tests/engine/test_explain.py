"""explain / allowed_actions / apply / explain_edit on the shipped definitions, and v2's migration map."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from workflow.definitions import load_text
from workflow.errors import InvalidInput, Refused
from workflow.explain import EDIT, GUARD, READ_ONLY, ROLE, SCOPE, SEPARATION, STATE, UNKNOWN_TRIGGER
from workflow.guards import GuardContext, get
from workflow.machine import CompiledWorkflow, Instance
from workflow.permissions import Actor, Place

PLACE = Place(owner="org1", commune="c1", district="d1", province="p1")
DOSSIER = ["business_registration", "quotes", "non_duplication"]

applicant = Actor.of("u-app", [("applicant", None)], owner_keys=["org1"])
stranger = Actor.of("u-other", [("applicant", None)], owner_keys=["org2"])
district = Actor.of("u-dist", [("district_officer", "d1")])
other_district = Actor.of("u-dist2", [("district_officer", "d2")])
centre = Actor.of("u-centre", [("centre_officer", "p1")])
director = Actor.of("u-dir", [("director", "p1")])
auditor = Actor.of("u-aud", [("auditor", "p1")])


def council(average: float = 82.0, members: int = 5, submitted: int = 5, vetoed: bool = False) -> SimpleNamespace:
    return SimpleNamespace(assigned=members, members=members, submitted=submitted, average=average, vetoed=vetoed)


def proposal(state: str, **facts: object) -> Instance:
    return Instance(state, PLACE, **facts)


def codes(exp) -> list[str]:
    return [r.code for r in exp.reasons]


# --- explain: each kind of reason, in both languages ---------------------------------------------------------

@pytest.mark.parametrize(("state", "actor", "trigger", "code", "vi", "en"), [
    ("draft", district, "forward", STATE, "'Dự thảo'", "'Draft'"),
    ("draft", applicant, "teleport", UNKNOWN_TRIGGER, "'teleport'", "'teleport'"),
    ("district_review", applicant, "forward", ROLE, "Cần vai trò: Cán bộ Phòng Kinh tế huyện",
     "Needs the role: District officer"),
    ("district_review", auditor, "forward", READ_ONLY, "chỉ được xem", "read-only"),
    ("district_review", other_district, "forward", SCOPE, "phạm vi phụ trách của bạn (huyện)",
     "outside your scope (district)"),
], ids=["state", "unknown_trigger", "role", "read_only", "scope"])
def test_refusal_reason_in_both_languages(v1: CompiledWorkflow, state, actor, trigger, code, vi, en):
    exp = v1.explain(proposal(state), actor, trigger)
    assert not exp.allowed and codes(exp) == [code]
    assert vi in exp.reasons[0].text("vi") and en in exp.reasons[0].text("en")


def test_role_reason_names_the_role(v1: CompiledWorkflow):
    assert v1.explain(proposal("district_review"), applicant, "forward").reasons[0].subject == "district_officer"
    assert v1.explain(proposal("district_review"), district, "forward").allowed


def test_own_scope_is_by_owner(v1: CompiledWorkflow):
    p = proposal("draft", attachment_kinds=DOSSIER)
    assert v1.explain(p, applicant, "submit").allowed
    assert codes(v1.explain(p, stranger, "submit")) == [SCOPE]


def test_separation_of_duties(v1: CompiledWorkflow):
    p = proposal("shortlisted")
    p.wf_fired_by = {"forward": ["u-dist"], "shortlist": ["u-dir"]}
    exp = v1.explain(p, director, "approve_funding")
    assert codes(exp) == [SEPARATION] and exp.reasons[0].subject == "shortlist"
    assert "'shortlist'" in exp.reasons[0].text("vi") and "'shortlist'" in exp.reasons[0].text("en")
    other_director = Actor.of("u-dir2", [("director", "p1")])
    assert v1.explain(p, other_director, "approve_funding").allowed


def test_failing_guard_gives_its_own_message(v1: CompiledWorkflow):
    exp = v1.explain(proposal("draft", attachment_kinds=["quotes"]), applicant, "submit")
    assert codes(exp) == [GUARD] and exp.reasons[0].subject == "dossier_complete"
    assert exp.reasons[0].text("vi") == "Hồ sơ còn thiếu: business_registration, non_duplication"
    assert exp.reasons[0].text("en") == "The dossier is missing: business_registration, non_duplication"


def test_every_reason_is_given_at_once(v1: CompiledWorkflow):
    p = proposal("provincial_appraisal", council_result=council(average=60, vetoed=True))
    exp = v1.explain(p, district, "shortlist")
    assert codes(exp) == [ROLE, GUARD, GUARD]
    assert [r.subject for r in exp.reasons[1:]] == ["min_average_score", "no_veto"]
    assert "60.0" in exp.reasons[1].text("vi") and "below 70" in exp.reasons[1].text("en")


def test_refused_carries_the_explanation(v1: CompiledWorkflow):
    with pytest.raises(Refused) as exc:
        v1.apply(proposal("draft"), "forward", district)
    assert exc.value.kind == "state" and exc.value.reasons


# --- allowed_actions -----------------------------------------------------------------------------------------

def test_allowed_actions_with_requirements(v1: CompiledWorkflow):
    p = proposal("provincial_appraisal", council_result=council())
    actions = {a.trigger: a for a in v1.allowed_actions(p, centre)}
    assert set(actions) == {"return_for_revision", "shortlist", "reject"}
    assert actions["shortlist"].target == "shortlisted" and actions["shortlist"].requires == ("comment",)
    assert actions["reject"].requires == ("reason",)
    assert actions["shortlist"].title == {"vi": "Kết luận đạt", "en": "Pass appraisal"}


def test_allowed_actions_drop_what_guards_refuse(v1: CompiledWorkflow):
    p = proposal("provincial_appraisal", council_result=council(average=50))
    assert {a.trigger for a in v1.allowed_actions(p, centre)} == {"return_for_revision", "reject"}
    assert v1.allowed_actions(p, district) == []
    assert v1.allowed_actions(p, auditor) == []


def test_allowed_actions_in_a_final_state_are_empty(v1: CompiledWorkflow):
    for actor in (applicant, district, centre, director, auditor):
        assert v1.allowed_actions(proposal("evaluated"), actor) == []


# --- apply ---------------------------------------------------------------------------------------------------

def test_apply_moves_and_records_who_fired(v1: CompiledWorkflow):
    p = proposal("draft", attachment_kinds=DOSSIER)
    exp, cleaned = v1.apply(p, "submit", applicant)
    assert (exp.target, p.wf_state, cleaned) == ("district_review", "district_review", {})
    exp, cleaned = v1.apply(p, "forward", district, {"comment": "  Đủ điều kiện  "})
    assert p.wf_state == "provincial_appraisal" and cleaned == {"comment": "Đủ điều kiện"}
    assert p.wf_fired_by == {"submit": ["u-app"], "submit@draft": ["u-app"], "forward": ["u-dist"],
                           "forward@district_review": ["u-dist"]}


def test_apply_cleans_money_and_dates(v1: CompiledWorkflow):
    p = proposal("shortlisted")
    _, cleaned = v1.apply(p, "approve_funding", director, {
        "approved_amount": "197.000.000 đ", "decision_number": "123/QĐ-UBND", "decision_date": "15/03/2021"})
    assert cleaned["approved_amount"] == 197_000_000
    assert str(cleaned["decision_date"]) == "2021-03-15"
    assert p.wf_state == "funded"


def test_apply_refuses_bad_inputs_without_moving(v1: CompiledWorkflow):
    p = proposal("settled", recorded_indicators=["jobs_created", "output_increase", "machine_in_use",
                                                 "revenue_change"])
    with pytest.raises(InvalidInput) as exc:
        v1.apply(p, "evaluate", centre, {"evaluation_score": "7.5", "comment": ""})
    assert set(exc.value.errors) == {"evaluation_score", "comment"}
    assert p.wf_state == "settled"


def test_max_times_limits_revision_loops(v1: CompiledWorkflow):
    p = proposal("draft", attachment_kinds=DOSSIER)
    for _ in range(2):
        v1.apply(p, "submit", applicant)
        v1.apply(p, "return_for_revision", district, {"comment": "Bổ sung báo giá"})
    v1.apply(p, "submit", applicant)
    exp = v1.explain(p, district, "return_for_revision")
    assert codes(exp) == [GUARD] and exp.reasons[0].subject == "max_times"
    assert "2" in exp.reasons[0].text("vi")


# --- editing -------------------------------------------------------------------------------------------------

def test_explain_edit(v1: CompiledWorkflow):
    assert v1.explain_edit(proposal("draft"), applicant).allowed
    assert not v1.explain_edit(proposal("draft"), stranger).allowed
    exp = v1.explain_edit(proposal("district_review"), applicant)
    assert codes(exp) == [EDIT] and "Huyện thẩm tra" in exp.reasons[0].text("vi")


# --- versions ------------------------------------------------------------------------------------------------

def test_v2_maps_every_v1_state(v1: CompiledWorkflow, v2: CompiledWorkflow):
    mf = v2.definition.migrates_from
    assert mf is not None and mf.version == 1
    moved = {s: mf.states.get(s, s) for s in v1.states}
    assert moved["district_review"] == "local_review"
    assert all(target in v2.states for target in moved.values())
    assert v1.sha256 != v2.sha256


def test_v2_local_review_is_by_the_commune(v2: CompiledWorkflow):
    p = proposal("local_review")
    assert v2.explain(p, Actor.of("u-c", [("commune_officer", "c1")]), "forward").allowed
    assert codes(v2.explain(p, Actor.of("u-c", [("commune_officer", "c9")]), "forward")) == [SCOPE]
    assert codes(v2.explain(p, district, "forward")) == [ROLE]


def test_min_progress_means_strictly_above():
    g = get("min_progress")
    assert g is not None
    assert g.evaluate(GuardContext(Instance("x", progress_percent=71)), {"percent": 70}) is None
    failure = g.evaluate(GuardContext(Instance("x", progress_percent=70)), {"percent": 70})
    assert failure == {"vi": "Tiến độ báo cáo chưa vượt 70%", "en": "Reported progress is not above 70%"}


def test_rules_sharing_trigger_source_and_target_are_all_tried():
    """Two ways to the same target (by role, or by another role with a guard): neither hides the other."""
    loaded = load_text("""
workflow: demo
version: 1
title: {vi: "Thử"}
roles:
  officer: {scope: district}
  director: {scope: province}
states:
  review: {initial: true}
  done: {final: true}
transitions:
  - {trigger: close, from: review, to: done, roles: [officer], guards: [{min_progress: 50}]}
  - {trigger: close, from: review, to: done, roles: [director]}
""")
    wf = CompiledWorkflow(loaded)
    officer = Actor.of("u-off", [("officer", "d1")])
    assert wf.explain(proposal("review", progress_percent=60), officer, "close").allowed
    assert wf.explain(proposal("review"), director, "close").allowed
    exp = wf.explain(proposal("review", progress_percent=10), officer, "close")
    assert codes(exp) == [GUARD, ROLE]
    p = proposal("review")
    wf.apply(p, "close", director)
    assert p.wf_state == "done"


# --- domain actions declared in the definitions --------------------------------------------------------------

def test_shipped_actions_carry_their_own_input_specs_and_optional_ones(v1: CompiledWorkflow):
    specs = v1.action_inputs["record_advance"]
    assert (specs["amount"].type, specs["amount"].min, specs["amount"].optional) == ("money", 1, False)
    assert specs["paid_on"].optional and specs["note"].optional
    assert v1.action_rules["record_advance"].requires == ("amount", "paid_on", "note")
    assert v1.action_inputs["attach"]["kind"].choices == DOSSIER + ["other"]


def test_council_members_may_not_take_what_the_council_declares(v1: CompiledWorkflow):
    seated = SimpleNamespace(member_user_ids=frozenset({"u-centre"}), former_user_ids=frozenset())
    in_appraisal = proposal("provincial_appraisal", council_result=seated)
    for action in ("assign_council_member", "confirm_priority"):
        assert codes(v1.explain_action(in_appraisal, centre, action)) == [SEPARATION]
    other = Actor.of("u-centre2", [("centre_officer", "p1")])
    assert v1.explain_action(in_appraisal, other, "assign_council_member").allowed
    member = Actor.of("u-centre", [("council_member", "p1")])  # scoring is not on the list
    assert v1.explain_action(in_appraisal, member, "submit_score_sheet").allowed


def test_not_council_former_reads_the_member_given():
    formed = SimpleNamespace(member_user_ids=frozenset({"u-m1"}), former_user_ids=frozenset({"u-former"}))
    guard = get("not_council_former")
    assert guard is not None
    ctx = GuardContext(proposal("provincial_appraisal", council_result=formed), centre, {"user_id": "u-centre"})
    assert "may not sit on it" in guard.evaluate(ctx, {"member": "user_id"})["en"]
    ctx = GuardContext(proposal("provincial_appraisal", council_result=formed), centre, {"user_id": "u-former"})
    assert "helped form" in guard.evaluate(ctx, {"member": "user_id"})["en"]
    ctx = GuardContext(proposal("provincial_appraisal", council_result=formed), centre, {"user_id": "u-m2"})
    assert guard.evaluate(ctx, {"member": "user_id"}) is None
    assert guard.reason == SEPARATION  # a refusal of who, not of what was given: 403
