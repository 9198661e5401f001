"""The audit trail: append-only events, one hash chain per subject, checkpoints, verification and export.

An event is written as ``body``, the canonical JSON of its fields (``prev_hash`` included), and ``hash =
sha256(body)``; every other column holds one of those fields, written by the engine from the same values in the
same INSERT (the database no longer re-parses the body once per generated column), and verification checks
each row's columns against its body, so what is queried is what was hashed. Verification streams ``(id, chain, seq, prev_hash, hash, body or hash check)`` in id order over raw
DB-API rows (no ORM objects, no JSON parsing per event) and links each event to its chain's head; only broken
chains are read again, to say how they broke. See docs/audit.md.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import sha256
from operator import itemgetter
from typing import Any, TextIO, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    configure_mappers,
    instrumentation,
    make_transient_to_detached,
    mapped_column,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from workflow.chaincheck import (
    CHECKPOINT_CHAIN,
    FIELDS,
    GENESIS,
    OPTIONAL_FIELDS,
    Break,
    Chains,
    Row,
    canonical,
    chain_name,
    check_checkpoints,
    classify_chain,
    digest,
    head_digest,
)
from workflow.storage import WorkflowMixin, create_db_engine, read_only, utcnow

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

OUTCOMES = ("applied", "refused", "created", "migrated", "checkpoint")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class _AuditBase(DeclarativeBase):
    metadata = metadata


class body_field(ColumnElement[Any]):
    """The SQL that reads one field out of ``body`` (compiled per database): the generated columns of 0002,
    kept for that migration; since 0012_perf_audit the engine writes the columns and verify checks them."""

    inherit_cache = True

    def __init__(self, name: str, kind: str = "text") -> None:
        self.name, self.kind = name, kind  # kind: text, int, json or time


@compiles(body_field, "postgresql")
def _body_field_postgresql(element: body_field, compiler: Any, **kw: Any) -> str:
    value = f"(body::jsonb ->> '{element.name}')"
    if element.kind == "int":
        return f"({value}::integer)"
    if element.kind == "json":
        return f"(body::jsonb -> '{element.name}')"
    if element.kind == "time":
        return f"audit_utc(body::jsonb ->> '{element.name}')"  # an IMMUTABLE wrapper made by the migration
    return value


@compiles(body_field)
def _body_field_sqlite(element: body_field, compiler: Any, **kw: Any) -> str:
    value = f"json_extract(body, '$.{element.name}')"
    if element.kind == "time":  # stored as SQLAlchemy stores SQLite datetimes
        return f"replace(replace({value}, 'T', ' '), 'Z', '')"
    return value


def _derived(type_: Any, name: str, kind: str = "text") -> Any:
    """A column holding the body's field ``name`` (kind: text, int, json or time), written at insert."""
    return mapped_column(type_, nullable=True, info={"body_kind": kind})


JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")  # the generated columns' type (0002)


class FieldJSON(TypeDecorator[Any]):
    """A JSON field column: JSONB on PostgreSQL; on SQLite the canonical text of the value (what the body holds
    for that field), so verify can compare the column with ``json_extract(body, ...)`` as text."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value if dialect.name == "postgresql" or value is None else canonical(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return json.loads(value) if isinstance(value, str) and dialect.name != "postgresql" else value


class AuditEvent(_AuditBase):
    """One audit event: ``body`` (the canonical JSON that ``hash`` is the SHA-256 of), ``hash``, and one
    column per field of the body, written from the same values (:func:`append`); verify reports any row whose
    columns disagree with its body. Rows are only ever inserted (triggers reject UPDATE, DELETE and, on
    PostgreSQL, TRUNCATE)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "seq"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_actor_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject_type: Mapped[str] = _derived(String(64), "subject_type")
    subject_id: Mapped[str] = _derived(String(64), "subject_id")
    seq: Mapped[int] = _derived(Integer, "seq", "int")
    occurred_at: Mapped[dt.datetime] = _derived(DateTime(timezone=True), "occurred_at", "time")
    actor_id: Mapped[str | None] = _derived(String(64), "actor_id")
    actor_role: Mapped[str | None] = _derived(String(64), "actor_role")
    actor_unit: Mapped[str | None] = _derived(String(16), "actor_unit")
    action: Mapped[str] = _derived(String(64), "action")
    from_state: Mapped[str | None] = _derived(String(64), "from_state")
    to_state: Mapped[str | None] = _derived(String(64), "to_state")
    workflow: Mapped[str | None] = _derived(String(64), "workflow")
    workflow_version: Mapped[int | None] = _derived(Integer, "workflow_version", "int")
    workflow_sha256: Mapped[str | None] = _derived(String(64), "workflow_sha256")
    comment: Mapped[str | None] = _derived(Text, "comment")
    inputs: Mapped[dict[str, Any]] = _derived(FieldJSON(), "inputs", "json")
    diff: Mapped[dict[str, Any]] = _derived(FieldJSON(), "diff", "json")
    outcome: Mapped[str] = _derived(String(16), "outcome")
    reasons: Mapped[list[dict[str, Any]]] = _derived(FieldJSON(), "reasons", "json")
    request_id: Mapped[str | None] = _derived(String(64), "request_id")
    prev_hash: Mapped[str] = _derived(String(64), "prev_hash")
    # Only imported records have it (the historical date, chaincheck.OPTIONAL_FIELDS); NULL costs nothing per row.
    effective_at: Mapped[dt.datetime | None] = _derived(DateTime(timezone=True), "effective_at", "time")

    @property
    def imported(self) -> bool:
        return self.effective_at is not None

    @property
    def effective(self) -> dt.datetime:
        """When it happened: the historical date of an imported record, else the time it was recorded."""
        return self.effective_at or self.occurred_at

    @property
    def subject(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.subject}#{self.seq} {self.action} {self.outcome}>"


