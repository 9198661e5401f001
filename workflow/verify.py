"""Static verification: a definition is proven sound before any subject uses it."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workflow import guards as guard_registry
from workflow.definitions import (
    Council,
    Definition,
    DomainAction,
    LoadedDefinition,
    Reminders,
    State,
    Transition,
    iter_definition_files,
    load_file,
)
from workflow.errors import DefinitionError, Problem
from workflow.inputs import BUILTIN_INPUTS
from workflow.notices import catalogue, catalogue_problems


def _reach(start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    queue = deque(seen)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def verify(loaded: LoadedDefinition, siblings: Iterable[LoadedDefinition] = ()) -> list[Problem]:
    """Every semantic problem of one structurally valid definition. ``siblings`` are the other loaded files."""
    d = loaded.definition
    triggers = {t.trigger for t in d.transitions}
    graph = _graph(d)
    problems = [*_input_problems(loaded), *_state_problems(loaded), *_transition_problems(loaded, triggers),
                *_ambiguity_problems(loaded, graph), *_reach_problems(loaded, graph)]
    problems.extend(_verify_actions(loaded, triggers))
    problems.extend(_verify_notices(loaded))
    if d.migrates_from is not None:
        problems.extend(_verify_migration(loaded, siblings))
    return problems


@dataclass
class _Graph:
    """The transitions between defined states: where each state leads, what leads to it, and which transitions
    share a source state and trigger."""

    out_edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    in_edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_source_trigger: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))


def _graph(d: Definition) -> _Graph:
    graph = _Graph()
    for i, t in enumerate(d.transitions):
        for source in t.source:
            if source in d.states and t.dest in d.states:
                graph.out_edges[source].add(t.dest)
                graph.in_edges[t.dest].add(source)
                graph.by_source_trigger[(source, t.trigger)].append(i)
    return graph


def _input_problems(loaded: LoadedDefinition) -> Iterator[Problem]:
    for name, spec in loaded.definition.inputs.items():
        line = loaded.source.line("inputs", name)
        if spec.type == "choice" and not spec.choices:
            yield Problem(loaded.path, line, f"input '{name}' is a choice but lists no choices", code="input")
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            yield Problem(loaded.path, line, f"input '{name}': min {spec.min} is above max {spec.max}", code="input")


def _state_problems(loaded: LoadedDefinition) -> Iterator[Problem]:
    states, src = loaded.definition.states, loaded.source
    initials = [name for name, s in states.items() if s.initial]
    if len(initials) != 1:
        found = ", ".join(initials) if initials else "none"
        yield Problem(loaded.path, src.line("states"), f"there must be exactly one initial state (found: {found})",
                      code="initial")
    for name, s in states.items():
        if s.initial and s.final:
            yield Problem(loaded.path, src.line("states", name),
                          f"state '{name}' cannot be both initial and final", code="initial_final")
        yield from _editor_problems(loaded, name, s)
        if s.final and s.deadline:
            yield Problem(loaded.path, src.line("states", name, "deadline"),
                          f"final state '{name}' has a deadline that never ends", "warning", "final_deadline")
        if s.council is not None:
            yield from _council_problems(loaded, name, s.council)


def _editor_problems(loaded: LoadedDefinition, name: str, state: State) -> Iterator[Problem]:
    roles = loaded.definition.roles
    for i, role in enumerate(state.editable_by):
        line = loaded.source.line("states", name, "editable_by", i)
        if role not in roles:
            yield Problem(loaded.path, line, f"state '{name}': editable_by names undefined role '{role}'",
                          code="undefined_role")
        elif roles[role].read_only:
            yield Problem(loaded.path, line, f"state '{name}': editable_by names read-only role '{role}'",
                          code="read_only_role")


def _council_problems(loaded: LoadedDefinition, name: str, council: Council) -> Iterator[Problem]:
    src = loaded.source
    keys = [c.key for c in council.criteria]
    for dup in {k for k in keys if keys.count(k) > 1}:
        yield Problem(loaded.path, src.line("states", name, "council"),
                      f"state '{name}': council criterion '{dup}' is repeated", code="council")
    total = sum(c.max_points for c in council.criteria)
    if council.pass_mark > total:
        yield Problem(loaded.path, src.line("states", name, "council", "pass_mark"),
                      f"state '{name}': pass mark {council.pass_mark} is above the maximum {total} points",
                      code="council")
    steps = {t.trigger for t in loaded.definition.transitions} | set(loaded.definition.actions)
    for j, step in enumerate(council.members_may_not or ()):
        if step not in steps:
            yield Problem(loaded.path, src.line("states", name, "council", "members_may_not", j),
                          f"state '{name}': council members_may_not names undefined trigger or action '{step}'",
                          code="undefined_trigger")


def _transition_problems(loaded: LoadedDefinition, triggers: set[str]) -> Iterator[Problem]:
    for i, t in enumerate(loaded.definition.transitions):
        where = f"transition '{t.trigger}' (#{i + 1})"
        yield from _endpoint_problems(loaded, i, t, where)
        yield from _transition_role_problems(loaded, i, t, where)
        yield from _transition_name_problems(loaded, i, t, where, triggers)
        yield from _transition_guard_problems(loaded, i, t, where, triggers)


def _endpoint_problems(loaded: LoadedDefinition, i: int, t: Transition, where: str) -> Iterator[Problem]:
    states, src = loaded.definition.states, loaded.source
    for j, source in enumerate(t.source):
        if source not in states:
            yield Problem(loaded.path, src.line("transitions", i, "from", j),
                          f"{where}: from names undefined state '{source}'", code="undefined_state")
    if t.dest not in states:
        yield Problem(loaded.path, src.line("transitions", i, "to"), f"{where}: to names undefined state '{t.dest}'",
                      code="undefined_state")


def _transition_role_problems(loaded: LoadedDefinition, i: int, t: Transition, where: str) -> Iterator[Problem]:
    roles, src = loaded.definition.roles, loaded.source
    if not t.roles:
        yield Problem(loaded.path, src.line("transitions", i), f"{where} has no role that may fire it", code="no_role")
    for j, role in enumerate(t.roles):
        if role not in roles:
            yield Problem(loaded.path, src.line("transitions", i, "roles", j),
                          f"{where}: roles names undefined role '{role}'", code="undefined_role")
    known = [r for r in t.roles if r in roles]
    if known and all(roles[r].read_only for r in known):
        yield Problem(loaded.path, src.line("transitions", i, "roles"),
                      f"{where}: its only roles are read-only ({', '.join(known)})", code="read_only_only")


def _transition_name_problems(loaded: LoadedDefinition, i: int, t: Transition, where: str,
                              triggers: set[str]) -> Iterator[Problem]:
    """``separate_from`` names triggers and ``requires`` names inputs."""
    src = loaded.source
    inputs = set(BUILTIN_INPUTS) | set(loaded.definition.inputs)
    for j, other in enumerate(t.separate_from):
        if other not in triggers:
            yield Problem(loaded.path, src.line("transitions", i, "separate_from", j),
                          f"{where}: separate_from names undefined trigger '{other}'", code="undefined_trigger")
    for j, name in enumerate(t.requires):
        if name not in inputs:
            yield Problem(loaded.path, src.line("transitions", i, "requires", j),
                          f"{where}: requires undefined input '{name}' (declare it under 'inputs')",
                          code="undefined_input")


def _transition_guard_problems(loaded: LoadedDefinition, i: int, t: Transition, where: str,
                               triggers: set[str]) -> Iterator[Problem]:
    states = loaded.definition.states
    for j, ref in enumerate(t.guards):
        g = guard_registry.get(ref.name)
        line = loaded.source.line("transitions", i, "guards", j)
        if g is None:
            yield Problem(loaded.path, line, f"{where}: guards names unregistered guard '{ref.name}'",
                          code="undefined_guard")
            continue
        params, messages = g.bind(ref)
        for message in messages:
            yield Problem(loaded.path, line, f"{where}: {message}", code="guard_params")
        # By convention a parameter called 'trigger' counts firings of that trigger: a typo never counts.
        if isinstance(params.get("trigger"), str) and params["trigger"] not in triggers:
            yield Problem(loaded.path, line, f"{where}: guard '{g.name}' parameter 'trigger' names undefined "
                                             f"trigger '{params['trigger']}'", code="undefined_trigger")
        if isinstance(params.get("state"), str) and params["state"] not in states:
            yield Problem(loaded.path, line, f"{where}: guard '{g.name}' parameter 'state' names undefined "
                                             f"state '{params['state']}'", code="undefined_state")


def _ambiguity_problems(loaded: LoadedDefinition, graph: _Graph) -> Iterator[Problem]:
    """Two transitions with one trigger from one state to different states need different guards."""
    transitions = loaded.definition.transitions
    for (source, trigger), indexes in graph.by_source_trigger.items():
        for a_pos, a in enumerate(indexes):
            for b in indexes[a_pos + 1:]:
                ta, tb = transitions[a], transitions[b]
                if ta.dest != tb.dest and {repr(g) for g in ta.guards} == {repr(g) for g in tb.guards}:
                    yield Problem(loaded.path, loaded.source.line("transitions", b),
                                  f"trigger '{trigger}' from state '{source}' leads to both '{ta.dest}' and "
                                  f"'{tb.dest}' with no guard to tell them apart", code="ambiguous")


def _reach_problems(loaded: LoadedDefinition, graph: _Graph) -> Iterator[Problem]:
    """Every state is reached from the initial one, and a final state is reached from every state."""
    states, src = loaded.definition.states, loaded.source
    initials = [name for name, s in states.items() if s.initial]
    if len(initials) == 1:
        reachable = _reach(initials, graph.out_edges)
        for name in states:
            if name not in reachable:
                yield Problem(loaded.path, src.line("states", name),
                              f"state '{name}' is unreachable from initial state '{initials[0]}'", code="unreachable")
    finals = [name for name, s in states.items() if s.final]
    if not finals:
        yield Problem(loaded.path, src.line("states"), "no state is final", code="no_final")
    yield from _finish_problems(loaded, graph, finals)


def _finish_problems(loaded: LoadedDefinition, graph: _Graph, finals: list[str]) -> Iterator[Problem]:
    """Final states have no way out; every other state has one, and a final state beyond it."""
    out_edges = graph.out_edges
    can_finish = _reach(finals, graph.in_edges)
    for name, s in loaded.definition.states.items():
        line = loaded.source.line("states", name)
        if s.final and out_edges.get(name):
            yield Problem(loaded.path, line,
                          f"final state '{name}' has a way out (to {', '.join(sorted(out_edges[name]))})",
                          code="final_exit")
        elif not s.final and not out_edges.get(name):
            yield Problem(loaded.path, line, f"state '{name}' is not final and has no way out", code="dead_end")
        elif not s.final and finals and name not in can_finish:
            yield Problem(loaded.path, line, f"no final state can be reached from state '{name}'",
                          code="no_final_reachable")


def _verify_actions(loaded: LoadedDefinition, triggers: set[str]) -> list[Problem]:
    """Every ``actions:`` entry names defined roles, states, inputs and guards (with fitting parameters), and
    ``separate_from`` names a trigger or another action."""
    problems: list[Problem] = []
    for name, action in loaded.definition.actions.items():
        problems.extend(_action_name_problems(loaded, name, action, triggers))
        problems.extend(_action_guard_problems(loaded, name, action))
    return problems


def _action_name_problems(loaded: LoadedDefinition, name: str, action: DomainAction,
                          triggers: set[str]) -> Iterator[Problem]:
    d, src = loaded.definition, loaded.source
    known_steps = triggers | set(d.actions)
    inputs = set(d.inputs) | set(BUILTIN_INPUTS)

    def error(loc: tuple[str | int, ...], message: str, code: str) -> Problem:
        return Problem(loaded.path, src.line(*loc), message, code=code)

    where = f"action '{name}'"
    if name in triggers:
        yield error(("actions", name), f"{where} has the name of a transition's trigger", "ambiguous")
    for j, role in enumerate(action.roles):
        if role not in d.roles:
            yield error(("actions", name, "roles", j), f"{where}: roles names undefined role '{role}'",
                        "undefined_role")
    if all(r in d.roles and d.roles[r].read_only for r in action.roles):
        yield error(("actions", name, "roles"), f"{where}: its only roles are read-only", "read_only_only")
    for j, state in enumerate(action.states):
        if state not in d.states:
            yield error(("actions", name, "states", j), f"{where}: states names undefined state '{state}'",
                        "undefined_state")
    for j, other in enumerate(action.separate_from):
        if other not in known_steps:
            yield error(("actions", name, "separate_from", j),
                        f"{where}: separate_from names undefined trigger or action '{other}'", "undefined_trigger")
    for j, item in enumerate(action.inputs):
        if isinstance(item, str) and item not in inputs:
            yield error(("actions", name, "inputs", j),
                        f"{where}: inputs names undefined input '{item}' (declare it under 'inputs')",
                        "undefined_input")


def _action_guard_problems(loaded: LoadedDefinition, name: str, action: DomainAction) -> Iterator[Problem]:
    for j, ref in enumerate(action.guards):
        line = loaded.source.line("actions", name, "guards", j)
        g = guard_registry.get(ref.name)
        if g is None:
            yield Problem(loaded.path, line, f"action '{name}': guards names unregistered guard '{ref.name}'",
                          code="undefined_guard")
            continue
        for message in g.bind(ref)[1]:
            yield Problem(loaded.path, line, f"action '{name}': {message}", code="guard_params")


def _verify_notices(loaded: LoadedDefinition) -> list[Problem]:
    """Every notice names a catalogue key and defined roles; reminders sit on states with a deadline."""
    d = loaded.definition
    problems: list[Problem] = []
    keys = set(catalogue()) if not catalogue_problems() else None

    def check(loc: tuple[str | int, ...], where: str, key: str | None, roles: list[str]) -> None:
        problems.extend(_notice_problems(loaded, keys, loc, where, key, roles))

    for name, state in d.states.items():
        for i, n in enumerate(state.notify):
            check(("states", name, "notify", i), f"state '{name}'", n.key, n.roles)
        if state.reminders is not None:
            check(("states", name, "reminders"), f"state '{name}' reminders", None, state.reminders.roles)
            problems.extend(_reminder_problems(loaded, name, state, state.reminders))
    for i, t in enumerate(d.transitions):
        for j, n in enumerate(t.notify):
            check(("transitions", i, "notify", j), f"transition '{t.trigger}' (#{i + 1})", n.key, n.roles)
    for action, notices in d.action_notify.items():
        for j, n in enumerate(notices):
            check(("action_notify", action, j), f"action '{action}'", n.key, n.roles)
    for action, declared in d.actions.items():
        for j, n in enumerate(declared.notify):
            check(("actions", action, "notify", j), f"action '{action}'", n.key, n.roles)
    return problems


def _notice_problems(loaded: LoadedDefinition, keys: set[str] | None, loc: tuple[str | int, ...], where: str,
                     key: str | None, roles: list[str]) -> Iterator[Problem]:
    """The notice's key is in the catalogue (``keys``; None when the catalogue itself is broken), its roles exist."""
    if key is not None and keys is not None and key not in keys:
        yield Problem(loaded.path, loaded.source.line(*loc, "key"),
                      f"{where}: unknown notice key '{key}' (see workflow/notices.yaml)", code="undefined_notice")
    for j, role in enumerate(roles):
        if role not in loaded.definition.roles:
            yield Problem(loaded.path, loaded.source.line(*loc, "roles", j),
                          f"{where}: notify names undefined role '{role}'", code="undefined_role")


