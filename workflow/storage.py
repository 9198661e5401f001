"""Persistence pieces the engine owns: the subject mixin and database engine creation.

Any mapped class that uses :class:`WorkflowMixin` can be driven by ``workflow.operations``: it pins the
definition it runs under, holds its state, and carries a version counter for optimistic locking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Integer, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from workflow.chaincheck import GENESIS
from workflow.permissions import Place


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WorkflowMixin:
    """Columns that make a mapped class a workflow subject.

    Subclasses implement :meth:`wf_place` (who owns it, where it is) and may expose facts that guards read
    (``attachment_kinds``, ``council_result``...) as attributes or zero-argument methods.
    """

    wf_subject_type: ClassVar[str] = ""  # defaults to the table name
    wf_state_index: ClassVar[bool] = True  # False where a wider index leads with wf_state (proposal: 0021)

    @declared_attr
    def wf_workflow(cls) -> Mapped[str]:
        return mapped_column(String(64), nullable=False)

    @declared_attr
    def wf_workflow_version(cls) -> Mapped[int]:
        return mapped_column(Integer, nullable=False)

    @declared_attr
    def wf_sha256(cls) -> Mapped[str]:
        return mapped_column(String(64), nullable=False)

    @declared_attr
    def wf_state(cls) -> Mapped[str]:
        return mapped_column(String(64), nullable=False, index=cls.wf_state_index)

    @declared_attr
    def wf_version(cls) -> Mapped[int]:
        return mapped_column(Integer, nullable=False, default=1)

    @declared_attr
    def wf_fired_by(cls) -> Mapped[dict[str, Any]]:
        return mapped_column(JSON, nullable=False, default=dict)

    @declared_attr
    def wf_entered_at(cls) -> Mapped[dt.datetime]:
        return mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    # The head of the subject's audit chain (seq and hash of its last event, refusals included), written with
    # every event (workflow.audit): a transition reads it from the row it locked, not from audit_event (0017).
    @declared_attr
    def wf_chain_seq(cls) -> Mapped[int]:
        return mapped_column(Integer, nullable=False, default=0, server_default="0")

    @declared_attr
    def wf_chain_hash(cls) -> Mapped[str]:
        return mapped_column(String(64), nullable=False, default=GENESIS, server_default=GENESIS)

    def wf_place(self) -> Place:
        raise NotImplementedError(f"{type(self).__name__} must say where it stands (wf_place)")

    @classmethod
    def wf_type(cls) -> str:
        return cls.wf_subject_type or getattr(cls, "__tablename__", cls.__name__.lower())

    def wf_subject_id(self) -> str:
        return str(self.id)  # type: ignore[attr-defined]

    def wf_pin(self, compiled: Any) -> None:
        """Pin a new subject to a compiled definition, in its initial state."""
        self.wf_workflow = compiled.workflow
        self.wf_workflow_version = compiled.version
        self.wf_sha256 = compiled.sha256
        self.wf_state = compiled.initial
        self.wf_version = 1
        self.wf_fired_by = {}
        self.wf_entered_at = utcnow()
        self.wf_chain_seq, self.wf_chain_hash = 0, GENESIS


READ_ONLY_OPTION = "grantflow_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) for reading only: on SQLite its transactions start with a plain BEGIN, so
    a reader never waits for (or blocks) the write lock, even while the caller holds it."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_db_engine(url: str, *, busy_timeout_ms: int = 30_000, lock_timeout_ms: int | None = None,
                     statement_timeout_ms: int | None = None, **kwargs: Any) -> Engine:
    """An engine with the settings GrantFlow relies on (SQLite: WAL, foreign keys, busy timeout). PostgreSQL
    lock and statement timeouts are set when given (the web app gives them; batch commands run unbounded)."""
    from sqlalchemy import create_engine

    if is_sqlite(url):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", busy_timeout_ms / 1000)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    timeouts = {"lock_timeout": lock_timeout_ms, "statement_timeout": statement_timeout_ms}
    options = " ".join(f"-c {name}={int(ms)}" for name, ms in timeouts.items() if ms is not None)
    if options and url.startswith("postgresql"):
        kwargs.setdefault("connect_args", {}).setdefault("options", options)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so BEGIN IMMEDIATE is possible.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every transaction takes the database's write lock up front (no lock upgrades, no deadlocks), except on
        # a read-only engine (see read_only): WAL readers never wait, even on a writer holding the lock.
        immediate = conn.get_execution_options().get(READ_ONLY_OPTION) is not True
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
