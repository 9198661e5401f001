"""Hypothesis random walks over each shipped definition with random actors and random guard facts.

The oracle reads the definition data directly (roles, scopes, sources, separate_from) and keeps its own
history of who fired what, so it checks the engine rather than asking explain the same question twice.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.definitions import Definition, InputSpec, Transition
from workflow.errors import InvalidInput, Refused
from workflow.explain import GUARD, STATE, UNKNOWN_TRIGGER
from workflow.machine import CompiledWorkflow, Instance
from workflow.permissions import Actor, Grant, Place

PLACE = Place(owner="org1", commune="c1", district="d1", province="p1")
UNITS = ["c1", "d1", "p1", "c2", "d2", "p2", None]
USERS = ["u0", "u1", "u2"]  # few ids, so the same person often comes back (separation of duties)
DOSSIER = ["business_registration", "quotes", "non_duplication"]
INDICATORS = ["jobs_created", "output_increase", "machine_in_use", "revenue_change"]


def covers(actor: Actor, grant: Grant, scope: str) -> bool:
    if scope == "own":
        return PLACE.owner in actor.owner_keys
    # Separation of duties: an officer's grant never covers their own organisation's subject.
    return grant.unit is not None and grant.unit == getattr(PLACE, scope) and PLACE.owner not in actor.owner_keys


def permitted(d: Definition, t: Transition, actor: Actor, history: dict[str, list[str]]) -> bool:
    """Role, scope and separation of duties, straight from the definition data."""
    holds = any(
        g.role == role and not d.roles[role].read_only and covers(actor, g, d.roles[role].scope)
        for role in t.roles for g in actor.grants
    )
    separated = all(actor.user_id not in history.get(earlier, ()) for earlier in t.separate_from)
    return holds and separated


def valid_input(spec: InputSpec) -> Any:
    return {"money": 1_000_000, "int": spec.min or 0, "percent": 50, "date": "2025-07-01", "bool": True,
            "choice": (spec.choices or ["?"])[0], "user_list": ["u9"]}.get(spec.type, "Ý kiến")


# Every shipped lifecycle: the local proposal's versions, the national-fund proposal and the plan round.
SHIPPED = [("khuyen-cong-local", 1), ("khuyen-cong-local", 2), ("khuyen-cong-local", 3),
           ("khuyen-cong-national", 1), ("plan-round", 1)]
PROGRAMME = {"eligibility_problem": None, "round_problem": None, "priority_confirmed_at": "2026-01-05",
             "registration_ended": True, "plan_total": 1_000_000, "decision_file_sha256": "0" * 64}
PASSING = {
    **PROGRAMME,
    "attachment_kinds": DOSSIER + ["acceptance_record"], "cap_problem": None, "budget_problem": None,
    "council_result": SimpleNamespace(assigned=5, members=5, submitted=5, average=90.0, vetoed=False),
    "acceptance_kinds_required": ["acceptance_record"], "recorded_indicators": INDICATORS,
}
RANDOM_FACTS = st.fixed_dictionaries({
    "eligibility_problem": st.none() | st.just({"vi": "Không đủ điều kiện", "en": "Not eligible"}),
    "round_problem": st.none() | st.just({"vi": "Hết hạn", "en": "Closed"}),
    "priority_confirmed_at": st.none() | st.just("2026-01-05"),
    "registration_ended": st.booleans(),
    "plan_total": st.none() | st.just(1_000_000),
    "decision_file_sha256": st.none() | st.just("0" * 64),
    "attachment_kinds": st.lists(st.sampled_from(DOSSIER + ["acceptance_record"]), unique=True),
    "cap_problem": st.none() | st.just({"vi": "Vượt trần", "en": "Over the cap"}),
    "council_result": st.none() | st.integers(3, 9).flatmap(lambda n: st.builds(
        SimpleNamespace, assigned=st.just(n), members=st.just(n), submitted=st.integers(0, n),
        average=st.floats(40, 100), vetoed=st.booleans())),
    "budget_problem": st.none() | st.just("over budget"),
    "acceptance_kinds_required": st.just(["acceptance_record"]),
    "recorded_indicators": st.lists(st.sampled_from(INDICATORS), unique=True),
})
FACTS = st.one_of(st.just(PASSING), st.just(PASSING), RANDOM_FACTS)  # mostly passing, so walks get deep
_ACTORS: dict[tuple[str, int, tuple[str, ...]], st.SearchStrategy[Actor]] = {}


def actors(d: Definition, likely: tuple[str, ...]) -> st.SearchStrategy[Actor]:
    """Random actors (0-3 grants over units in and out of scope), and, two times in three when some role
    fits, an actor holding a fitting role over the subject's unit, so that walks get deep."""
    key = (d.workflow, d.version, likely)
    if key not in _ACTORS:
        grants = st.lists(st.builds(Grant, st.sampled_from(sorted(d.roles)), st.sampled_from(UNITS)), max_size=3)
        owners = st.lists(st.sampled_from(["org1", "org2"]), unique=True).map(frozenset)
        anyone = st.builds(lambda u, g, o: Actor(u, tuple(g), o), st.sampled_from(USERS), grants, owners)
        fitting = st.builds(
            lambda u, r, g: Actor(u, (Grant(r, getattr(PLACE, d.roles[r].scope, None)), *g),
                                  frozenset({"org1"} if d.roles[r].scope == "own" else {"org2"})),
            st.sampled_from(USERS), st.sampled_from(likely or sorted(d.roles)), grants)
        _ACTORS[key] = st.one_of(fitting, fitting, anyone) if likely else anyone
    return _ACTORS[key]


