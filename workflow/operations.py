"""The one write path: create, fire, edit and act, each audited, in the caller's transaction.

Each operation locks the subject row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite: ``create_db_engine``
opens every transaction with ``BEGIN IMMEDIATE``), checks the expected version, checks the definition pin,
authorizes, applies, bumps ``wf_version`` and appends the audit event, then flushes. Operations never commit:
the caller commits, and a rollback leaves nothing behind.

A refused attempt is recorded too, in a transaction of its own that runs as soon as the caller's transaction
ends (commit or rollback). It cannot run earlier: the caller still holds the subject's lock (and, on SQLite,
the database's write lock), so a second connection would wait on it forever.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, event, inspect, select, update
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from workflow import audit
from workflow.audit import AuditEvent
from workflow.errors import Conflict, DefinitionChanged, InvalidInput, Refused
from workflow.explain import GUARD, Explanation
from workflow.inputs import clean_inputs
from workflow.machine import CompiledWorkflow, Step
from workflow.permissions import Actor, Grant
from workflow.registry import Registry, default_registry
from workflow.storage import READ_ONLY_OPTION, WorkflowMixin, utcnow

log = logging.getLogger(__name__)
_PENDING_REFUSALS = "workflow.pending_refusals"
_CHANGED_FIRST = {"vi": "Hồ sơ đã được người khác cập nhật; hãy tải lại trang",
                  "en": "Someone else changed this first; reload and try again"}
_NOTHING_CHANGED = {"vi": "Không có thay đổi nào", "en": "Nothing was changed"}


# Told of every applied operation inside its transaction, after its audit event (the application writes its
# notification outbox there, so a rolled-back operation leaves no notice behind).
AppliedListener = Callable[[Session, WorkflowMixin, CompiledWorkflow, AuditEvent], None]
_APPLIED_LISTENERS: list[AppliedListener] = []


def on_applied(listener: AppliedListener) -> AppliedListener:
    """Register ``listener(session, subject, compiled, event)``; registering the same one twice is a no-op."""
    if listener not in _APPLIED_LISTENERS:
        _APPLIED_LISTENERS.append(listener)
    return listener


def _applied(session: Session, subject: WorkflowMixin, compiled: CompiledWorkflow, event: AuditEvent) -> AuditEvent:
    for listener in _APPLIED_LISTENERS:
        listener(session, subject, compiled, event)
    return event


@dataclass
class _Change:
    """What an applied operation did, for its audit event."""

    inputs: dict[str, Any] = field(default_factory=dict)
    diff: dict[str, Any] = field(default_factory=dict)
    comment: str | None = None
    step: Step | None = None  # where a fired trigger takes the subject


@dataclass(frozen=True)
class _Attempt:
    """A refused attempt, captured when it happened (the subject may be expired by the time it is written)."""

    subject_class: type
    identity: tuple[Any, ...]
    subject_type: str
    subject_id: str
    state: str
    pin: tuple[str, int, str]
    actor: Actor
    action: str
    reasons: list[dict[str, object]]
    inputs: Mapping[str, Any]
    request_id: str | None
    occurred_at: dt.datetime


def _actor_fields(actor: Actor, grant: Grant | None) -> dict[str, Any]:
    grant = grant or (actor.grants[0] if len(actor.grants) == 1 else None)
    return {"actor_id": actor.user_id, "actor_role": grant.role if grant else None,
            "actor_unit": grant.unit if grant else None}


def _pin(subject: WorkflowMixin) -> dict[str, Any]:
    return {"workflow": subject.wf_workflow, "workflow_version": subject.wf_workflow_version,
            "workflow_sha256": subject.wf_sha256}


def _where_identity(subject_class: type, identity: tuple[Any, ...]) -> Any:
    keys: Any = inspect(subject_class).primary_key
    return and_(*(k == v for k, v in zip(keys, identity, strict=True)))


@lru_cache(maxsize=64)
def _lock_statement(subject_class: type) -> Any:
    """SELECT wf_version and the chain head ... FOR UPDATE by primary key, built once per class."""
    mapper: Any = inspect(subject_class)
    keys = mapper.primary_key
    return (select(*(mapper.columns[name] for name in ("wf_version", *_HEAD)))
            .where(and_(*(k == bindparam(f"pk{i}") for i, k in enumerate(keys)))).with_for_update())


_HEAD = ("wf_chain_seq", "wf_chain_hash")


def _lock_row(session: Session, subject_class: type, identity: tuple[Any, ...]) -> Any:
    """Take the subject row's lock; returns (wf_version, wf_chain_seq, wf_chain_hash), None when it is gone."""
    params = {f"pk{i}": v for i, v in enumerate(identity)}
    return session.connection().execute(_lock_statement(subject_class), params).first()


