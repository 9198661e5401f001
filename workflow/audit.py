"""The audit trail: append-only events, one hash chain per subject, checkpoints, verification and export.

Every event stores its fields as columns (to query) and as ``body``, their canonical JSON (the bytes hashed):
``hash = sha256(body)`` and the body holds ``prev_hash``. Verification streams ``(id, subject, seq, prev_hash,
hash, body)`` in id order, hashing stored bytes (no per-row ORM objects, no JSON work), while the database
compares every row's columns with its body in one set-based query. See docs/audit.md.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, TextIO, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, make_transient_to_detached, mapped_column

from workflow.chaincheck import (
    CHECKPOINT_CHAIN,
    FIELDS,
    GENESIS,
    Break,
    ChainKey,
    Chains,
    Row,
    canonical,
    chain_name,
    check_checkpoints,
    classify_chain,
    digest,
    head_digest,
)
from workflow.storage import create_db_engine, read_only, utcnow

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

OUTCOMES = ("applied", "refused", "created", "migrated", "checkpoint")
JSON_FIELDS = ("inputs", "diff", "reasons")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class _AuditBase(DeclarativeBase):
    metadata = metadata


class AuditEvent(_AuditBase):
    """One audit event. Rows are only ever inserted (database triggers reject UPDATE, DELETE, TRUNCATE)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "seq"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_actor_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(64))
    actor_unit: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    workflow: Mapped[str | None] = mapped_column(String(64))
    workflow_version: Mapped[int | None] = mapped_column(Integer)
    workflow_sha256: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)  # the canonical JSON that ``hash`` is the SHA-256 of

    @property
    def subject(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.subject}#{self.seq} {self.action} {self.outcome}>"


def jsonable(value: Any) -> Any:
    """Values as JSON holds them: dates as ISO strings, sets as sorted lists."""
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
    return value


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
                 request_id: str | None = None, occurred_at: dt.datetime | None = None) -> dict[str, Any]:
    """The column values of the event at ``seq`` after ``prev_hash``: fields, canonical body and hash."""
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
    body = canonical(fields)
    values: dict[str, Any] = json.loads(body)  # JSON columns hold exactly what was hashed, keys sorted
    values.update(occurred_at=moment, hash=digest(body), body=body)
    return values


def append(session: Session, *, subject_type: str, subject_id: str, **fields: Any) -> AuditEvent:
    """Append an event (fields as :func:`event_values` takes them) to its subject's chain; the caller holds the
    subject's lock. It is inserted at once."""
    conn = session.connection()
    seq, prev = chain_head(conn, subject_type, subject_id)
    values = event_values(seq=seq + 1, prev_hash=prev, subject_type=subject_type, subject_id=subject_id, **fields)
    key = conn.execute(_INSERT, values).inserted_primary_key
    assert key is not None
    event = AuditEvent(id=key[0], **values)
    make_transient_to_detached(event)
    session.add(event)  # persistent without a second INSERT, so callers may keep using it in the session
    return event


def events_for(session: Session, subject_type: str, subject_id: object) -> list[AuditEvent]:
    """A subject's events in chain order."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                 AuditEvent.subject_id == str(subject_id)).order_by(AuditEvent.seq)
    ))


# --- checkpoints --------------------------------------------------------------------------------------------

_CHECKPOINT_LOCK = 0x6766_6175_6469_74  # pg_advisory_xact_lock key: one checkpoint writer at a time


def _checkpoint_diffs(session: Session) -> Iterator[tuple[int, int, dict[str, Any]]]:
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.seq, AuditEvent.body)
        .where(AuditEvent.subject_type == CHECKPOINT_CHAIN[0], AuditEvent.subject_id == CHECKPOINT_CHAIN[1])
        .order_by(AuditEvent.seq))
    for event_id, seq, body in rows:
        yield event_id, seq, json.loads(body)["diff"]


def _current_heads(session: Session) -> dict[ChainKey, tuple[int, str]]:
    e = AuditEvent.__table__
    last = (select(e.c.subject_type, e.c.subject_id, func.max(e.c.seq).label("seq"))
            .group_by(e.c.subject_type, e.c.subject_id).subquery())
    rows = session.execute(
        select(e.c.subject_type, e.c.subject_id, e.c.seq, e.c.hash).join(
            last, (e.c.subject_type == last.c.subject_type) & (e.c.subject_id == last.c.subject_id)
            & (e.c.seq == last.c.seq)))
    return {(t, i): (s, h) for t, i, s, h in rows if (t, i) != CHECKPOINT_CHAIN}


def checkpoint(session: Session) -> AuditEvent | None:
    """Append a checkpoint naming every chain head that moved since the last one, and the digest of all
    heads. None when nothing moved. Flushes; the caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_CHECKPOINT_LOCK)))
    known: dict[ChainKey, tuple[int, str]] = {}
    for _id, _seq, diff in _checkpoint_diffs(session):
        for name, (seq, head) in diff["heads"].items():
            subject_type, _, subject_id = name.partition(":")
            known[(subject_type, subject_id)] = (seq, head)
    moved = {k: v for k, v in _current_heads(session).items() if known.get(k) != v}
    if not moved:
        return None
    known.update(moved)
    diff = {"heads": {chain_name(k): list(v) for k, v in sorted(moved.items())}, "digest": head_digest(known)}
    return append(session, subject_type=CHECKPOINT_CHAIN[0], subject_id=CHECKPOINT_CHAIN[1],
                  action="checkpoint", outcome="checkpoint", diff=diff)


# --- verification -------------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    count: int
    head_digest: str
    problems: list[Break] = field(default_factory=list)
    checkpoints: int = 0

    @property
    def first(self) -> Break | None:
        return self.problems[0] if self.problems else None