FIELD_KINDS = {c.name: c.info["body_kind"] for c in AuditEvent.__table__.columns
               if "body_kind" in c.info}
# Every column the engine writes from the body: the hashed fields, and effective_at, which only imported records
# carry (with "imported": true, which needs no column of its own; chaincheck.OPTIONAL_FIELDS).
COLUMNS = (*FIELDS, "effective_at")
assert sorted(FIELD_KINDS) == sorted(COLUMNS), "every hashed field has its column"


def jsonable(value: Any) -> Any:
    """Values as JSON holds them: dates as ISO strings, sets as sorted lists, anything else as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)  # Decimal, UUID, an uploaded file...: recorded as text rather than lost


def format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # SQLite gives back naive UTC
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


_table = cast(Table, AuditEvent.__table__)
# Plain Core statements on the session's connection: the write path pays for no ORM unit of work here.
_HEAD = (select(_table.c.seq, _table.c.hash)
         .where(_table.c.subject_type == bindparam("t"), _table.c.subject_id == bindparam("i"))
         .order_by(_table.c.seq.desc()).limit(1))
_INSERT = insert(_table)
_JSON_FIELDS = tuple(name for name in COLUMNS if FIELD_KINDS[name] == "json")
_TIMES = ("occurred_at", "effective_at")
_PLAIN_FIELDS = tuple(name for name in COLUMNS if name not in _JSON_FIELDS and name not in _TIMES)
# The hot path's INSERT at the driver: values in the form each database stores (no per-column bind processing),
# the columns in the order :func:`_insert_row` gathers them.
_ORDER = ("body", "hash", *_PLAIN_FIELDS, *_JSON_FIELDS, *_TIMES)
_RAW_INSERT = {
    "sqlite": f"INSERT INTO audit_event ({', '.join(_ORDER)}) VALUES ({', '.join('?' for _ in _ORDER)})",
    "postgresql": f"INSERT INTO audit_event ({', '.join(_ORDER)}) VALUES "
                  f"({', '.join('%s::jsonb' if n in _JSON_FIELDS else '%s' for n in _ORDER)}) RETURNING id",
}
_plain_values = itemgetter(*_PLAIN_FIELDS)
_EMPTY_JSON: dict[type, str] = {dict: "{}", list: "[]"}


def _json_text(value: Any) -> str:
    """A JSON field's column: the canonical text its body holds (the usual empty ones need no encoder)."""
    return _EMPTY_JSON[type(value)] if not value and type(value) in _EMPTY_JSON else canonical(value)


