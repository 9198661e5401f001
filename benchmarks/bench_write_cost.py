"""What the database does per transition: the subject UPDATE, the audit INSERT (with its triggers), the COMMIT,
and the WAL they write, with triggers or indexes taken away one set at a time.

SQLite's times are this thread's CPU time (SQLite runs in it), steady on a loaded machine; PostgreSQL's are
wall times. WAL per transition: SQLite pages appended to the -wal file (never checkpointed during a turn),
PostgreSQL bytes of WAL (a CHECKPOINT before each turn, so full-page images are counted as in steady use).

Each transition is the engine's two writes at the driver (as ``bench_peers``' "bare SQL, own rows"): UPDATE the
proposal's state, version, entry time and chain head, INSERT a full audit event (canonical body, SHA-256), commit.
Variants take turns in rounds on the same database, so drift and other load hit them alike. A variant drops the
objects it names for its turn and puts them back after (their own SQL), so run it on a COPY of a dataset: the
proposals it moves keep their new state, and a variant without the stay trigger leaves their stays behind.

Usage: python benchmarks/bench_write_cost.py URL [transitions per variant per round] [rounds] [variant ...]
  URL: sqlite:////tmp/copy.sqlite or postgresql+psycopg://postgres@127.0.0.1:5432/gf_copy
  variants (default all): base, -canonical, -stay, -both, -dup-indexes
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from typing import Any

from _common import machine

from workflow.audit import _JSON_FIELDS, _ORDER, _TIMES, COLUMNS, event_values
from workflow.chaincheck import canonical

TARGET = "provincial_appraisal"
# What each variant takes away for its turn (kind, name, table).
DROPS: dict[str, list[tuple[str, str, str]]] = {
    "base": [],
    "-canonical": [("trigger", "audit_event_canonical", "audit_event")],
    "-stay": [("trigger", "proposal_stay_on_event", "audit_event")],
    "-both": [("trigger", "audit_event_canonical", "audit_event"),
              ("trigger", "proposal_stay_on_event", "audit_event")],
    # the indexes 0021_fire_writes drops
    "-indexes-0021": [("index", "ix_audit_event_transitions", "audit_event"), ("index", "ix_proposal_wf_state", "proposal"), ("index", "ix_proposal_overdue", "proposal"),
                     ("index", "ix_proposal_province_code", "proposal"),
                     ("index", "ix_proposal_district_code", "proposal"),
                     ("index", "ix_proposal_commune_code", "proposal")],
    # for scale: the report cube's triggers on a transition's path (0016), not a candidate
    "-cube": [("trigger", "report_on_proposal_update", "proposal"), ("trigger", "report_on_stay_insert", "proposal_stay"),
              ("trigger", "report_on_stay_update", "proposal_stay"), ("trigger", "report_on_stay", "proposal_stay")],
}


class Database:
    """A DB-API connection with the few things the run needs from each database."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            import sqlite3
            self.path = url.split("///", 1)[1]
            self.conn: Any = sqlite3.connect(self.path, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "wal_autocheckpoint=0"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.page = self.conn.execute("PRAGMA page_size").fetchone()[0]
            self.mark = "?"
            # SQLite works in this thread: its CPU time, which other processes' load does not inflate
            self.clock = time.thread_time
        else:
            import psycopg
            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            self.mark = "%s"
            self.clock = time.perf_counter  # the server's work: wall time (round trips and fsync included)

    def run(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(sql.replace("?", self.mark) if not self.sqlite else sql, params)

    def begin(self) -> None:
        self.run("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

    def wal_position(self) -> int:
        """Bytes of WAL so far (SQLite: the -wal file, never checkpointed during a turn)."""
        if self.sqlite:
            return os.path.getsize(self.path + "-wal") if os.path.exists(self.path + "-wal") else 0
        return int(self.run("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0])

    def definition(self, kind: str, name: str) -> str | None:
        """The SQL that makes the object again; None where this database has no such object."""
        if self.sqlite:
            row = self.run("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        elif kind == "trigger":
            row = self.run("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = %s", (name,)).fetchone()
        else:
            row = self.run("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def drop(self, kind: str, name: str, table: str) -> None:
        on = f" ON {table}" if kind == "trigger" and not self.sqlite else ""
        self.run(f"DROP {kind.upper()} {name}{on}")

    def settle(self) -> None:
        if self.sqlite:
            self.run("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            self.run("CHECKPOINT")


def pick(db: Database, count: int) -> list[tuple[int, str, int, int, str]]:
    rows = db.run(f"SELECT id, wf_state, wf_version, wf_chain_seq, wf_chain_hash FROM proposal "
                  f"WHERE wf_state <> '{TARGET}' ORDER BY id DESC LIMIT {count}").fetchall()
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} proposals to move")
    return [tuple(r) for r in rows]  # type: ignore[misc]


def transition(db: Database, row: tuple[int, str, int, int, str], insert: str) -> tuple[float, float, float, int]:
    pid, state, version, seq, head = row
    now = dt.datetime.now(dt.UTC)
    values = event_values(seq=seq + 1, prev_hash=head, subject_type="proposal", subject_id=str(pid),
                          action="forward", outcome="applied", actor_id="1", actor_role="district_officer",
                          actor_unit="001", from_state=state, to_state=TARGET, workflow="khuyen-cong-local",
                          workflow_version=1, workflow_sha256="0" * 64, comment="Đạt yêu cầu",
                          inputs={"comment": "Đạt yêu cầu"}, occurred_at=now)
    times = {"occurred_at": now, "effective_at": None}
    if db.sqlite:
        stored: dict[str, Any] = {k: v and v.strftime("%Y-%m-%d %H:%M:%S.%f") for k, v in times.items()}
        entered: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    else:
        stored, entered = times, now
    params = (values["body"], values["hash"], *(canonical(values[n]) if n in _JSON_FIELDS else stored[n]
                                                if n in _TIMES else values[n] for n in COLUMNS))
    before = db.wal_position()
    clock = db.clock
    db.begin()
    t0 = clock()
    db.run("UPDATE proposal SET wf_state = ?, wf_version = ?, wf_entered_at = ?, wf_chain_seq = ?, "
           "wf_chain_hash = ? WHERE id = ?", (TARGET, version + 1, entered, seq + 1, values["hash"], pid))
    t1 = clock()
    db.run(insert, params)
    t2 = clock()
    db.run("COMMIT")
    t3 = clock()
    return t1 - t0, t2 - t1, t3 - t2, db.wal_position() - before


def main() -> None:
    url = sys.argv[1]
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    variants = sys.argv[4:] or list(DROPS)
    db = Database(url)
    mark = "?" if db.sqlite else "%s"
    casts = {n: "::jsonb" for n in _JSON_FIELDS} if not db.sqlite else {}
    insert = (f"INSERT INTO audit_event ({', '.join(_ORDER)}) VALUES "
              f"({', '.join(mark + casts.get(n, '') for n in _ORDER)})")
    rows = pick(db, per * rounds * len(variants))
    samples: dict[str, list[tuple[float, float, float, int]]] = {v: [] for v in variants}
    for _ in range(rounds):
        for v in variants:
            saved = [(kind, name, table, sql) for kind, name, table in DROPS[v]
                     if (sql := db.definition(kind, name)) is not None]
            for kind, name, table, _ in saved:
                db.drop(kind, name, table)
            db.settle()
            for _i in range(per):
                samples[v].append(transition(db, rows.pop(), insert))
            for _, _, _, sql in saved:
                db.run(sql)
    print(f"{'SQLite' if db.sqlite else 'PostgreSQL'} {url.rsplit('/', 1)[-1]}: {per * rounds} transitions per "
          f"variant in {rounds} rounds  [{machine()}]")
    print(f"  {'SQLite: CPU time of this thread' if db.sqlite else 'PostgreSQL: wall time'}, medians")
    print(f"  {'variant':14s} {'UPDATE µs':>10s} {'INSERT µs':>10s} {'COMMIT µs':>10s} {'total µs':>9s} "
          f"{'WAL/tx':>10s}")
    for v, got in samples.items():
        med = [statistics.median(s[i] for s in got) * 1e6 for i in range(3)]
        wal = statistics.mean(s[3] for s in got)
        unit = f"{wal / (db.page + 24):.1f} pages" if db.sqlite else f"{wal / 1024:.1f} kB"
        total = statistics.median(sum(s[:3]) for s in got) * 1e6
        print(f"  {v:14s} {med[0]:10.0f} {med[1]:10.0f} {med[2]:10.0f} {total:9.0f} {unit:>10s}")


if __name__ == "__main__":
    main()