def _reminder_problems(loaded: LoadedDefinition, name: str, state: State, r: Reminders) -> Iterator[Problem]:
    """Escalation goes to defined roles, after a set number of days, from a state with a deadline."""
    line = loaded.source.line("states", name, "reminders")
    for j, role in enumerate(r.escalate_to):
        if role not in loaded.definition.roles:
            yield Problem(loaded.path, loaded.source.line("states", name, "reminders", "escalate_to", j),
                          f"state '{name}' reminders: escalate_to names undefined role '{role}'",
                          code="undefined_role")
    if state.deadline is None:
        yield Problem(loaded.path, line, f"state '{name}' has reminders but no deadline", code="reminders")
    if (r.escalate_after_working_days is None) != (not r.escalate_to):
        yield Problem(loaded.path, line, f"state '{name}' reminders: escalate_after_working_days and escalate_to "
                                         f"go together", code="reminders")


def _verify_migration(loaded: LoadedDefinition, siblings: Iterable[LoadedDefinition]) -> list[Problem]:
    d, src = loaded.definition, loaded.source
    mf = d.migrates_from
    assert mf is not None
    problems: list[Problem] = []
    line = src.line("migrates_from")
    if mf.version >= d.version:
        problems.append(Problem(loaded.path, src.line("migrates_from", "version"),
                                f"migrates_from version {mf.version} must be older than version {d.version}",
                                code="migration"))
        return problems
    old = next((s for s in siblings if s.definition.workflow == d.workflow and s.definition.version == mf.version),
               None)
    if old is None:
        problems.append(Problem(loaded.path, line,
                                f"migrates_from names {d.workflow} version {mf.version}, which was not among the "
                                f"files given, so the state map was not checked", "warning", "migration_unchecked"))
        return problems
    for old_state, new_state in mf.states.items():
        where = src.line("migrates_from", "states", old_state)
        if old_state not in old.definition.states:
            problems.append(Problem(loaded.path, where,
                                    f"migrates_from maps '{old_state}', which is not a state of version {mf.version}",
                                    code="migration"))
        if new_state not in d.states:
            problems.append(Problem(loaded.path, where,
                                    f"migrates_from maps '{old_state}' to undefined state '{new_state}'",
                                    code="migration"))
        if old_state in d.states and new_state != old_state:
            problems.append(Problem(loaded.path, where,
                                    f"state '{old_state}' keeps its name in version {d.version}, so it must map "
                                    f"to itself, not to '{new_state}'", code="migration"))
    for old_state in old.definition.states:
        if old_state not in mf.states and old_state not in d.states:
            problems.append(Problem(loaded.path, line,
                                    f"state '{old_state}' of version {mf.version} has no state in version "
                                    f"{d.version}: map it under migrates_from.states", code="migration"))
    return problems