def _sqlite_time(moment: dt.datetime | None) -> str | None:
    """A time as SQLAlchemy stores it on SQLite: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return None if moment is None else moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert_row(conn: Connection, fields: dict[str, Any], moment: dt.datetime, body: str, event_hash: str) -> int:
    """INSERT one event with every column, returning its id; ``fields`` as hashed (JSON fields go in as their
    canonical text, the text the body holds; the times on SQLite as SQLAlchemy stores them)."""
    dialect = conn.dialect.name
    if dialect not in _RAW_INSERT:
        key = conn.execute(_INSERT, {**fields, "occurred_at": moment, "body": body, "hash": event_hash})
        return int(key.inserted_primary_key[0])  # type: ignore[index]
    effective = fields.get("effective_at")
    times = (_sqlite_time(moment), _sqlite_time(effective)) if dialect == "sqlite" else (moment, effective)
    params = (body, event_hash, *_plain_values(fields), *(_json_text(fields[n]) for n in _JSON_FIELDS), *times)
    result = conn.exec_driver_sql(_RAW_INSERT[dialect], params)
    return int(result.scalar_one()) if dialect == "postgresql" else int(result.lastrowid)


def chain_head(conn: Connection, subject_type: str, subject_id: str) -> tuple[int, str]:
    """(seq, hash) of a chain's last event, (0, GENESIS) for a new chain. Callers hold the subject's lock."""
    row = conn.execute(_HEAD, {"t": subject_type, "i": subject_id}).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


def event_values(*, seq: int, prev_hash: str, subject_type: str, subject_id: str, action: str, outcome: str,
                 actor_id: str | None = None, actor_role: str | None = None, actor_unit: str | None = None,
                 from_state: str | None = None, to_state: str | None = None, workflow: str | None = None,
                 workflow_version: int | None = None, workflow_sha256: str | None = None,
                 comment: str | None = None, inputs: dict[str, Any] | None = None,
                 diff: dict[str, Any] | None = None, reasons: list[dict[str, Any]] | None = None,
                 request_id: str | None = None, occurred_at: dt.datetime | None = None,
                 effective_at: dt.datetime | None = None) -> dict[str, Any]:
    """The column values of the event at ``seq`` after ``prev_hash``: fields, canonical body and hash. With
    ``effective_at`` (an imported record's historical date) the body also holds it and ``imported: true``."""
    assert outcome in OUTCOMES, outcome
    moment = (occurred_at or utcnow()).astimezone(dt.UTC)
    fields: dict[str, Any] = {
        "action": action, "actor_id": actor_id, "actor_role": actor_role, "actor_unit": actor_unit,
        "comment": comment, "diff": jsonable(diff or {}), "from_state": from_state,
        "inputs": jsonable(inputs or {}), "occurred_at": format_time(moment), "outcome": outcome,
        "prev_hash": prev_hash, "reasons": jsonable(reasons or []), "request_id": request_id, "seq": seq,
        "subject_id": str(subject_id), "subject_type": subject_type, "to_state": to_state, "workflow": workflow,
        "workflow_sha256": workflow_sha256, "workflow_version": workflow_version,
    }
    effective = None
    if effective_at is not None:
        effective = effective_at.astimezone(dt.UTC) if effective_at.tzinfo else effective_at.replace(tzinfo=dt.UTC)
        fields.update(effective_at=format_time(effective), imported=True)
    body = canonical(fields)
    columns = {k: v for k, v in fields.items() if k != "imported"}
    return {**columns, "occurred_at": moment, "effective_at": effective, "hash": digest(body), "body": body}


def append(session: Session, *, subject_type: str, subject_id: str, **fields: Any) -> AuditEvent:
    """Append an event (fields as :func:`event_values` takes them) to its subject's chain; the caller holds the
    subject's lock. It is inserted at once, and a workflow subject's row gets the new chain head (0017_chain_head)."""
    conn = session.connection()
    seq, prev = chain_head(conn, subject_type, subject_id)
    values = event_values(seq=seq + 1, prev_hash=prev, subject_type=subject_type, subject_id=subject_id, **fields)
    event = insert_event(session, values)
    keep_head(session, subject_type, subject_id, values["seq"], values["hash"])
    return event


def insert_event(session: Session, values: dict[str, Any], conn: Connection | None = None) -> AuditEvent:
    """INSERT an event made by :func:`event_values` (every column in one statement, from the values just hashed:
    the database parses nothing; verify compares) and return it, detached with its identity (rows of the trail
    never change: nothing for the session to track, expire or flush; ``session.add`` attaches it if wanted). The
    caller keeps the subject's chain head (:func:`keep_head`, or in its own UPDATE of the subject row). ``conn``:
    the session's connection, when the caller holds it already."""
    event_id = _insert_row(conn or session.connection(), values, values["occurred_at"], values["body"], values["hash"])
    # The instance is built without the ORM constructor (which sets each attribute through its events): the
    # values go straight into its dict, as loaded ones do; then it gets its identity, so that adding it to a
    # session makes it persistent, never a second INSERT.
    if not _EVENT_MANAGER.mapper.configured:
        configure_mappers()  # as the constructor would: the attributes' instrumentation is set up here
    event: AuditEvent = _EVENT_MANAGER.new_instance()
    event.__dict__.update(values, id=event_id)
    make_transient_to_detached(event)
    return event


_EVENT_MANAGER: Any = instrumentation.manager_of_class(AuditEvent)


_SUBJECTS: dict[str, Any] = {}  # subject type -> mapper of the WorkflowMixin class whose rows hold the head


def _subject_mapper(subject_type: str) -> Any:
    """The mapper of the workflow subject class of ``subject_type``, None for chains without a subject row
    (users, envelopes, checkpoints...). Looked up among WorkflowMixin's mapped subclasses, cached when found."""
    if subject_type not in _SUBJECTS:
        pending: list[type] = [WorkflowMixin]
        while pending:
            cls = pending.pop()
            pending += cls.__subclasses__()
            mapper: Any = inspect(cls, raiseerr=False)
            if mapper is not None and cls.wf_type() == subject_type:  # type: ignore[attr-defined]
                _SUBJECTS[subject_type] = mapper
        if subject_type not in _SUBJECTS:
            return None
    return _SUBJECTS[subject_type]


@lru_cache(maxsize=64)
def _head_statement(mapper: Any) -> Any:
    (key,) = mapper.primary_key
    return update(key.table).where(key == bindparam("key")).values(
        wf_chain_seq=bindparam("seq"), wf_chain_hash=bindparam("hash"))


def keep_head(session: Session, subject_type: str, subject_id: str, seq: int, event_hash: str) -> None:
    """Write a workflow subject's new chain head on its row (and on its instance in ``session``, as committed
    values); chains without a subject row have nothing to keep."""
    mapper = _subject_mapper(subject_type)
    if mapper is None:
        return
    key = mapper.primary_key[0].type.python_type(subject_id)
    session.connection().execute(_head_statement(mapper), {"key": key, "seq": seq, "hash": event_hash})
    instance = session.identity_map.get(mapper.identity_key_from_primary_key([key]))
    if instance is not None:
        set_committed_value(instance, "wf_chain_seq", seq)
        set_committed_value(instance, "wf_chain_hash", event_hash)


def column_values(body: str) -> dict[str, Any]:
    """The column values a row with this body must hold (for import paths that write bodies they did not make)."""
    fields = json.loads(body)
    moment, effective = (dt.datetime.strptime(fields[name], TIME_FORMAT).replace(tzinfo=dt.UTC)
                         if fields.get(name) else None for name in _TIMES)
    return {**{name: fields.get(name) for name in FIELDS}, "occurred_at": moment, "effective_at": effective,
            "body": body, "hash": digest(body)}


def events_for(session: Session, subject_type: str, subject_id: object) -> list[AuditEvent]:
    """A subject's events in chain order."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                 AuditEvent.subject_id == str(subject_id)).order_by(AuditEvent.seq)
    ))


# --- checkpoints --------------------------------------------------------------------------------------------

_CHECKPOINT = tuple(CHECKPOINT_CHAIN.split(":"))
_CHECKPOINT_LOCK = 0x6766_6175_6469_74  # pg_advisory_xact_lock key: one checkpoint writer at a time


def _checkpoint_diffs(session: Session, ids: list[int] | None = None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Every checkpoint's ``(id, seq, diff)`` in order, or only those with these ``ids``; parsed one at a time."""
    query = (select(AuditEvent.id, AuditEvent.seq, AuditEvent.body)
             .where(AuditEvent.subject_type == _CHECKPOINT[0], AuditEvent.subject_id == _CHECKPOINT[1])
             .order_by(AuditEvent.seq))
    if ids is not None:
        if not ids:
            return
        query = query.where(AuditEvent.id <= max(ids))  # not one written since the verify began
    rows = session.execute(query.execution_options(yield_per=8))
    for event_id, seq, body in rows:
        yield event_id, seq, json.loads(body)["diff"]


def _current_heads(session: Session) -> dict[str, tuple[int, str]]:
    e = AuditEvent.__table__
    last = (select(e.c.subject_type, e.c.subject_id, func.max(e.c.seq).label("seq"))
            .group_by(e.c.subject_type, e.c.subject_id).subquery())
    rows = session.execute(
        select(e.c.subject_type, e.c.subject_id, e.c.seq, e.c.hash).join(
            last, (e.c.subject_type == last.c.subject_type) & (e.c.subject_id == last.c.subject_id)
            & (e.c.seq == last.c.seq)))
    return {name: (s, h) for t, i, s, h in rows if (name := chain_name(t, i)) != CHECKPOINT_CHAIN}


def checkpoint(session: Session, sign: Callable[[str], dict[str, str]] | None = None) -> AuditEvent | None:
    """Append a checkpoint naming every chain head that moved since the last one, and the digest of all
    heads (with what ``sign`` gives for the digest: see workflow.seal). None when nothing moved. Flushes; the
    caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_CHECKPOINT_LOCK)))
    known: dict[str, tuple[int, str]] = {}
    for _id, _seq, diff in _checkpoint_diffs(session):
        known.update((name, (seq, head)) for name, (seq, head) in diff["heads"].items())
    moved = {k: v for k, v in _current_heads(session).items() if known.get(k) != v}
    if not moved:
        return None
    known.update(moved)
    diff = {"heads": {k: list(v) for k, v in sorted(moved.items())}, "digest": head_digest(known)}
    if sign is not None:
        diff.update(sign(diff["digest"]))
    return append(session, subject_type=_CHECKPOINT[0], subject_id=_CHECKPOINT[1],
                  action="checkpoint", outcome="checkpoint", diff=diff)


# --- verification -------------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    count: int
    head_digest: str
    problems: list[Break] = field(default_factory=list)
    checkpoints: int = 0
    altered_columns: list[str] = field(default_factory=list)  # columns that disagree with their body
    rows_proven: bool = False  # the database proved each row's hash and columns (ROW_CHECK); else the scan did

    @property
    def first(self) -> Break | None:
        return self.problems[0] if self.problems else None


_BATCH = 5_000  # rows (with their bodies) held at once: 20,000 cost ~15 MB more, no faster
_MIN_STRETCH = 20_000  # ids per worker process, at least
# Each row's columns must say what its body says (the engine writes both from the same values). Compared in
# the scan's own SQL, so it costs no extra pass: a row whose columns disagree counts as changed.
_PG_VALUE = {**{name: f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" for name in _TIMES},
             **{name: f"{name}::jsonb" for name in FIELD_KINDS if FIELD_KINDS[name] == "json"}}
_SQLITE_VALUE = {**{name: f"replace({name}, ' ', 'T') || 'Z'" for name in _TIMES},
                 **{name: f"json({name})" for name in FIELD_KINDS if FIELD_KINDS[name] == "json"}}
_PG_PAIRS = ", ".join(f"'{f}', {_PG_VALUE.get(f, f)}" for f in FIELDS)
# An imported record's body also holds effective_at and "imported": true, exactly when its column is set.
_PG_OPTIONAL = (f"jsonb_strip_nulls(jsonb_build_object('effective_at', {_PG_VALUE['effective_at']}, "
                "'imported', CASE WHEN effective_at IS NOT NULL THEN true END))")
_PG_COLUMNS_AGREE = f"body::jsonb = (jsonb_build_object({_PG_PAIRS}) || {_PG_OPTIONAL})"


def _pg_json_text(name: str) -> str:
    """A JSON field column as compact JSON text. jsonb prints ``"k": v`` with spaces; json_strip_nulls re-emits it
    compact (strings escaped as json.dumps does) but drops null members, so a value holding a null, like one whose
    keys jsonb orders otherwise (by length) or a number it prints otherwise, renders unlike the body: slow path."""
    return (f"CASE WHEN {name} = '{{}}' THEN '{{}}' WHEN {name} = '[]' THEN '[]' "
            f"WHEN strpos({name}::text, 'null') = 0 THEN json_strip_nulls({name}::json)::text ELSE {name}::text END")


def _pg_body(fields: list[str]) -> str:
    """The canonical body rebuilt from the row's columns as text (what chaincheck.canonical writes: keys sorted,
    compact, to_json escaping as json.dumps(ensure_ascii=False) does). Every piece is valid JSON for its column,
    so a body equal to it holds exactly the columns' values. effective_at and imported appear only when set."""
    pieces: list[str] = []
    for name in sorted(fields):
        kind = FIELD_KINDS.get(name)
        if name == "imported":
            value = "'true'"
        elif kind == "time":
            value = f"'\"' || {_PG_VALUE[name]} || '\"'"
        elif kind == "json":
            value = _pg_json_text(name)
        elif kind == "int":
            value = f"{name}::text"
        else:
            value = f"to_json({name})::text"
        key = f"'{',' if pieces else '{'}\"{name}\":'"
        if name in OPTIONAL_FIELDS:  # concat() skips the NULL an ordinary record gives
            pieces.append(f"CASE WHEN effective_at IS NOT NULL THEN {key} || {value} END")
        else:
            pieces += [key, f"coalesce({value}, 'null')"]
    return f"concat({', '.join(pieces)}, '}}')"


