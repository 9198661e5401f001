"""``audit verify`` over a large trail (default 1,000,000 events), on SQLite and PostgreSQL.

The trail is 10,000 subjects' chains, interleaved as a busy system writes them, with a checkpoint every
100,000 events; events are built by ``workflow.audit.event_values`` (the bodies and hashes the write path makes)
and bulk-inserted (on PostgreSQL with the triggers off for the fill: the subjects have no rows for the reports'
triggers to follow, and each row then takes ~2 ms; the row check of 0022, a CHECK, still proves every row). Only ``verify_chain`` is timed (best of 3, wall clock and the CPU time of this process and
its workers; PostgreSQL's hashing runs in the server), with 1 worker and with one per CPU (what
``python -m workflow audit verify`` uses). Usage: python benchmarks/bench_verify.py [N] [sqlite|postgres], or
python benchmarks/bench_verify.py DATABASE_URL to verify a loaded copy as it is.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

from _common import databases, machine
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from workflow import audit
from workflow.chaincheck import GENESIS
from workflow.storage import create_db_engine

SUBJECTS = 10_000
CHECKPOINT_EVERY = 100_000
BATCH = 10_000
RUNS = 3
TRIGGERS = ("submit", "forward", "return_for_revision", "edit", "approve_funding", "sign_contract")


def fill(engine, total: int) -> None:
    heads = {}
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    table = audit.AuditEvent.__table__
    batch = []
    for n in range(total):
        sid = str(n % SUBJECTS + 1)
        seq, prev = heads.get(sid, (0, GENESIS))
        values = audit.event_values(
            seq=seq + 1, prev_hash=prev, subject_type="proposal", subject_id=sid, action=TRIGGERS[n % 6],
            outcome="applied", actor_id=str(n % 97), actor_role="centre_officer", actor_unit="19",
            from_state="district_review", to_state="provincial_appraisal", workflow="khuyen-cong-local",
            workflow_version=1, workflow_sha256="a" * 64, comment="Đạt yêu cầu" if n % 3 else None,
            inputs={"comment": "Đạt yêu cầu"}, diff={"title": ["cũ", "mới"]} if n % 5 == 0 else {},
            occurred_at=start + dt.timedelta(seconds=n))
        heads[sid] = (seq + 1, values["hash"])
        batch.append(values)  # every column: the engine writes them (0017), the database derives nothing
        if len(batch) == BATCH or n == total - 1:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # the subjects have no rows: skip the reports' triggers
                    conn.execute(text("SET LOCAL session_replication_role = replica"))  # (the CHECK still runs)
                conn.execute(insert(table), batch)
            batch = []
        if (n + 1) % CHECKPOINT_EVERY == 0:
            with Session(engine) as s, s.begin():
                audit.checkpoint(s)


def main() -> None:
    if len(sys.argv) > 1 and "://" in sys.argv[1]:
        existing(sys.argv[1])
        return
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    for label, database in databases(which):
        with database as url:
            engine = create_db_engine(url)
            began = time.perf_counter()
            fill(engine, total)
            filled = time.perf_counter() - began
            results = {(workers, recheck): best_of(engine, workers, recheck)
                       for workers in sorted({1, os.cpu_count() or 1}) for recheck in _modes(engine)}
            engine.dispose()
        digests = {(r.count, r.head_digest) for r, _took, _cpu in results.values()}
        assert len(digests) == 1, f"the scans disagree: {digests}"
        for (workers, _recheck), (result, took, cpu) in results.items():
            assert result.ok, result.first
            print(f"{label:10s} verify {result.count:,} events ({result.checkpoints} checkpoints), "
                  f"{workers} worker(s), {_how(result)}: best of {RUNS} {took:.2f} s = "
                  f"{result.count / took:,.0f} events/s wall; CPU {cpu:.2f} s in this process and its workers  "
                  f"[fill {filled:.0f} s]  head {result.head_digest[:16]}…  [{machine()}]")


def _modes(engine) -> tuple[bool, ...]:
    """PostgreSQL: rows proven by the database's row check (0022), then every row rechecked, in the same run."""
    return (False, True) if engine.dialect.name == "postgresql" else (False,)


def _how(result) -> str:
    return "rows proven by the database" if result.rows_proven else "every row checked by the scan"


def existing(url: str) -> None:
    """Verify a database already loaded (say a copy of benchmarks/load_scale.py's), reading only."""
    engine = create_db_engine(url)
    for workers in sorted({1, os.cpu_count() or 1}):
        for recheck in _modes(engine):
            result, took, cpu = best_of(engine, workers, recheck)
            print(f"{url} verify {result.count:,} events, ok={result.ok}, {workers} worker(s), {_how(result)}: "
                  f"best of {RUNS} {took:.2f} s = {result.count / took:,.0f} events/s wall; CPU {cpu:.2f} s  "
                  f"[{machine()}]")
    engine.dispose()


def best_of(engine, workers: int, recheck_rows: bool = False):
    """(result, wall seconds, CPU seconds of this process and its finished workers) of the fastest run."""
    runs = []
    for _ in range(RUNS):
        began, cpu = time.perf_counter(), _cpu()
        result = audit.verify_chain(engine, workers=workers, recheck_rows=recheck_rows)
        runs.append((time.perf_counter() - began, _cpu() - cpu, result))
    took, cpu, result = min(runs, key=lambda run: run[0])
    return result, took, cpu


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


if __name__ == "__main__":
    main()
