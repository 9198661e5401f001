"""Static verification: a definition is proven sound before any subject uses it."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from pathlib import Path

from workflow import guards as guard_registry
from workflow.definitions import LoadedDefinition, iter_definition_files, load_file
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
    d, src = loaded.definition, loaded.source
    problems: list[Problem] = []

    def error(line: int | None, message: str, code: str) -> None:
        problems.append(Problem(loaded.path, line, message, "error", code))

    def warning(line: int | None, message: str, code: str) -> None:
        problems.append(Problem(loaded.path, line, message, "warning", code))

    states, roles = d.states, d.roles
    triggers = {t.trigger for t in d.transitions}
    inputs = set(BUILTIN_INPUTS) | set(d.inputs)

    for name, spec in d.inputs.items():
        line = src.line("inputs", name)
        if spec.type == "choice" and not spec.choices:
            error(line, f"input '{name}' is a choice but lists no choices", "input")
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            error(line, f"input '{name}': min {spec.min} is above max {spec.max}", "input")

    initials = [name for name, s in states.items() if s.initial]
    if len(initials) != 1:
        found = ", ".join(initials) if initials else "none"
        error(src.line("states"), f"there must be exactly one initial state (found: {found})", "initial")
    for name, s in states.items():
        if s.initial and s.final:
            error(src.line("states", name), f"state '{name}' cannot be both initial and final", "initial_final")
        for i, role in enumerate(s.editable_by):
            line = src.line("states", name, "editable_by", i)
            if role not in roles:
                error(line, f"state '{name}': editable_by names undefined role '{role}'", "undefined_role")
            elif roles[role].read_only:
                error(line, f"state '{name}': editable_by names read-only role '{role}'", "read_only_role")
        if s.final and s.deadline:
            warning(src.line("states", name, "deadline"), f"final state '{name}' has a deadline that never ends",
                    "final_deadline")
        if s.council is not None:
            keys = [c.key for c in s.council.criteria]
            for dup in {k for k in keys if keys.count(k) > 1}:
                error(src.line("states", name, "council"), f"state '{name}': council criterion '{dup}' is repeated",
                      "council")
            total = sum(c.max_points for c in s.council.criteria)
            if s.council.pass_mark > total:
                error(src.line("states", name, "council", "pass_mark"),
                      f"state '{name}': pass mark {s.council.pass_mark} is above the maximum {total} points",
                      "council")

    out_edges: dict[str, set[str]] = defaultdict(set)
    in_edges: dict[str, set[str]] = defaultdict(set)
    by_source_trigger: dict[tuple[str, str], list[int]] = defaultdict(list)
    used_roles: set[str] = set()
    for i, t in enumerate(d.transitions):
        where = f"transition '{t.trigger}' (#{i + 1})"
        for j, source in enumerate(t.source):
            if source not in states:
                error(src.line("transitions", i, "from", j), f"{where}: from names undefined state '{source}'",
                      "undefined_state")
        if t.dest not in states:
            error(src.line("transitions", i, "to"), f"{where}: to names undefined state '{t.dest}'",
                  "undefined_state")
        if not t.roles:
            error(src.line("transitions", i), f"{where} has no role that may fire it", "no_role")
        for j, role in enumerate(t.roles):
            if role not in roles:
                error(src.line("transitions", i, "roles", j), f"{where}: roles names undefined role '{role}'",
                      "undefined_role")
        known = [r for r in t.roles if r in roles]
        used_roles.update(known)
        if known and all(roles[r].read_only for r in known):
            error(src.line("transitions", i, "roles"),
                  f"{where}: its only roles are read-only ({', '.join(known)})", "read_only_only")
        for j, other in enumerate(t.separate_from):
            if other not in triggers:
                error(src.line("transitions", i, "separate_from", j),
                      f"{where}: separate_from names undefined trigger '{other}'", "undefined_trigger")
        for j, name in enumerate(t.requires):
            if name not in inputs:
                error(src.line("transitions", i, "requires", j),
                      f"{where}: requires undefined input '{name}' (declare it under 'inputs')", "undefined_input")
        for j, ref in enumerate(t.guards):
            g = guard_registry.get(ref.name)
            line = src.line("transitions", i, "guards", j)
            if g is None:
                error(line, f"{where}: guards names unregistered guard '{ref.name}'", "undefined_guard")
                continue
            params, messages = g.bind(ref)
            for message in messages:
                error(line, f"{where}: {message}", "guard_params")
            # By convention a parameter called 'trigger' counts firings of that trigger: a typo never counts.
            if isinstance(params.get("trigger"), str) and params["trigger"] not in triggers:
                error(line, f"{where}: guard '{g.name}' parameter 'trigger' names undefined trigger "
                            f"'{params['trigger']}'", "undefined_trigger")
            if isinstance(params.get("state"), str) and params["state"] not in states:
                error(line, f"{where}: guard '{g.name}' parameter 'state' names undefined state "
                            f"'{params['state']}'", "undefined_state")
        for source in t.source:
            if source in states and t.dest in states:
                out_edges[source].add(t.dest)
                in_edges[t.dest].add(source)
                by_source_trigger[(source, t.trigger)].append(i)

    for (source, trigger), indexes in by_source_trigger.items():
        for a_pos, a in enumerate(indexes):
            for b in indexes[a_pos + 1:]:
                ta, tb = d.transitions[a], d.transitions[b]
                if ta.dest == tb.dest:
                    continue
                if {repr(g) for g in ta.guards} == {repr(g) for g in tb.guards}:
                    error(src.line("transitions", b),
                          f"trigger '{trigger}' from state '{source}' leads to both '{ta.dest}' and '{tb.dest}' "
                          f"with no guard to tell them apart", "ambiguous")

    if len(initials) == 1:
        reachable = _reach(initials, out_edges)
        for name in states:
            if name not in reachable:
                error(src.line("states", name), f"state '{name}' is unreachable from initial state '{initials[0]}'",
                      "unreachable")
    finals = [name for name, s in states.items() if s.final]
    if not finals:
        error(src.line("states"), "no state is final", "no_final")
    can_finish = _reach(finals, in_edges)
    for name, s in states.items():
        line = src.line("states", name)
        if s.final and out_edges.get(name):
            error(line, f"final state '{name}' has a way out (to {', '.join(sorted(out_edges[name]))})",
                  "final_exit")
        elif not s.final and not out_edges.get(name):
            error(line, f"state '{name}' is not final and has no way out", "dead_end")
        elif not s.final and finals and name not in can_finish:
            error(line, f"no final state can be reached from state '{name}'", "no_final_reachable")

    problems.extend(_verify_actions(loaded, triggers))
    problems.extend(_verify_notices(loaded))
    if d.migrates_from is not None:
        problems.extend(_verify_migration(loaded, siblings))
    return problems


def _verify_actions(loaded: LoadedDefinition, triggers: set[str]) -> list[Problem]:
    """Every ``actions:`` entry names defined roles, states, inputs and guards (with fitting parameters), and
    ``separate_from`` names a trigger or another action."""
    d, src = loaded.definition, loaded.source
    problems: list[Problem] = []
    known_steps = triggers | set(d.actions)
    inputs = set(d.inputs) | set(BUILTIN_INPUTS)

    def error(loc: tuple[str | int, ...], message: str, code: str) -> None:
        problems.append(Problem(loaded.path, src.line(*loc), message, code=code))

    for name, action in d.actions.items():
        where = f"action '{name}'"
        if name in triggers:
            error(("actions", name), f"{where} has the name of a transition's trigger", "ambiguous")
        for j, role in enumerate(action.roles):
            if role not in d.roles:
                error(("actions", name, "roles", j), f"{where}: roles names undefined role '{role}'", "undefined_role")
        if all(r in d.roles and d.roles[r].read_only for r in action.roles):
            error(("actions", name, "roles"), f"{where}: its only roles are read-only", "read_only_only")
        for j, state in enumerate(action.states):
            if state not in d.states:
                error(("actions", name, "states", j), f"{where}: states names undefined state '{state}'",
                      "undefined_state")
        for j, other in enumerate(action.separate_from):
            if other not in known_steps:
                error(("actions", name, "separate_from", j),
                      f"{where}: separate_from names undefined trigger or action '{other}'", "undefined_trigger")
        for j, item in enumerate(action.inputs):
            if item not in inputs:
                error(("actions", name, "inputs", j),
                      f"{where}: inputs names undefined input '{item}' (declare it under 'inputs')", "undefined_input")
        for j, ref in enumerate(action.guards):
            g = guard_registry.get(ref.name)
            if g is None:
                error(("actions", name, "guards", j), f"{where}: guards names unregistered guard '{ref.name}'",
                      "undefined_guard")
                continue
            for message in g.bind(ref)[1]:
                error(("actions", name, "guards", j), f"{where}: {message}", "guard_params")
    return problems


def _verify_notices(loaded: LoadedDefinition) -> list[Problem]:
    """Every notice names a catalogue key and defined roles; reminders sit on states with a deadline."""
    d, src = loaded.definition, loaded.source
    problems: list[Problem] = []
    keys = set(catalogue()) if not catalogue_problems() else None

    def check(loc: tuple[str | int, ...], where: str, key: str | None, roles: list[str]) -> None:
        if key is not None and keys is not None and key not in keys:
            problems.append(Problem(loaded.path, src.line(*loc, "key"),
                                    f"{where}: unknown notice key '{key}' (see workflow/notices.yaml)",
                                    code="undefined_notice"))
        for j, role in enumerate(roles):
            if role not in d.roles:
                problems.append(Problem(loaded.path, src.line(*loc, "roles", j),
                                        f"{where}: notify names undefined role '{role}'", code="undefined_role"))

    for name, state in d.states.items():
        for i, n in enumerate(state.notify):
            check(("states", name, "notify", i), f"state '{name}'", n.key, n.roles)
        r = state.reminders
        if r is None:
            continue
        loc = ("states", name, "reminders")
        check(loc, f"state '{name}' reminders", None, r.roles)
        for j, role in enumerate(r.escalate_to):
            if role not in d.roles:
                problems.append(Problem(loaded.path, src.line(*loc, "escalate_to", j),
                                        f"state '{name}' reminders: escalate_to names undefined role '{role}'",
                                        code="undefined_role"))
        if state.deadline is None:
            problems.append(Problem(loaded.path, src.line(*loc),
                                    f"state '{name}' has reminders but no deadline", code="reminders"))
        if (r.escalate_after_working_days is None) != (not r.escalate_to):
            problems.append(Problem(loaded.path, src.line(*loc),
                                    f"state '{name}' reminders: escalate_after_working_days and escalate_to "
                                    f"go together", code="reminders"))
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