WALK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("key", SHIPPED)
@WALK
@given(data=st.data())
def test_random_walk(shipped, key: tuple[str, int], data: st.DataObject):
    wf: CompiledWorkflow = shipped.get(*key)
    d = wf.definition
    subject = Instance(wf.initial, PLACE)
    history: dict[str, list[str]] = {}
    all_triggers = sorted({t.trigger for t in d.transitions}) + ["no_such_action"]

    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        before = subject.wf_state
        assert before in d.states
        here = [t for t in d.transitions if before in t.source]
        # Mostly a trigger of this state, preferably one that does not end the walk; sometimes any trigger.
        fitting = st.sampled_from(sorted({t.trigger for t in here})) if here else st.nothing()
        onward = sorted({t.trigger for t in here if not d.states[t.dest].final})
        going = st.sampled_from(onward) if onward else fitting
        trigger = data.draw(st.one_of(going, going, going, fitting, st.sampled_from(all_triggers)), label="trigger")
        candidates = [t for t in here if t.trigger == trigger]
        actor = data.draw(actors(d, tuple(sorted({r for t in candidates for r in t.roles}))), label="actor")
        for key, value in data.draw(FACTS, label="facts").items():
            setattr(subject, key, value)
        inputs = {name: valid_input(wf.input_specs[name]) for t in candidates for name in t.requires}

        for action in wf.allowed_actions(subject, actor):
            assert any(t.trigger == action.trigger and permitted(d, t, actor, history) for t in here), action

        try:
            exp, _ = wf.apply(subject, trigger, actor, inputs)
        except Refused as refused:
            # the oracle's verdict on a refusal met mid-walk (pytest.raises cannot express "may refuse")
            assert refused.reasons, "a refusal without a reason"  # noqa: PT017
            assert subject.wf_state == before
            if not candidates:
                assert {r.code for r in refused.reasons} <= {STATE, UNKNOWN_TRIGGER}  # noqa: PT017
            elif any(permitted(d, t, actor, history) for t in candidates):
                assert {r.code for r in refused.reasons} == {GUARD}  # noqa: PT017  (only guards can be left)
            continue
        except InvalidInput as exc:  # the oracle always gives valid inputs
            raise AssertionError(exc.errors) from exc

        assert not d.states[before].final, f"left final state {before}"
        assert exp.rule_index is not None
        used = d.transitions[exp.rule_index]
        assert used in candidates
        assert permitted(d, used, actor, history), f"{actor} may not fire {trigger} in {before}"
        assert subject.wf_state == used.dest and subject.wf_state in d.states
        history.setdefault(trigger, []).append(actor.user_id)
        history.setdefault(f"{trigger}@{before}", []).append(actor.user_id)  # counted per stage too
        assert subject.wf_fired_by == history

        if d.states[subject.wf_state].final:
            for t in all_triggers:
                assert not wf.explain(subject, actor, t).allowed


@pytest.mark.parametrize("key", SHIPPED)
def test_a_walk_can_reach_every_final_state(shipped, key: tuple[str, int]):
    """Guard the walk itself: with passing facts, a breadth-first search from the initial state by fitting
    actors reaches each final state, so the random walks above can too."""
    wf: CompiledWorkflow = shipped.get(*key)
    d = wf.definition
    passing = dict(**PROGRAMME, attachment_kinds=DOSSIER + ["acceptance_record"], recorded_indicators=INDICATORS,
                   acceptance_kinds_required=["acceptance_record"],
                   council_result=SimpleNamespace(assigned=5, members=5, submitted=5, average=90, vetoed=False))
    seen, frontier = {wf.initial}, [wf.initial]
    while frontier:
        state = frontier.pop()
        for t in (t for t in d.transitions if state in t.source):
            subject = Instance(state, PLACE, **passing)
            scope = d.roles[t.roles[0]].scope
            actor = Actor.of(f"fresh-{t.trigger}", [(t.roles[0], getattr(PLACE, scope, None))],
                             owner_keys=["org1"] if scope == "own" else [])
            inputs = {name: valid_input(wf.input_specs[name]) for name in t.requires}
            wf.apply(subject, t.trigger, actor, inputs)
            if subject.wf_state not in seen:
                seen.add(subject.wf_state)
                frontier.append(subject.wf_state)
    assert {n for n, s in d.states.items() if s.final} <= seen
    assert seen == set(d.states)