def check_paths(paths: list[str | Path]) -> tuple[list[LoadedDefinition], list[Problem]]:
    """Load and verify every definition file under ``paths``; returns the loaded ones and all problems."""
    loaded: list[LoadedDefinition] = []
    problems: list[Problem] = catalogue_problems()
    seen_files: set[Path] = set()
    for f in iter_definition_files(paths):
        if f.resolve() in seen_files:
            continue  # named twice (a folder and a file in it): checked once, not its own duplicate
        seen_files.add(f.resolve())
        if not f.exists():
            problems.append(Problem(str(f), None, "no such file or folder", code="io"))
            continue
        try:
            loaded.append(load_file(f))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    seen: dict[tuple[str, int], LoadedDefinition] = {}
    for item in loaded:
        key = item.definition.key
        if key in seen:
            problems.append(Problem(item.path, item.source.line("version"),
                                    f"{key[0]} version {key[1]} is also defined in {seen[key].path}",
                                    code="duplicate_version"))
        else:
            seen[key] = item
    for item in loaded:
        found = verify(item, [x for x in loaded if x is not item])
        problems.extend(sorted(found, key=lambda p: p.line or 0))
    problems.extend(_verify_periods(list(seen.values())))
    return loaded, problems


def _verify_periods(loaded: list[LoadedDefinition]) -> list[Problem]:
    """Versions of one workflow cover time without overlap or gap: when any version declares effective_from,
    every version does, and the dates rise strictly with the version numbers (each runs until the next starts)."""
    problems: list[Problem] = []
    by_workflow: dict[str, list[LoadedDefinition]] = {}
    for item in loaded:
        by_workflow.setdefault(item.definition.workflow, []).append(item)
    for workflow, items in by_workflow.items():
        items.sort(key=lambda i: i.definition.version)
        dated = [i for i in items if i.definition.effective_from is not None]
        if not dated:
            continue
        for item in items:
            if item.definition.effective_from is None:
                problems.append(Problem(item.path, item.source.line("version"),
                                        f"{workflow} version {item.definition.version} has no effective_from while "
                                        f"other versions do: which dates it covers is a gap", code="period"))
        for before, after in zip(dated, dated[1:], strict=False):
            start, previous = after.definition.effective_from, before.definition.effective_from
            assert start is not None and previous is not None
            if start <= previous:
                problems.append(Problem(after.path, after.source.line("effective_from"),
                                        f"{workflow} version {after.definition.version} starts on {start}, not after "
                                        f"version {before.definition.version} ({previous}, {before.path}): the "
                                        f"periods overlap", code="period"))
    return problems