# The fast check, as on SQLite: the body is the columns' canonical rendering (one text comparison, no parse).
# A row that fails it (a value rendered otherwise, see _pg_json_text) falls back to comparing as jsonb.
_PG_COLUMNS_RENDERED = f"body = {_pg_body([*FIELDS, *OPTIONAL_FIELDS])}"
# PostgreSQL holds every row to both comparisons as it is written: the CHECK constraint ROW_CHECK calls this
# function (its text below, run with search_path pinned so no other schema's functions can stand in) on the
# row's body, hash and columns. A CHECK cannot be disabled like a trigger: it can only be dropped, and put back
# validated only if every row passes it. So while it is the genuine one and validated (_row_check_holds), the
# scan need not redo per row what the database has proven for every row, and only links the chains. Only a role
# that can write the system catalogs (a superuser) could fake that; `recheck_rows` redoes it regardless.
ROW_CHECK = "ck_audit_event_row"
ROW_CHECK_FUNCTION = "audit_event_row_agrees"
_ROW_CHECK_ARGS = ("body", "hash", *COLUMNS)
ROW_CHECK_SOURCE = ("SELECT coalesce(hash = encode(sha256(convert_to(body, 'UTF8')), 'hex') "
                    f"AND ({_PG_COLUMNS_RENDERED} OR {_PG_COLUMNS_AGREE}), false)")
