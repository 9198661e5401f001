"""Moving live subjects to a newer version of their definition, through its declared state map.

Subjects are found generically: every mapped class that uses :class:`WorkflowMixin` and whose table exists.
Only live subjects move: one in a final state stays pinned to the version it finished on. A subject class may
re-home a subject as it moves (``wf_rehome(session)`` -> {field: (old, new)}, e.g. an abolished commune to its
successor; recorded in the audit event) and name the people who could act (``wf_actors(session)`` ->
{label: Actor}, active users only). A subject is *stranded* when its state has no counterpart, its pin names
another revision of the old file, or nobody could take a non-withdraw action on it in its new state and place.
With any stranded subject nothing moves unless ``allow_stranded``. Each move runs in its own short transaction
and appends a "migrated" audit event.
"""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import WorkflowError
from workflow.machine import CompiledWorkflow, place_of
from workflow.operations import lock_subject
from workflow.permissions import Actor, covering_grants
from workflow.registry import Registry, default_registry
from workflow.storage import WorkflowMixin, create_db_engine

MIGRATION_ACTOR = "system:migrate"
# Which field of a Place each role scope needs, to say why nobody could act.
_SCOPE_FIELD = {"own": "owner", "commune": "commune", "district": "district", "province": "province"}
# Triggers that do not count as acting on a subject: an applicant can always withdraw, which helps nobody.
NOT_ACTING = frozenset({"withdraw"})


@dataclass(frozen=True)
class Move:
    """One subject's planned (or done) move; ``stranded`` holds the reason it cannot move."""

    subject_class: type
    identity: tuple[object, ...]
    subject: str
    from_state: str
    to_state: str | None
    stranded: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (old, new), e.g. re-homing
    who: tuple[str, ...] | None = None  # who could act afterwards (None: the subject class cannot say)

    def __str__(self) -> str:
        rehomed = "".join(f", {name} {old} -> {new}" for name, (old, new) in self.changes.items())
        who = "" if self.who is None else f"; can act: {', '.join(self.who) or 'nobody'}"
        if self.stranded:
            return f"strand {self.subject} in {self.from_state}{rehomed}: {self.stranded}{who}"
        return f"move {self.subject}: {self.from_state} -> {self.to_state}{rehomed}{who}"