def lock_subject(session: Session, subject_class: type, identity: tuple[Any, ...]) -> int | None:
    """Take the subject row's lock; returns its ``wf_version``, None when the row is gone."""
    row = _lock_row(session, subject_class, identity)
    return None if row is None else int(row[0])


_LOCKED_IN = "_wf_locked_in"  # on an instance: (a weak reference to) the transaction it was loaded in, FOR UPDATE?


def _note_load(target: WorkflowMixin, context: Any, *_attrs: Any) -> None:
    """Remember the outermost transaction an instance was read in, and whether under ``FOR UPDATE``: then
    :func:`_lock` has nothing to re-read (see :func:`_locked_here`). A savepoint's lock may be released by its
    rollback: a load there is not noted. Runs for every loaded row, so it asks the session for no connection."""
    session: Session | None = getattr(context, "session", None)
    txn = session.get_transaction() if session is not None else None
    noted = None
    if txn is not None and session is not None and session.get_nested_transaction() is None:
        noted = (weakref.ref(txn), getattr(context.query, "_for_update_arg", None) is not None)
    target.__dict__[_LOCKED_IN] = noted


event.listen(WorkflowMixin, "load", _note_load, propagate=True)
event.listen(WorkflowMixin, "refresh", _note_load, propagate=True)


def _locked_here(session: Session, subject: WorkflowMixin, conn: Connection) -> bool:
    """Read under its row lock in this outermost transaction: loaded ``FOR UPDATE``, or on SQLite on a writing
    connection (BEGIN IMMEDIATE holds the database's write lock). ``conn`` is the transaction's connection, the
    one the load ran on."""
    noted, txn = subject.__dict__.get(_LOCKED_IN), session.get_transaction()
    if noted is None or txn is None or noted[0]() is not txn or session.get_nested_transaction() is not None:
        return False
    return bool(noted[1]) or (conn.dialect.name == "sqlite"
                              and conn.get_execution_options().get(READ_ONLY_OPTION) is not True)


def _lock(session: Session, subject: WorkflowMixin) -> Connection:
    """Lock the subject's row and return the transaction's connection. Every write bumps ``wf_version`` (this
    module is the one write path), so when the locked version is the one loaded the instance is current;
    otherwise it is reloaded, relationships too. A recorded refusal moves the chain head without a new version,
    so the head is taken from the lock's read. An instance already read under the lock in this transaction
    (see :func:`_note_load`) is current as it is."""
    session.flush()  # the caller's pending changes must not be lost
    conn = session.connection()
    if _locked_here(session, subject, conn):
        return conn
    cls, identity = type(subject), tuple(inspect(subject).identity or ())
    locked = _lock_row(session, cls, identity)
    if locked is None:
        raise Conflict({"vi": "Hồ sơ không còn tồn tại", "en": "It no longer exists"})
    if locked[0] != subject.wf_version:
        # The rows must be consumed: an unread ORM result refreshes nothing (a waiter would decide on stale data).
        session.execute(select(cls).where(_where_identity(cls, identity))
                        .execution_options(populate_existing=True)).scalars().all()
    for name, value in zip(_HEAD, locked[1:], strict=True):
        set_committed_value(subject, name, value)
    return conn


@lru_cache(maxsize=64)
def _store_statement(subject_class: type) -> Any:
    """UPDATE ... WHERE primary key and wf_version; the SET clause comes from the parameters given."""
    mapper: Any = inspect(subject_class)
    version = mapper.columns["wf_version"]
    return (update(version.table).where(*(k == bindparam(f"pk{i}") for i, k in enumerate(mapper.primary_key)),
                                        version == bindparam("locked_version")))


@lru_cache(maxsize=256)
def _store_sql(subject_class: type, dialect: Dialect, keys: tuple[str, ...]
               ) -> tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...]]:
    """The UPDATE of :func:`_store` for the columns ``keys``, compiled once per class, database and column set,
    with each parameter's bind processor: the hot path hands the driver its SQL and values directly."""
    mapper: Any = inspect(subject_class)
    compiled: Any = _store_statement(subject_class).values({k: bindparam(k) for k in keys}).compile(dialect=dialect)
    names = tuple(compiled.positiontup) if dialect.positional else tuple(compiled.binds)
    types = {**{k: mapper.columns[k].type for k in keys}, "locked_version": mapper.columns["wf_version"].type,
             **{f"pk{i}": k.type for i, k in enumerate(mapper.primary_key)}}
    processors = tuple(types[n].dialect_impl(dialect).bind_processor(dialect) for n in names)
    return compiled.string, names, processors