_ROW_CHECK_CONFIG = ["search_path=pg_catalog, pg_temp"]
_ROW_CHECK_DEFINITION = f"CHECK ({ROW_CHECK_FUNCTION}({', '.join(_ROW_CHECK_ARGS)}))"


def row_check_statements() -> list[str]:
    """What makes the constraint (migration 0022): the function, then the constraint, validated over every row."""
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    params = ", ".join(f"{name} {_table.c[name].type.compile(dialect=pg)}" for name in _ROW_CHECK_ARGS)
    return [f"CREATE FUNCTION {ROW_CHECK_FUNCTION}({params}) RETURNS boolean LANGUAGE sql STABLE "
            f"SET search_path = pg_catalog, pg_temp AS $row_check${ROW_CHECK_SOURCE}$row_check$",
            f"ALTER TABLE audit_event ADD CONSTRAINT {ROW_CHECK} {_ROW_CHECK_DEFINITION} NOT VALID",
            f"ALTER TABLE audit_event VALIDATE CONSTRAINT {ROW_CHECK}"]


_ROW_CHECK_FOUND = text(
    "SELECT c.convalidated, pg_get_constraintdef(c.oid), p.proname, p.prosrc, l.lanname, p.proconfig "
    "FROM pg_constraint c "
    "JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid "
    "AND d.refclassid = 'pg_proc'::regclass "
    "JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_language l ON l.oid = p.prolang "
    "WHERE c.conrelid = 'audit_event'::regclass AND c.conname = :name")