def subject_classes() -> list[type[WorkflowMixin]]:
    """Every mapped class using the mixin, found through the subclass tree."""
    found, todo = [], list(WorkflowMixin.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if inspect(cls, raiseerr=False) is not None:
            found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


def _stranded(subject: WorkflowMixin, source: CompiledWorkflow, target: CompiledWorkflow,
              to_state: str) -> str | None:
    if subject.wf_sha256 != source.sha256:
        return f"pinned to sha256 {subject.wf_sha256[:12]}…, not the loaded version {source.version}"
    if to_state not in target.states:
        return f"state '{to_state}' has no counterpart in version {target.version}"
    place = place_of(subject)
    dead: dict[str, set[str]] = {}  # trigger -> the place fields its roles need, none of which is set
    for trigger, rules in target.rules_from.get(to_state, {}).items():
        needs = {_SCOPE_FIELD.get(scope, scope) for rule in rules for scope in rule.roles.values()}
        if not any(getattr(place, need, None) is not None for need in needs):
            dead[trigger] = needs
    if not dead:
        return None
    needed = " or ".join(sorted(set().union(*dead.values())))
    return f"nobody could {', '.join(sorted(dead))} it in '{to_state}': the roles need its {needed}, which is not set"


def _who_can_act(actors: Mapping[str, Actor], target: CompiledWorkflow, to_state: str, subject: Any) -> list[str]:
    place = place_of(subject)
    return [label for label, actor in actors.items()
            if any(covering_grants(actor, rule.roles, place)
                   for trigger, rules in target.rules_from.get(to_state, {}).items() if trigger not in NOT_ACTING
                   for rule in rules)]


def _candidates(session: Session, target: CompiledWorkflow,
                source: CompiledWorkflow) -> Iterator[tuple[type, WorkflowMixin]]:
    assert target.definition.migrates_from is not None
    source_version = target.definition.migrates_from.version
    tables = set(inspect(session.connection()).get_table_names())  # the session's own connection
    for cls in subject_classes():
        if getattr(cls, "__tablename__", None) not in tables:
            continue
        query = select(cls).where(cls.wf_workflow == target.workflow, cls.wf_workflow_version == source_version,
                                  cls.wf_state.not_in(sorted(source.finals)))
        for subject in session.scalars(query.order_by(*inspect(cls).primary_key)):
            yield cls, subject


def plan(session: Session, target: CompiledWorkflow, registry: Registry) -> list[Move]:
    """What a migration to ``target`` would move, and what it would strand and why."""
    mf = target.definition.migrates_from
    if mf is None:
        raise WorkflowError(f"{target.workflow} version {target.version} declares no migrates_from")
    source = registry.get(target.workflow, mf.version)
    moves = []
    actors: dict[type, Mapping[str, Actor] | None] = {}
    with session.no_autoflush:  # re-homing is tried on the loaded object, then undone: plan writes nothing
        for cls, subject in _candidates(session, target, source):
            if cls not in actors:
                actors[cls] = cls.wf_actors(session) if hasattr(cls, "wf_actors") else None
            to_state = mf.states.get(subject.wf_state, subject.wf_state)
            identity = inspect(subject).identity
            assert identity is not None
            changes = subject.wf_rehome(session) if hasattr(subject, "wf_rehome") else {}
            for name, (_old, new) in changes.items():
                setattr(subject, name, new)
            stranded = _stranded(subject, source, target, to_state)
            who = None
            if actors[cls] is not None and to_state in target.states:
                who = tuple(_who_can_act(actors[cls] or {}, target, to_state, subject))
                if not who and stranded is None:
                    stranded = f"no active user could act on it in '{to_state}' at its place {place_of(subject)}"
            for name, (old, _new) in changes.items():
                setattr(subject, name, old)
            moves.append(Move(cls, tuple(identity), f"{subject.wf_type()}:{subject.wf_subject_id()}",
                              subject.wf_state, to_state, stranded, changes, who))
    return moves


def _apply(engine: Engine, move: Move, target: CompiledWorkflow, run_id: str) -> bool:
    """Move one subject in its own transaction; False when it changed since it was planned."""
    with Session(engine) as session, session.begin():
        if lock_subject(session, move.subject_class, move.identity) is None:
            return False
        subject = session.get(move.subject_class, move.identity, populate_existing=True)
        if subject is None or subject.wf_workflow_version == target.version or subject.wf_state != move.from_state:
            return False
        assert move.to_state is not None
        if any(getattr(subject, name) != old for name, (old, _new) in move.changes.items()):
            return False
        for name, (_old, new) in move.changes.items():
            setattr(subject, name, new)
        old = (subject.wf_workflow_version, subject.wf_sha256)
        subject.wf_workflow_version, subject.wf_sha256 = target.version, target.sha256
        subject.wf_state = move.to_state
        subject.wf_version += 1
        session.flush()
        audit.append(
            session, subject_type=subject.wf_type(), subject_id=subject.wf_subject_id(), action="migrate",
            outcome="migrated", actor_id=MIGRATION_ACTOR, from_state=move.from_state, to_state=move.to_state,
            workflow=target.workflow, workflow_version=target.version, workflow_sha256=target.sha256,
            diff={"workflow_version": [old[0], target.version], "workflow_sha256": [old[1], target.sha256],
                  **{name: [before, after] for name, (before, after) in move.changes.items()}},
            request_id=run_id)
    return True


def migrate(engine: Engine, target: CompiledWorkflow, registry: Registry | None = None, *,
            dry_run: bool = False, allow_stranded: bool = False) -> tuple[list[Move], list[Move]]:
    """Plan, then (unless ``dry_run``) move every subject that is not stranded; with a stranded one nothing moves
    unless ``allow_stranded``. Returns (moved, stranded), or (would move, stranded) for a dry run."""
    registry = registry or default_registry()
    with Session(engine) as session:
        moves = plan(session, target, registry)
    stranded = [m for m in moves if m.stranded]
    movable = [m for m in moves if not m.stranded]
    if dry_run:
        return movable, stranded
    if stranded and not allow_stranded:
        return [], stranded
    run_id = f"migrate-{uuid.uuid4().hex[:12]}"
    return [m for m in movable if _apply(engine, m, target, run_id)], stranded


# --- re-pinning an amended definition -----------------------------------------------------------------------

REPIN_ACTOR = "system:repin"
DEFINITION_SUBJECT = "workflow_definition"  # the audit chain of a (workflow, version): "<workflow>:<version>"
_PIN_COLUMNS = {"wf_workflow", "wf_workflow_version", "wf_sha256"}


@dataclass(frozen=True)
class Repin:
    """A published file amended in place (no behaviour for live subjects changes; e.g. declaring as data what
    code did): its subjects move from ``old`` to ``new`` sha256. ``why`` goes into the audit event."""

    workflow: str
    version: int
    old: str
    new: str
    why: str


def pinned_tables(conn: Connection) -> list[str]:
    """Every table holding pinned subjects (the WorkflowMixin columns), read from the database itself so that a
    migration sees the schema of its own revision."""
    inspector = inspect(conn)
    return sorted(t for t in inspector.get_table_names()
                  if {c["name"] for c in inspector.get_columns(t)} >= _PIN_COLUMNS)


def repin(conn: Connection, change: Repin, *, request_id: str | None = None) -> dict[str, int]:
    """Re-pin every subject of ``change.workflow`` version ``change.version`` from ``change.old`` to
    ``change.new``: one UPDATE per subject table, and (when any subject moved) one audited ``repin`` event on the
    definition's own chain (``workflow_definition`` / ``<workflow>:<version>``) with the count per table. A subject pinned to any other
    sha256 is unknown: nothing is changed and WorkflowError is raised. Returns {table: rows re-pinned}."""
    tables = pinned_tables(conn)
    of_version = "wf_workflow = :workflow AND wf_workflow_version = :version"
    params = {"workflow": change.workflow, "version": change.version, "old": change.old, "new": change.new}
    for table in tables:
        # table names come from the schema (pinned_tables), values are bound
        unknown = conn.execute(text(f"SELECT wf_sha256 FROM {table} WHERE {of_version} "
                                    "AND wf_sha256 NOT IN (:old, :new) LIMIT 1"), params).scalar()
        if unknown is not None:
            raise WorkflowError(f"{table}: a subject of {change.workflow} version {change.version} is pinned to "
                                f"sha256 {unknown}, neither {change.old} nor {change.new}: refusing to re-pin")
    counts = {table: conn.execute(text(f"UPDATE {table} SET wf_sha256 = :new "
                                       f"WHERE {of_version} AND wf_sha256 = :old"), params).rowcount
              for table in tables}
    if not any(counts.values()):
        return counts  # nothing was pinned to it (e.g. a new database): no event to vouch for
    with Session(bind=conn) as session:
        audit.append(
            session, subject_type=DEFINITION_SUBJECT, subject_id=f"{change.workflow}:{change.version}",
            action="repin", outcome="applied", actor_id=REPIN_ACTOR, workflow=change.workflow,
            workflow_version=change.version, workflow_sha256=change.new, comment=change.why,
            diff={"workflow_sha256": [change.old, change.new], "subjects": counts},
            request_id=request_id or f"repin-{uuid.uuid4().hex[:12]}")
        session.flush()
    return counts


def _import_models() -> None:
    """Import the modules that map subject classes (``GRANTFLOW_MODELS``, default ``app.models``)."""
    for name in filter(None, os.environ.get("GRANTFLOW_MODELS", "app.models").split(",")):
        importlib.import_module(name.strip())


def cli_migrate(url: str, to: str, dry_run: bool = False, allow_stranded: bool = False) -> int:
    """``python -m workflow migrate --db URL --to WORKFLOW:VERSION [--dry-run] [--allow-stranded]``; exit 1 if any
    is stranded (and then, without ``--allow-stranded``, nothing was moved)."""
    workflow, _, version = to.rpartition(":")
    if not workflow or not version.isdigit():
        print(f"--to must be WORKFLOW:VERSION, got {to!r}", file=sys.stderr)
        return 2
    _import_models()
    registry = default_registry()
    target = registry.get(workflow, int(version))
    engine = create_db_engine(url)
    try:
        moved, stranded = migrate(engine, target, registry, dry_run=dry_run, allow_stranded=allow_stranded)
    finally:
        engine.dispose()
    verb = "would move" if dry_run else "moved"
    for move in moved + stranded:
        print(move)
    print(f"{verb} {len(moved)}, stranded {len(stranded)} (to {workflow} version {version})")
    if stranded and not dry_run and not allow_stranded:
        print("refused: nothing was moved while a proposal would be stranded; grant someone who can act on it, "
              "or give --allow-stranded", file=sys.stderr)
    return 1 if stranded else 0