def _store(conn: Connection, subject: WorkflowMixin, step: Step | None, event: dict[str, Any],
           entered_at: dt.datetime | None = None) -> None:
    """Write the columns the engine owns with one UPDATE: the bumped version, the chain head (the ``event``
    about to be inserted) and, for a fired trigger, the state, trigger history and entry time (now, or an
    imported record's historical date). They are set on the instance as committed values, so the ORM has
    nothing left to flush for them (its unit of work would cost more than the whole bare transaction)."""
    values: dict[str, Any] = {"wf_version": subject.wf_version + 1, "wf_chain_seq": event["seq"],
                              "wf_chain_hash": event["hash"]}
    if step is not None:
        values["wf_fired_by"] = step.wf_fired_by
        if step.wf_state != subject.wf_state:
            values.update(wf_state=step.wf_state, wf_entered_at=entered_at or utcnow())
    params = {f"pk{i}": v for i, v in enumerate(inspect(subject).identity or ())}
    subject_class: type = type(subject)
    sql, names, processors = _store_sql(subject_class, conn.dialect, tuple(values))
    given = {**values, **params, "locked_version": subject.wf_version}
    bound = {n: given[n] if p is None else p(given[n]) for n, p in zip(names, processors, strict=True)}
    result = conn.exec_driver_sql(sql, tuple(bound.values()) if conn.dialect.positional else bound)
    if result.rowcount != 1:  # cannot happen while the row is locked; never let a write go unchecked
        raise Conflict(_CHANGED_FIRST, current_version=subject.wf_version, current_state=subject.wf_state)
    for key, value in values.items():
        set_committed_value(subject, key, value)


def _check_version(subject: WorkflowMixin, expected_version: int | None) -> None:
    if expected_version is not None and subject.wf_version != expected_version:
        raise Conflict(_CHANGED_FIRST,
                       current_version=subject.wf_version, current_state=subject.wf_state)


def _compiled(subject: WorkflowMixin, registry: Registry | None) -> CompiledWorkflow:
    compiled = (registry or default_registry()).for_subject(subject)
    if compiled.sha256 != subject.wf_sha256:
        raise DefinitionChanged(
            f"{subject.wf_type()}:{subject.wf_subject_id()} is pinned to {compiled.workflow} v{compiled.version} "
            f"sha256 {subject.wf_sha256}, but the loaded definition has sha256 {compiled.sha256}")
    return compiled


def _operate(session: Session, subject: WorkflowMixin, actor: Actor, action: str, *,
             authorize: Callable[[CompiledWorkflow], Explanation],
             perform: Callable[[CompiledWorkflow, Explanation], _Change],
             attempted: Mapping[str, Any] | None, expected_version: int | None,
             registry: Registry | None, request_id: str | None) -> AuditEvent:
    """The core every write shares: lock, version, pin, authorize, apply, bump, audit, flush."""
    conn = _lock(session, subject)
    _check_version(subject, expected_version)
    compiled = _compiled(subject, registry)
    exp = authorize(compiled)
    if not exp.allowed:
        _defer(session, _attempt(subject, actor, action, exp, attempted, request_id))
        raise Refused(exp)
    change = perform(compiled, exp)
    session.flush()  # what perform changed through the ORM: edited fields, an action's rows (a fire: nothing)
    values = _next_event(subject, action=action, outcome="applied", from_state=subject.wf_state,
                         to_state=change.step.wf_state if change.step else subject.wf_state, **_pin(subject),
                         **_actor_fields(actor, exp.grant), comment=change.comment, inputs=change.inputs,
                         diff=change.diff, request_id=request_id)
    _store(conn, subject, change.step, values)
    return _applied(session, subject, compiled, audit.insert_event(session, values, conn))


def _next_event(subject: WorkflowMixin, **fields: Any) -> dict[str, Any]:
    """The event after the chain head the locked row holds (no read of audit_event)."""
    return audit.event_values(seq=subject.wf_chain_seq + 1, prev_hash=subject.wf_chain_hash,
                              subject_type=subject.wf_type(), subject_id=subject.wf_subject_id(), **fields)