def _row_check_holds(conn: Connection) -> bool:
    """The database has proven every row's hash and columns: ROW_CHECK is validated, says what it should, and
    calls the one function, whose text and settings are this module's."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(_ROW_CHECK_FOUND, {"name": ROW_CHECK}).all()
    return found == [(True, _ROW_CHECK_DEFINITION, ROW_CHECK_FUNCTION, ROW_CHECK_SOURCE, "sql", _ROW_CHECK_CONFIG)]


_SQLITE_COLUMNS_DIFFER = " OR ".join(
    [f"json_extract(body, '$.{f}') IS NOT {_SQLITE_VALUE.get(f, f)}" for f in COLUMNS]
    + ["json_extract(body, '$.imported') IS NOT (CASE WHEN effective_at IS NOT NULL THEN 1 END)"])


def _sqlite_body(fields: list[str]) -> str:
    """The canonical body rebuilt from the row's columns by SQLite (keys sorted, compact, UTF-8 unescaped: what
    chaincheck.canonical writes), so one text comparison checks every column without parsing the body."""
    values = {**_SQLITE_VALUE, "imported": "json('true')"}
    return "json_object(" + ", ".join(f"'{f}', {values.get(f, f)}" for f in sorted(fields)) + ")"


# The fast check: the body is the columns' canonical rendering. A row that fails it (a rendering SQLite writes
# differently, or a body not in canonical form) falls back to comparing field by field, as before.
_SQLITE_COLUMNS_AGREE = (f"body = CASE WHEN effective_at IS NULL THEN {_sqlite_body(list(FIELDS))} "
                         f"ELSE {_sqlite_body([*FIELDS, 'effective_at', 'imported'])} END")
# A row without subject columns (written around the engine) is a chain of its own, "#id", reported as changed.
_CHAIN = "coalesce(subject_type || ':' || subject_id, '#' || id)"
# Hashing happens where it is cheapest: PostgreSQL hashes in the server (and streams while this process links
# chains); SQLite has no SHA-256, so its bodies come back as bytes and are hashed here (NULL: the columns differ).
_ROWS = {
    "postgresql": f"SELECT id, {_CHAIN}, coalesce(seq, 0), coalesce(prev_hash, ''), hash, "
                  "CASE WHEN encode(pg_catalog.sha256(convert_to(body, 'UTF8')), 'hex') = hash "
                  f"THEN CASE WHEN {_PG_COLUMNS_RENDERED.replace('{', '{{').replace('}', '}}')} THEN true ELSE coalesce({_PG_COLUMNS_AGREE}, false) END "
                  "ELSE false END FROM audit_event {where}",
    "sqlite": f"SELECT id, {_CHAIN}, coalesce(seq, 0), coalesce(prev_hash, ''), hash, "
              f"CASE WHEN {_SQLITE_COLUMNS_AGREE} THEN CAST(body AS BLOB) "
              f"WHEN json_valid(body) AND NOT coalesce({_SQLITE_COLUMNS_DIFFER}, 1) THEN CAST(body AS BLOB) END "
              "FROM audit_event {where}",
    # ROW_CHECK holds (see there): every row's hash and columns are proven; only the chains are left to link.
    "postgresql-proven": f"SELECT id, {_CHAIN}, coalesce(seq, 0), coalesce(prev_hash, ''), hash, true "
                         "FROM audit_event {where}",
}


def _rows(conn: Connection, where: str = "", params: tuple[Any, ...] = (), name: str | None = None,
          proven: bool = False) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of ``(id, chain, seq, prev_hash, hash, checked)``; see :func:`_body_ok` for ``checked``.
    ``proven``: the database vouches for every row (:func:`_row_check_holds`), so nothing is checked per row."""
    cursor = _cursor(conn, name)
    try:
        cursor.execute(_ROWS["postgresql-proven" if proven else conn.dialect.name].format(where=where), params)
        while batch := cursor.fetchmany(_BATCH):
            yield batch
    finally:
        cursor.close()


def _body_ok(checked: bool | bytes | None, event_hash: str) -> bool:
    """PostgreSQL already compared the hash and the columns (a bool); from SQLite come the body's bytes, hashed
    here, or None when the row's columns disagree with its body."""
    if checked is None or isinstance(checked, bool):
        return bool(checked)
    return sha256(checked).hexdigest() == event_hash


def _engine_of(source: Session | Engine | Connection) -> Engine:
    """A read-only engine on the source's database: verify and export never take the write lock."""
    bind = source.get_bind() if isinstance(source, Session) else source
    return read_only(bind.engine if isinstance(bind, Connection) else bind)


