"""One compiled ``transitions`` machine per (workflow, version), shared by every subject.

The machine is built once at load time with ``auto_transitions=False``. Subjects are never added to it as
models. Lookup tables derived from the machine answer "what may this actor do here" and "where does this rule
take it" without touching the machine on the hot path (tests/engine/test_machine_table.py runs the machine on
every (state, trigger, rule) of every shipped definition and compares).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from workflow import guards as guard_registry
from workflow.definitions import Definition, InputSpec, LoadedDefinition, State, Text
from workflow.errors import Conflict, Refused
from workflow.explain import (
    EDIT,
    READ_ONLY,
    ROLE,
    SCOPE,
    SEPARATION,
    STATE,
    UNKNOWN_TRIGGER,
    Action,
    Explanation,
    Reason,
)
from workflow.guards import Guard, GuardContext
from workflow.inputs import BUILTIN_INPUTS, clean_inputs
from workflow.permissions import Actor, Grant, Place, acts_on_own, covering_grants, grant_covers

STATE_ATTRIBUTE = "wf_state"


def place_of(subject: Any) -> Place:
    place = getattr(subject, "wf_place", None)
    if callable(place):
        place = place()
    return place if isinstance(place, Place) else Place()


def fired_by(subject: Any) -> Mapping[str, list[str]]:
    return getattr(subject, "wf_fired_by", None) or {}


@dataclass(frozen=True)
class BoundGuard:
    guard: Guard
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """A compiled transition: one (trigger, sources, dest) with its roles, guards and inputs."""

    index: int
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: Mapping[str, str]  # role -> scope, writable roles only
    guards: tuple[BoundGuard, ...]
    requires: tuple[str, ...]
    separate_from: tuple[str, ...]
    title: dict[str, str]


SCOPE_VI = {"own": "của mình", "commune": "xã", "district": "huyện", "province": "tỉnh"}


class CompiledWorkflow:
    """A verified definition compiled into a machine plus per-state lookup tables."""

    def __init__(self, loaded: LoadedDefinition):
        d = loaded.definition
        self.loaded = loaded
        self.definition: Definition = d
        self.workflow, self.version, self.sha256 = d.workflow, d.version, loaded.sha256
        self.key = (d.workflow, d.version)
        self.states: Mapping[str, State] = d.states
        self.initial = next(name for name, s in d.states.items() if s.initial)
        self.finals = frozenset(name for name, s in d.states.items() if s.final)
        self.input_specs: dict[str, InputSpec] = {**BUILTIN_INPUTS, **d.inputs}
        self.rules: tuple[Rule, ...] = tuple(self._compile_rule(i) for i in range(len(d.transitions)))
        self.triggers = frozenset(r.trigger for r in self.rules)
        # Domain actions (``actions:``) compile to rules that stay in their state: one explain for both.
        self.action_rules: dict[str, Rule] = {name: self._compile(-1, name, a.states, "", a.roles, a.guards,
                                                                  a.input_names(), a.separate_from, a.title)
                                              for name, a in d.actions.items()}
        # action -> its inputs' specs: its own, else the definition's (or a built-in) of that name
        self.action_inputs: dict[str, dict[str, InputSpec]] = {
            name: {i: a.own_inputs().get(i) or self.input_specs[i] for i in a.input_names()}
            for name, a in d.actions.items()}
        self.machine = self._build_machine()
        # (source, trigger, rule index) -> the state the machine's transition for it leads to
        self.moves: dict[tuple[str, str, int], str] = {}
        self.rules_from = self._index_from_machine()

    # --- compilation ----------------------------------------------------------------------------------------

    def _compile_rule(self, index: int) -> Rule:
        t = self.definition.transitions[index]
        return self._compile(index, t.trigger, t.source, t.dest, t.roles, t.guards, t.requires, t.separate_from,
                             t.title)

    def _compile(self, index: int, trigger: str, sources: Any, dest: str, role_names: Any, guard_refs: Any,
                 requires: Any, separate_from: Any, title: Text | None) -> Rule:
        roles = {r: self.definition.roles[r].scope for r in role_names if not self.definition.roles[r].read_only}
        bound = []
        for ref in guard_refs:
            g = guard_registry.get(ref.name)
            assert g is not None, f"unverified definition: unknown guard {ref.name}"
            params, errors = g.bind(ref)
            assert not errors, errors
            bound.append(BoundGuard(g, params))
        shown = (title or Text(vi=trigger, en=trigger.replace("_", " "))).as_dict()
        return Rule(index, trigger, tuple(sources), dest, roles, tuple(bound), tuple(requires),
                    tuple(separate_from), shown)

    def _build_machine(self) -> Machine:
        def takes(rule_index: int) -> Any:
            # Explain has already chosen the rule; the machine takes exactly that one.
            return lambda event: event.kwargs.get("rule_index") == rule_index

        return Machine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            transitions=[
                {"trigger": r.trigger, "source": list(r.sources), "dest": r.dest, "conditions": [takes(r.index)]}
                for r in self.rules
            ],
            auto_transitions=False,
            send_event=True,
            model_attribute=STATE_ATTRIBUTE,
            name=f"{self.workflow}:{self.version}",
        )

    def _index_from_machine(self) -> dict[str, dict[str, tuple[Rule, ...]]]:
        """state -> trigger -> candidate rules, in the order the compiled machine tries them.

        The machine holds one transition per (rule, source) in definition order, so its list for a
        (trigger, source) lines up with the rules of that pair, even when two rules share a target.
        """
        pairs: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        for rule in self.rules:
            for source in rule.sources:
                pairs[(rule.trigger, source)].append(rule)
        by_state: dict[str, dict[str, tuple[Rule, ...]]] = {s: {} for s in self.states}
        for trigger, event in self.machine.events.items():
            for source, transitions in event.transitions.items():
                rules = pairs[(trigger, source)]
                assert [t.dest for t in transitions] == [r.dest for r in rules], (trigger, source)
                by_state[source][trigger] = tuple(rules)
                for transition, rule in zip(transitions, rules, strict=True):
                    assert transition.dest is not None, (trigger, source)  # no internal transitions are compiled
                    self.moves[(source, trigger, rule.index)] = transition.dest
        return by_state

    # --- questions ------------------------------------------------------------------------------------------

    def title_of(self, state: str, lang: str = "vi") -> str:
        s = self.states.get(state)
        return s.title.get(lang) if s is not None and s.title is not None else state

    def _role_titles(self, rule: Rule, lang: str) -> str:
        titles = [self.definition.roles[r].title for r in rule.roles]
        return ", ".join(t.get(lang) if t else r for r, t in zip(rule.roles, titles, strict=True))

    def explain(self, subject: Any, actor: Actor, trigger: str, *, session: Any = None,
                inputs: Mapping[str, Any] | None = None) -> Explanation:
        """Allowed or not, with every reason for a refusal."""
        state = getattr(subject, STATE_ATTRIBUTE)
        rules = self.rules_from.get(state, {}).get(trigger)
        if not rules:
            if trigger not in self.triggers:
                reason = Reason(UNKNOWN_TRIGGER, {"vi": f"Không có thao tác '{trigger}'",
                                                  "en": f"There is no action '{trigger}'"}, trigger)
            else:
                reason = Reason(STATE, {
                    "vi": f"Không thể '{trigger}' khi đề án ở trạng thái '{self.title_of(state, 'vi')}'",
                    "en": f"'{trigger}' is not possible in state '{self.title_of(state, 'en')}'",
                }, state)
            return Explanation(trigger, state, False, [reason])
        place = place_of(subject)
        reasons: list[Reason] = []
        ctx = GuardContext(subject, actor, inputs or {}, session, self.states[state], self)
        for rule in rules:
            grant, rule_reasons = self._check_rule(rule, subject, actor, place, ctx)
            if not rule_reasons:
                return Explanation(trigger, state, True, [], rule.dest, rule.requires, grant, rule.index)
            reasons.extend(r for r in rule_reasons if r not in reasons)
        return Explanation(trigger, state, False, reasons, requires=rules[0].requires)

    def explain_action(self, subject: Any, actor: Actor, action: str, *, session: Any = None,
                       inputs: Mapping[str, Any] | None = None) -> Explanation:
        """A declared domain action (``actions:``), explained like a transition that stays in its state: the
        same reasons (state, role, scope, own organisation, separate_from, guards) and the same messages."""
        state = getattr(subject, STATE_ATTRIBUTE)
        rule = self.action_rules.get(action)
        if rule is None:
            return Explanation(action, state, False, [Reason(UNKNOWN_TRIGGER, {
                "vi": f"Không có thao tác '{action}'", "en": f"There is no action '{action}'"}, action)])
        if state not in rule.sources:
            shown = {lang: ", ".join(self.title_of(s, lang) for s in rule.sources) for lang in ("vi", "en")}
            return Explanation(action, state, False, [Reason(STATE, {
                "vi": f"Không thể '{rule.title['vi']}' khi đề án ở trạng thái '{self.title_of(state, 'vi')}' "
                      f"(cần: {shown['vi']})",
                "en": f"'{rule.title['en']}' is not possible in state '{self.title_of(state, 'en')}' "
                      f"(needs: {shown['en']})",
            }, state)])
        ctx = GuardContext(subject, actor, inputs or {}, session, self.states[state], self)
        grant, reasons = self._check_rule(rule, subject, actor, place_of(subject), ctx)
        return Explanation(action, state, not reasons, reasons, state, rule.requires, grant)

    def _check_rule(self, rule: Rule, subject: Any, actor: Actor, place: Place,
                    ctx: GuardContext) -> tuple[Grant | None, list[Reason]]:
        reasons: list[Reason] = []
        grant = None
        holding = [g for g in actor.grants if g.role in rule.roles]
        if not holding:
            names = ", ".join(rule.roles)
            read_only = [g.role for g in actor.grants if g.role in self.definition.roles
                         and self.definition.roles[g.role].read_only]
            if read_only and len(read_only) == len(actor.grants):
                reasons.append(Reason(READ_ONLY, {"vi": "Vai trò chỉ được xem, không được thao tác",
                                                  "en": "A read-only role cannot act"}, read_only[0]))
            else:
                reasons.append(Reason(ROLE, {"vi": f"Cần vai trò: {self._role_titles(rule, 'vi')}",
                                             "en": f"Needs the role: {self._role_titles(rule, 'en')}"}, names))
        else:
            covering = covering_grants(actor, rule.roles, place)
            if not covering and any(grant_covers(actor, g, rule.roles[g.role], place)
                                    and acts_on_own(actor, rule.roles[g.role], place) for g in holding):
                reasons.append(Reason(SEPARATION, {
                    "vi": "Không được xử lý đề án của chính tổ chức mình (chỉ được thao tác với tư cách người nộp)",
                    "en": "You may not act on your own organisation's proposal except as its applicant",
                }, "own_organisation"))
            elif not covering:
                scopes = sorted({rule.roles[g.role] for g in holding})
                reasons.append(Reason(SCOPE, {
                    "vi": f"Đề án nằm ngoài phạm vi phụ trách của bạn ({', '.join(SCOPE_VI[s] for s in scopes)})",
                    "en": f"The proposal is outside your scope ({', '.join(scopes)})",
                }, ", ".join(scopes)))
            else:
                grant = covering[0]
        history = fired_by(subject)
        for earlier in rule.separate_from:
            if actor.user_id in history.get(earlier, ()):
                reasons.append(Reason(SEPARATION, {
                    "vi": f"Người đã thực hiện '{earlier}' không được thực hiện '{rule.trigger}'",
                    "en": f"Whoever did '{earlier}' may not also do '{rule.trigger}'",
                }, earlier))
        if self._sits_on_council(rule, holding, ctx):
            reasons.append(Reason(SEPARATION, {
                "vi": "Thành viên hội đồng thẩm định không được tự kết luận hội đồng của mình",
                "en": "A member of the appraisal council may not record its conclusion",
            } if rule.index >= 0 else {
                "vi": f"Thành viên hội đồng thẩm định không được '{rule.title['vi']}'",
                "en": f"A member of the appraisal council may not '{rule.title['en']}'",
            }, "council_member"))
        for bound in rule.guards:
            failure = bound.guard.evaluate(ctx, bound.params)
            if failure is not None:
                reasons.append(Reason(bound.guard.reason, failure, bound.guard.name))
        return grant, reasons

    @staticmethod
    def _sits_on_council(rule: Rule, holding: list[Grant], ctx: GuardContext) -> bool:
        """Separation of duties: what the council declares its members may not do (``members_may_not``: e.g. form
        it, confirm priority, conclude it), else leaving its state (shortlist, reject, return) through an
        officer's grant. The members come from the subject's ``council_result`` fact (the one the council guards
        read)."""
        if ctx.state is None or ctx.state.council is None or ctx.actor is None:
            return False
        declared = ctx.state.council.members_may_not
        if declared is not None:
            if rule.trigger not in declared:
                return False
        elif rule.index < 0 or all(rule.roles[g.role] == "own" for g in holding):
            return False  # the applicant side (withdraw) concludes nothing
        members = getattr(ctx.fact("council_result"), "member_user_ids", None) or ()
        return ctx.actor.user_id in members

    def allowed_actions(self, subject: Any, actor: Actor, *, session: Any = None) -> list[Action]:
        """The triggers this actor may fire now, each with its target and required inputs."""
        triggers = self.rules_from.get(getattr(subject, STATE_ATTRIBUTE), {})
        roles = actor.roles
        out = []
        for trigger, rules in triggers.items():
            if not any(role in roles for rule in rules for role in rule.roles):
                continue  # cheap filter before scope, separation and guards
            exp = self.explain(subject, actor, trigger, session=session)
            if exp.allowed:
                rule = self.rules[exp.rule_index] if exp.rule_index is not None else rules[0]
                out.append(Action(trigger, rule.dest, rule.requires, rule.title))
        return out

    def explain_edit(self, subject: Any, actor: Actor) -> Explanation:
        """May the actor edit the subject's fields in its current state?"""
        state_name = getattr(subject, STATE_ATTRIBUTE)
        state = self.states.get(state_name)
        editors = {r: self.definition.roles[r].scope for r in (state.editable_by if state else [])}
        covering = covering_grants(actor, editors, place_of(subject))
        if covering:
            return Explanation("edit", state_name, True, grant=covering[0], target=state_name)
        return Explanation("edit", state_name, False, [Reason(EDIT, {
            "vi": f"Không được sửa đề án ở trạng thái '{self.title_of(state_name, 'vi')}'",
            "en": f"You may not edit the proposal in state '{self.title_of(state_name, 'en')}'",
        }, state_name)])

    def editable_fields(self, state: str) -> list[str] | None:
        s = self.states.get(state)
        return s.editable_fields if s is not None else None

    # --- in-memory application (tests, previews); the persistent path is workflow.operations.fire ----------

    def apply(self, subject: Any, trigger: str, actor: Actor, inputs: Mapping[str, Any] | None = None,
              *, session: Any = None) -> tuple[Explanation, dict[str, Any]]:
        """Check and move ``subject`` in memory. Returns the explanation and the cleaned inputs."""
        exp = self.explain(subject, actor, trigger, session=session, inputs=inputs)
        if not exp.allowed:
            raise Refused(exp)
        cleaned = clean_inputs(exp.requires, self.input_specs, inputs)
        self.move(subject, exp, actor)
        return exp, cleaned

    def step(self, subject: Any, exp: Explanation, actor: Actor) -> Step:
        """The state and trigger history an allowed explanation moves the subject to: where the machine's
        transition for the chosen rule from the subject's state leads (``moves``, read from the machine when
        compiled, rather than running it per fire). The subject itself is untouched: the caller stores it."""
        source = subject.wf_state
        dest = self.moves.get((source, exp.trigger, exp.rule_index)) if exp.rule_index is not None else None
        if dest is None:  # explained in another state than the subject's now
            raise Conflict({"vi": "Trạng thái đề án đã thay đổi", "en": "The proposal's state has changed"})
        fired = {k: list(v) for k, v in fired_by(subject).items()}
        fired.setdefault(exp.trigger, []).append(actor.user_id)
        # also per source state, so a guard can count a trigger per stage (max_times with ``state``)
        fired.setdefault(f"{exp.trigger}@{source}", []).append(actor.user_id)
        return Step(dest, fired)

    def move(self, subject: Any, exp: Explanation, actor: Actor) -> None:
        """:meth:`step`, then set the subject's state and trigger history (the in-memory path)."""
        step = self.step(subject, exp, actor)
        subject.wf_state, subject.wf_fired_by = step.wf_state, step.wf_fired_by


@dataclass
class Step:
    """Where a trigger takes a subject: the machine's model for one move."""

    wf_state: str
    wf_fired_by: dict[str, list[str]]


class Instance:
    """A plain in-memory subject for tests, previews and benchmarks."""

    def __init__(self, state: str, place: Place | None = None, **facts: Any):
        self.wf_state = state
        self.wf_place = place or Place()
        self.wf_fired_by: dict[str, list[str]] = {}
        for key, value in facts.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"<Instance {self.wf_state}>"