def create(session: Session, instance: WorkflowMixin, actor: Actor, compiled: CompiledWorkflow, *,
           inputs: Mapping[str, Any] | None = None, request_id: str | None = None,
           effective_at: dt.datetime | None = None) -> AuditEvent:
    """Pin a new subject to ``compiled`` in its initial state, add it and record its "create" event (with the
    initial values given in ``inputs``, so that verify can hold the row to them: workflow.consistency).

    With ``effective_at`` it is a record imported from old files (see :func:`import_event`): the event carries
    that historical date and ``imported``, the subject entered its state then, and no listener is told (an
    old record sends no notice)."""
    instance.wf_pin(compiled)
    if effective_at is not None:
        instance.wf_entered_at = _historical(effective_at, None)
    session.add(instance)
    session.flush()
    event = audit.append(
        session, subject_type=instance.wf_type(), subject_id=instance.wf_subject_id(), action="create",
        outcome="created", to_state=instance.wf_state, **_pin(instance), **_actor_fields(actor, None),
        inputs=dict(inputs or {}), request_id=request_id, effective_at=effective_at)
    return event if effective_at is not None else _applied(session, instance, compiled, event)


def fire(session: Session, instance: WorkflowMixin, trigger: str, actor: Actor,
         inputs: Mapping[str, Any] | None = None, expected_version: int | None = None, *,
         registry: Registry | None = None, request_id: str | None = None) -> AuditEvent:
    """Fire ``trigger``: Refused (recorded), Conflict or InvalidInput, else the "applied" event."""

    def perform(compiled: CompiledWorkflow, exp: Explanation) -> _Change:
        cleaned = clean_inputs(exp.requires, compiled.input_specs, inputs)
        return _Change(inputs=cleaned, comment=cleaned.get("comment") or cleaned.get("reason"),
                       step=compiled.step(instance, exp, actor))

    return _operate(session, instance, actor, trigger,
                    authorize=lambda c: c.explain(instance, actor, trigger, session=session, inputs=inputs),
                    perform=perform, attempted=inputs, expected_version=expected_version, registry=registry,
                    request_id=request_id)


def editable_fields(instance: WorkflowMixin, compiled: CompiledWorkflow,
                    allowed_fields: list[str] | tuple[str, ...] | None = None) -> set[str]:
    """Fields an edit may touch now: the class's plain columns, narrowed by the definition and the caller."""
    mapper = inspect(type(instance))
    keys = {c.key for c in mapper.primary_key}
    fields = {a.key for a in mapper.column_attrs if not a.key.startswith("wf_") and a.key not in keys}
    for narrower in (compiled.editable_fields(instance.wf_state), allowed_fields):
        if narrower is not None:
            fields &= set(narrower)
    return fields


def edit(session: Session, instance: WorkflowMixin, actor: Actor, changes: Mapping[str, Any],
         expected_version: int | None = None, *, allowed_fields: list[str] | tuple[str, ...] | None = None,
         registry: Registry | None = None, request_id: str | None = None) -> AuditEvent:
    """Change editable fields; the event's diff is ``{field: [old, new]}``.

    Fields outside :func:`editable_fields` raise InvalidInput naming them. An edit that changes nothing also
    raises InvalidInput (key ``changes``), so every "applied" edit event records a real change.
    """

    def perform(compiled: CompiledWorkflow, _exp: Explanation) -> _Change:
        permitted = editable_fields(instance, compiled, allowed_fields)
        refused = {name: {"vi": "Trường này không được sửa", "en": "This field may not be edited"}
                   for name in changes if name not in permitted}
        if refused:
            raise InvalidInput(refused)
        diff = {name: [getattr(instance, name), new] for name, new in changes.items()
                if getattr(instance, name) != new}
        if not diff:
            raise InvalidInput({"changes": _NOTHING_CHANGED})
        for name, (_old, new) in diff.items():
            setattr(instance, name, new)
        return _Change(diff=diff)

    return _operate(session, instance, actor, "edit",
                    authorize=lambda c: c.explain_edit(instance, actor), perform=perform,
                    attempted={"fields": sorted(changes)}, expected_version=expected_version,
                    registry=registry, request_id=request_id)