_BATCH = 20_000
_PG_TIME = "'\"' || to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\"'"
_INTEGER_FIELDS = ("seq", "workflow_version")


def _canonical_sql(dialect: str) -> str:
    """SQL that rebuilds an event's canonical JSON from its columns, byte for byte as :func:`canonical` writes
    it (both databases escape strings as Python's json does; JSON columns hold compact text, see storage)."""
    postgres = dialect == "postgresql"
    parts: list[str] = []
    for name in FIELDS:
        if name in JSON_FIELDS:
            value = f"{name}::text" if postgres else name
        elif name == "occurred_at":
            value = _PG_TIME.format(c=name) if postgres else f"'\"' || replace({name}, ' ', 'T') || 'Z\"'"
        elif postgres:
            value = f"COALESCE({name}::text, 'null')" if name in _INTEGER_FIELDS else \
                f"COALESCE(to_json({name})::text, 'null')"
        else:
            value = f"json_quote({name})"
        parts.append(f"'{',' if parts else '{'}\"{name}\":' || {value}")
    return " || ".join(parts) + " || '}'"


def _select_sql(dialect: str, where: str = "") -> str:
    """Rows for chain checking: ``(id, subject_type, subject_id, seq, prev_hash, hash, ok)``. ``ok`` says the
    columns rebuild the stored body and the body hashes to the stored hash. PostgreSQL computes all of it;
    SQLite, which has no SHA-256, returns the body's bytes in place of the hash check (see _rows)."""
    rebuilt = _canonical_sql(dialect)
    if dialect == "postgresql":
        ok = (f"CASE WHEN body = {rebuilt} THEN encode(pg_catalog.sha256(convert_to(body, 'UTF8')), 'hex') = hash "
              "ELSE false END")
        tail = ok
    else:
        tail = f"CAST(body AS BLOB), body = {rebuilt}"
    order = "seq, id" if where else "id"
    return (f"SELECT id, subject_type, subject_id, seq, prev_hash, hash, {tail} FROM audit_event {where} "
            f"ORDER BY {order}")


def _rows(cursor: Any, dialect: str) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of ``(id, subject_type, subject_id, seq, prev_hash, hash, ok)``, hashing here on SQLite."""
    while batch := cursor.fetchmany(_BATCH):
        if dialect == "postgresql":
            yield batch
        else:
            yield [(i, t, s, q, p, h, same and sha256(body).hexdigest() == h) for i, t, s, q, p, h, body, same in batch]


def _engine_of(source: Session | Engine | Connection) -> Engine:
    """A read-only engine on the source's database: verify and export never take the write lock."""
    bind = source.get_bind() if isinstance(source, Session) else source
    return read_only(bind.engine if isinstance(bind, Connection) else bind)


def _cursor(conn: Connection, name: str | None = None) -> Any:
    """A raw DB-API cursor; named on PostgreSQL (server-side), so memory stays flat over millions of rows."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw.cursor(name=name) if name and conn.dialect.name == "postgresql" else raw.cursor()


def verify_chain(source: Session | Engine | Connection) -> VerifyResult:
    """Recompute every chain and checkpoint. Reads only (and never waits for writers); safe while the app runs."""
    engine = _engine_of(source)
    dialect = engine.dialect.name
    chains = Chains()
    with engine.connect() as conn:
        with Session(bind=conn) as session:
            checkpoints = list(_checkpoint_diffs(session))
        wanted = {(key, seq): "" for _id, _seq, diff in checkpoints for key, seq in _named_heads(diff)}
        cursor = _cursor(conn, "audit_verify")
        try:
            cursor.execute(_select_sql(dialect))
            add = chains.add
            for batch in _rows(cursor, dialect):
                for event_id, subject_type, subject_id, seq, prev_hash, event_hash, ok in batch:
                    key = (subject_type, subject_id)
                    add(event_id, key, seq, prev_hash, event_hash, ok)
                    if wanted and (key, seq) in wanted:
                        wanted[(key, seq)] = event_hash
        finally:
            cursor.close()
        problems = [b for key in sorted(chains.broken) if (b := _classify(conn, key)) is not None]
    cp_problems, _digests = check_checkpoints(checkpoints, lambda k, s: wanted.get((k, s)) or None)
    problems = sorted(problems + cp_problems, key=lambda b: b.event_id)
    return VerifyResult(not problems, chains.count, chains.head_digest(), problems, len(checkpoints))


def _named_heads(diff: dict[str, Any]) -> Iterator[tuple[ChainKey, int]]:
    for name, (seq, _hash) in diff.get("heads", {}).items():
        subject_type, _, subject_id = name.partition(":")
        yield (subject_type, subject_id), seq


def _classify(conn: Connection, key: ChainKey) -> Break | None:
    dialect = conn.dialect.name
    p = "%s" if dialect == "postgresql" else "?"
    cursor = _cursor(conn)
    try:
        cursor.execute(_select_sql(dialect, f"WHERE subject_type = {p} AND subject_id = {p}"), key)
        return classify_chain([Row(*row) for batch in _rows(cursor, dialect) for row in batch])
    finally:
        cursor.close()


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


def cli_verify(url: str) -> int:
    engine = create_db_engine(url)
    try:
        result = verify_chain(engine)
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


def cli_checkpoint(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session, session.begin():
            event = checkpoint(session)
            message = (f"checkpoint {event.id}: {len(event.diff['heads'])} chain head(s) moved; "
                       f"digest {event.diff['digest']}") if event else "nothing moved since the last checkpoint"
    finally:
        engine.dispose()
    print(message)
    return 0
