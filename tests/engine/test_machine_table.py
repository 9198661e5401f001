"""``CompiledWorkflow.step`` answers from a table read off the ``transitions`` machine at compile time instead of
running the machine per fire. Here the machine itself is run on every (state, trigger, rule) of every shipped
definition, and the table (and ``step``) must give the same answer: the same target, or no move at all."""

from __future__ import annotations

import pytest
from transitions import MachineError

from workflow.errors import Conflict
from workflow.explain import Explanation
from workflow.machine import Instance, Step
from workflow.permissions import Actor
from workflow.registry import Registry

ACTOR = Actor("u1")


def _machine_says(compiled, state: str, trigger: str, rule_index: int) -> str | None:
    """Where the compiled machine takes a subject in ``state`` for this rule; None when it does not move."""
    model = Step(state, {})
    try:
        moved = compiled.machine.events[trigger].trigger(model, rule_index=rule_index)
    except MachineError:  # no transition for the trigger from this state
        return None
    return model.wf_state if moved else None


def test_the_table_and_the_machine_agree_on_every_state_trigger_and_rule(shipped: Registry):
    checked = moves = 0
    for compiled in shipped:
        for state in compiled.states:
            for rule in compiled.rules:
                expected = _machine_says(compiled, state, rule.trigger, rule.index)
                assert compiled.moves.get((state, rule.trigger, rule.index)) == expected, (
                    compiled.key, state, rule.trigger, rule.index)
                exp = Explanation(rule.trigger, state, True, rule_index=rule.index)
                if expected is None:
                    with pytest.raises(Conflict):
                        compiled.step(Instance(state), exp, ACTOR)
                else:
                    assert compiled.step(Instance(state), exp, ACTOR).wf_state == expected
                    moves += 1
                checked += 1
    # every (rule, source) of every definition is one move the machine makes
    assert moves == sum(len(r.sources) for c in shipped for r in c.rules) > 0
    assert checked > moves


def test_step_records_who_fired_it_and_leaves_the_subject_alone(v1):
    subject = Instance("district_review")
    subject.wf_fired_by = {"submit": ["a1"]}
    rule = v1.rules_from["district_review"]["forward"][0]
    step = v1.step(subject, Explanation("forward", "district_review", True, rule_index=rule.index), Actor("o1"))
    assert step.wf_state == "provincial_appraisal"
    assert step.wf_fired_by == {"submit": ["a1"], "forward": ["o1"], "forward@district_review": ["o1"]}
    assert (subject.wf_state, subject.wf_fired_by) == ("district_review", {"submit": ["a1"]})