def act(session: Session, instance: WorkflowMixin, actor: Actor, action: str, *,
        check: Callable[[], Explanation], apply: Callable[[], dict[str, Any] | None],
        inputs: Mapping[str, Any] | None = None, expected_version: int | None = None,
        registry: Registry | None = None, request_id: str | None = None) -> AuditEvent:
    """An audited domain action that leaves the state as it is (council assignment, score sheet, advance...).

    ``check`` runs after the lock (Refused, recorded, when not allowed); ``apply`` makes the change and returns
    the details for the event's diff.
    """

    def perform(_compiled: CompiledWorkflow, _exp: Explanation) -> _Change:
        details = apply()
        given = dict(inputs or {})
        return _Change(inputs=given, diff=details or {}, comment=given.get("comment") or given.get("reason"))

    return _operate(session, instance, actor, action, authorize=lambda _c: check(), perform=perform,
                    attempted=inputs, expected_version=expected_version, registry=registry,
                    request_id=request_id)


def authorize_action(session: Session, instance: WorkflowMixin, actor: Actor, action: str, *,
                     registry: Registry | None = None, request_id: str | None = None) -> CompiledWorkflow:
    """Who and when, before anything the caller gives is looked at: an actor without the role or scope of the
    declared domain action (``actions:``), or a subject in another state, is refused (Refused, recorded;
    403/409), so a caller without the role never learns which fields are missing. Guards wait for the inputs."""
    compiled = _compiled(instance, registry)
    exp = compiled.explain_action(instance, actor, action, session=session)
    if not exp.allowed and any(r.code != GUARD for r in exp.reasons):
        _defer(session, _attempt(instance, actor, action, exp, None, request_id))
        raise Refused(exp)
    return compiled


def action_inputs(session: Session, instance: WorkflowMixin, actor: Actor, action: str,
                  inputs: Mapping[str, Any] | None, *, registry: Registry | None = None,
                  request_id: str | None = None) -> dict[str, Any]:
    """The cleaned inputs of a declared domain action, the one step web and API share: :func:`authorize_action`
    (403/409), then the inputs the definition declares for it (InvalidInput, 422). The action's guards and the
    service's own checks run later, under the lock (:func:`act`)."""
    specs = authorize_action(session, instance, actor, action, registry=registry,
                             request_id=request_id).action_inputs.get(action, {})
    return clean_inputs(specs, specs, inputs)


# --- records imported from old files ----------------------------------------------------------------------

_FUTURE = {"vi": "Ngày {day} ở tương lai", "en": "{day} is in the future"}
_BEFORE = {"vi": "Ngày {day} trước sự kiện trước đó của hồ sơ ({last})",
           "en": "{day} is before the record's previous event ({last})"}


def _historical(effective_at: dt.datetime, last: dt.datetime | None) -> dt.datetime:
    """``effective_at`` in UTC, checked: not in the future, not before the subject's last event (``last``)."""
    moment = effective_at if effective_at.tzinfo else effective_at.replace(tzinfo=dt.UTC)
    day = f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"  # the engine knows no local zone
    if moment > utcnow():
        raise InvalidInput({"effective_at": {k: v.format(day=day) for k, v in _FUTURE.items()}})
    if last is not None and moment < last:
        last_day = f"{last.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        raise InvalidInput({"effective_at": {k: v.format(day=day, last=last_day) for k, v in _BEFORE.items()}})
    return moment