def _cursor(conn: Connection, name: str | None = None) -> Any:
    """A raw DB-API cursor; named on PostgreSQL (server-side), so memory stays flat over millions of rows."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw.cursor(name=name, binary=True) if name and conn.dialect.name == "postgresql" else raw.cursor()


def _mismatched_columns(conn: Connection, event_ids: list[int]) -> list[str]:
    """The columns that disagree with their body in these (broken) events: to say what was altered."""
    if not event_ids:
        return []
    found: set[str] = set()
    for row in conn.execute(select(_table).where(_table.c.id.in_(event_ids))).mappings():
        try:
            fields = json.loads(row["body"])
        except ValueError:
            continue
        for name in COLUMNS:
            value = row[name]
            stored = format_time(value) if isinstance(value, dt.datetime) else value
            if stored != fields.get(name):
                found.add(name)
    return sorted(found)


def verify_chain(source: Session | Engine | Connection, *, workers: int = 1, min_stretch: int = _MIN_STRETCH,
                 progress: Callable[[int], None] | None = None, recheck_rows: bool = False) -> VerifyResult:
    """Recompute every chain and checkpoint. Reads only (and never waits for writers); safe while the app runs.

    Each row's hash and columns are checked against its body by the scan, or, on PostgreSQL, proven by the
    database's validated ROW_CHECK constraint (unless ``recheck_rows``); ``rows_proven`` says which.

    With ``workers`` > 1 the ids are split into up to that many stretches of at least ``min_stretch`` ids,
    scanned by forked processes on their own connections and joined in id order (:meth:`Chains.absorb`).
    Only for a process without threads of its own, such as the command line. ``progress`` (single process
    only) is told the number of events linked so far after each batch."""
    engine = _engine_of(source)
    with engine.connect() as conn:
        with Session(bind=conn) as session:
            # Only the heads they name are kept during the scan: the parsed diffs are read again at the end.
            checkpoint_ids, wanted = _wanted_heads(session)
        disagreeing: set[int] = set()  # (the columns are checked in the scan itself)
        proven = not recheck_rows and _row_check_holds(conn)
        on_disk = engine.url.database not in (None, "", ":memory:")
        stretches = _stretches(conn, workers, min_stretch) if workers > 1 and on_disk else [(None, None)]
    if len(stretches) > 1:
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()  # so the forked workers inherit no open connection
        with ProcessPoolExecutor(len(stretches), mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_scan_stretch, url, lo, hi, wanted, disagreeing, proven) for lo, hi in stretches]
            scans = [f.result() for f in futures]
    else:
        with engine.connect() as conn:
            scans = [_scan(conn, None, None, wanted, disagreeing, progress, proven)]
    chains, found = scans[0]
    for later, later_found in scans[1:]:
        chains.absorb(later)
        for chain, hashes in later_found.items():  # a chain's named heads may lie in several stretches
            earlier = found.get(chain)
            if isinstance(earlier, dict) and isinstance(hashes, dict):
                earlier.update(hashes)
            else:
                found[chain] = hashes
    del scans
    with engine.connect() as conn:
        if proven and not _row_check_holds(conn):  # dropped while the scan ran: its rows are not proven
            return verify_chain(source, workers=workers, min_stretch=min_stretch, progress=progress,
                                recheck_rows=True)
        problems = [b for chain in sorted(chains.broken | _chains_of(conn, disagreeing))
                    if (b := _classify(conn, chain, disagreeing)) is not None]
        altered = _mismatched_columns(conn, sorted({b.event_id for b in problems if b.kind == "changed"}))
    count, digest = chains.count, chains.head_digest()
    del chains  # the heads of every chain: not needed while the checkpoints are replayed
    with engine.connect() as conn, Session(bind=conn) as session:
        cp_problems, _digests = check_checkpoints(_checkpoint_diffs(session, checkpoint_ids),
                                                  lambda c, q: _found_hash(wanted, found, c, q))
    problems = sorted(problems + cp_problems, key=lambda b: b.event_id)
    return VerifyResult(not problems, count, digest, problems, len(checkpoint_ids), altered, proven)


# Per chain, the verify keeps little: ``wanted`` maps a chain to the one seq checkpoints name (an int), or to a
# frozenset when they name several; ``found`` maps it to that head's hash as 32 bytes (or seq -> bytes).
Wanted = dict[str, int | frozenset[int]]
Found = dict[str, bytes | dict[int, bytes]]


def _wanted_heads(session: Session) -> tuple[list[int], Wanted]:
    """The ids of the checkpoints, and the seqs of the chain heads they name."""
    ids: list[int] = []
    wanted: dict[str, int | set[int]] = {}
    for event_id, _seq, diff in _checkpoint_diffs(session):
        ids.append(event_id)
        for chain, seq in _named_heads(diff):
            known = wanted.setdefault(chain, seq)
            if known != seq:
                wanted[chain] = (known if isinstance(known, set) else {known}) | {seq}
    return ids, {c: frozenset(q) if isinstance(q, set) else q for c, q in wanted.items()}


def _found_hash(wanted: Wanted, found: Found, chain: str, seq: int) -> str | None:
    """The hash (hex) the scan found at ``seq`` of ``chain``; None when no such event was seen."""
    hashes = found.get(chain)
    if isinstance(hashes, dict):
        hashes = hashes.get(seq)
    elif wanted.get(chain) != seq:
        hashes = None
    return None if hashes is None else hashes.hex()


def _stretches(conn: Connection, parts: int, min_width: int) -> list[tuple[int | None, int | None]]:
    """Split the ids into up to ``parts`` contiguous ``[lo, hi)`` stretches of about equal width."""
    low, high = conn.execute(select(func.min(AuditEvent.id), func.max(AuditEvent.id))).one()
    if low is None:
        return [(None, None)]
    parts = max(1, min(parts, (high - low + 1) // max(min_width, 1)))
    width = -(-(high - low + 1) // parts)
    bounds = [low + i * width for i in range(parts)]
    return [(lo if i else None, bounds[i + 1] if i + 1 < parts else None) for i, lo in enumerate(bounds)]


def _scan(conn: Connection, lo: int | None, hi: int | None, wanted: Wanted, disagreeing: set[int],
          progress: Callable[[int], None] | None = None, proven: bool = False) -> tuple[Chains, Found]:
    """Link the events with ids in ``[lo, hi)`` (None: unbounded); also the hashes of the heads ``wanted``."""
    p = "%s" if conn.dialect.name == "postgresql" else "?"
    where = " AND ".join([f"id >= {p}"] * (lo is not None) + [f"id < {p}"] * (hi is not None))
    params = tuple(v for v in (lo, hi) if v is not None)
    chains = Chains(midway=lo is not None)
    found: Found = {}
    hashed_by_server = conn.dialect.name == "postgresql"
    batches = _rows(conn, f"{'WHERE ' + where if where else ''} ORDER BY id", params, "audit_verify", proven)
    for batch in batches:
        if hashed_by_server and not disagreeing:  # each row is already (id, chain, seq, prev_hash, hash, body_ok)
            chains.add_rows(batch)
        else:
            chains.add_rows([(i, c, q, ph, h, (ok if hashed_by_server else ok is not None and sha256(ok).hexdigest() == h)
                              and not (disagreeing and i in disagreeing)) for i, c, q, ph, h, ok in batch])
        for _id, chain, seq, _prev, event_hash, _ok in batch if wanted else ():
            if (named := wanted.get(chain)) is not None:
                if named.__class__ is int:
                    if seq == named:
                        found[chain] = bytes.fromhex(event_hash)
                elif seq in named:  # type: ignore[operator]
                    cast(dict[int, bytes], found.setdefault(chain, {}))[seq] = bytes.fromhex(event_hash)
        del batch
        if progress is not None:
            progress(chains.count)
    return chains, found


def _scan_stretch(url: str, lo: int | None, hi: int | None, wanted: Wanted,
                  disagreeing: set[int], proven: bool) -> tuple[Chains, Found]:
    """:func:`_scan` in a worker process, on a connection of its own."""
    engine = read_only(create_db_engine(url, poolclass=NullPool))
    try:
        with engine.connect() as conn:
            return _scan(conn, lo, hi, wanted, disagreeing, proven=proven)
    finally:
        engine.dispose()


def _named_heads(diff: dict[str, Any]) -> Iterator[tuple[str, int]]:
    for chain, (seq, _hash) in diff.get("heads", {}).items():
        yield chain, seq


def _chains_of(conn: Connection, event_ids: set[int]) -> set[str]:
    if not event_ids:
        return set()
    rows = conn.execute(select(AuditEvent.subject_type, AuditEvent.subject_id).where(AuditEvent.id.in_(event_ids)))
    return {chain_name(t, i) for t, i in rows}


def _classify(conn: Connection, chain: str, disagreeing: set[int]) -> Break | None:
    if chain.startswith("#"):  # see _CHAIN
        return Break(int(chain[1:]), chain, 0, "changed", "its subject columns are empty: they disagree with its body")
    p = "%s" if conn.dialect.name == "postgresql" else "?"
    subject_type, _, subject_id = chain.partition(":")
    rows = [Row(i, c, q, ph, h, _body_ok(checked, h) and i not in disagreeing)
            for batch in _rows(conn, f"WHERE subject_type = {p} AND subject_id = {p} ORDER BY seq, id",
                               (subject_type, subject_id))
            for i, c, q, ph, h, checked in batch]
    return classify_chain(rows)


# --- export and command line --------------------------------------------------------------------------------


def export(source: Session | Engine | Connection, out: TextIO) -> int:
    """Write every event, in id order, as ``{"id", "hash", "event"}`` JSON lines; returns the count."""
    engine = _engine_of(source)
    count = 0
    with engine.connect() as conn:
        cursor = _cursor(conn, "audit_export")
        try:
            cursor.execute("SELECT id, hash, body FROM audit_event ORDER BY id")
            while batch := cursor.fetchmany(_BATCH):
                out.writelines(f'{{"id":{i},"hash":"{h}","event":{b}}}\n' for i, h, b in batch)
                count += len(batch)
        finally:
            cursor.close()
    return count


def cli_verify(url: str, workers: int = 1) -> int:
    engine = create_db_engine(url)
    try:
        result = verify_chain(engine, workers=workers)
    finally:
        engine.dispose()
    if result.ok:
        print(f"OK {result.count} events, {result.checkpoints} checkpoints; head digest {result.head_digest}")
        return 0
    print(f"BROKEN: {result.first}")
    if len(result.problems) > 1:
        print(f"({len(result.problems) - 1} more problem(s) after it)")
    return 1


def cli_export(url: str, out: TextIO) -> int:
    engine = create_db_engine(url)
    try:
        count = export(engine, out)
    finally:
        engine.dispose()
    print(f"exported {count} events", file=sys.stderr)
    return 0