def _last_effective(session: Session, subject: WorkflowMixin) -> dt.datetime | None:
    """When the subject's last event happened: its historical date if imported, else when it was recorded."""
    row = session.execute(
        select(AuditEvent.effective_at, AuditEvent.occurred_at)
        .where(AuditEvent.subject_type == subject.wf_type(), AuditEvent.subject_id == subject.wf_subject_id())
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if row is None:
        return None
    moment: dt.datetime = row[0] or row[1]
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite gives back naive UTC


def import_event(session: Session, instance: WorkflowMixin, actor: Actor, trigger: str, *,
                 effective_at: dt.datetime, dest: str | None = None, inputs: Mapping[str, Any] | None = None,
                 comment: str | None = None, expected_version: int | None = None,
                 registry: Registry | None = None, request_id: str | None = None) -> AuditEvent:
    """Record a decision taken in the past, from old files: the subject moves along a transition of its pinned
    definition (``trigger`` from its current state, to ``dest`` when several rules share the trigger).

    Roles and guards are not checked: they judge facts of today (a council's sheets, an envelope's balance)
    that an old file does not hold; ``actor`` is whoever imports, and the event says ``imported``. The date
    is checked instead: not in the future, not before the subject's last event (InvalidInput, key
    ``effective_at``). Locking, the version, the pin, the stored move and the hash chain are those of every
    other write. No listener is told: an old decision sends no notice."""
    conn = _lock(session, instance)
    _check_version(instance, expected_version)
    compiled = _compiled(instance, registry)
    moment = _historical(effective_at, _last_effective(session, instance))
    rules = [r for r in compiled.rules_from.get(instance.wf_state, {}).get(trigger, ())
             if dest is None or r.dest == dest]
    if len({r.dest for r in rules}) != 1:
        state = compiled.title_of(instance.wf_state, "vi")
        raise InvalidInput({"trigger": {
            "vi": f"Không có bước '{trigger}'{f' tới {dest}' if dest else ''} từ trạng thái {state}"
                  if not rules else f"Bước '{trigger}' có nhiều đích từ {state}; hãy nêu trạng thái đích",
            "en": f"No step '{trigger}'{f' to {dest}' if dest else ''} from {instance.wf_state}"
                  if not rules else f"'{trigger}' has several destinations from {instance.wf_state}; name one"}})
    from_state = instance.wf_state
    fired = {k: list(v) for k, v in (instance.wf_fired_by or {}).items()}
    for key in (trigger, f"{trigger}@{from_state}"):  # as CompiledWorkflow.step counts them
        fired.setdefault(key, []).append(actor.user_id)
    values = _next_event(instance, action=trigger, outcome="applied", from_state=from_state,
                         to_state=rules[0].dest, **_pin(instance), **_actor_fields(actor, None), comment=comment,
                         inputs=dict(inputs or {}), request_id=request_id, effective_at=moment)
    _store(conn, instance, Step(rules[0].dest, fired), values, entered_at=moment)
    return audit.insert_event(session, values, conn)


# --- refusals ---------------------------------------------------------------------------------------------


def _attempt(subject: WorkflowMixin, actor: Actor, action: str, exp: Explanation,
             inputs: Mapping[str, Any] | None, request_id: str | None) -> _Attempt:
    identity = inspect(subject).identity
    assert identity is not None, "refusals are recorded for persisted subjects"
    return _Attempt(type(subject), tuple(identity), subject.wf_type(), subject.wf_subject_id(), subject.wf_state,
                    (subject.wf_workflow, subject.wf_workflow_version, subject.wf_sha256), actor, action,
                    [r.as_dict() for r in exp.reasons], dict(inputs or {}), request_id, utcnow())


def record_refusal(bind: Engine | Connection, instance: WorkflowMixin, actor: Actor, action: str,
                   explanation: Explanation, *, inputs: Mapping[str, Any] | None = None,
                   request_id: str | None = None) -> AuditEvent | None:
    """Record a refused attempt in a transaction of its own on ``bind`` (not one holding the subject's lock)."""
    return _write_refusal(bind, _attempt(instance, actor, action, explanation, inputs, request_id))


def _write_refusal(bind: Engine | Connection, attempt: _Attempt) -> AuditEvent | None:
    with Session(bind=bind, expire_on_commit=False) as session, session.begin():
        locked = _lock_row(session, attempt.subject_class, attempt.identity)
        if locked is None:
            return None  # the subject was never committed: there is no chain to record against
        workflow, version, sha = attempt.pin
        values = audit.event_values(
            seq=locked[1] + 1, prev_hash=locked[2], subject_type=attempt.subject_type,
            subject_id=attempt.subject_id, action=attempt.action, outcome="refused", from_state=attempt.state,
            to_state=attempt.state, workflow=workflow, workflow_version=version, workflow_sha256=sha,
            **_actor_fields(attempt.actor, None), inputs=dict(attempt.inputs), reasons=attempt.reasons,
            request_id=attempt.request_id, occurred_at=attempt.occurred_at)
        event = audit.insert_event(session, values)
        audit.keep_head(session, attempt.subject_type, attempt.subject_id, values["seq"], values["hash"])
        return event


def _defer(session: Session, attempt: _Attempt) -> None:
    session.info.setdefault(_PENDING_REFUSALS, []).append(attempt)


@event.listens_for(Session, "after_transaction_end")
def _record_pending_refusals(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.get(_PENDING_REFUSALS):
        return
    pending: list[_Attempt] = session.info.pop(_PENDING_REFUSALS)
    engine = session.get_bind()
    for attempt in pending:
        try:
            _write_refusal(engine, attempt)
        except Exception:  # the caller's own outcome stands; the lost record is logged loudly
            log.exception("could not record the refusal of %s on %s:%s", attempt.action, attempt.subject_type,
                          attempt.subject_id)
