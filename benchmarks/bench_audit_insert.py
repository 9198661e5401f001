"""What deriving the audit columns costs per insert: generated from the body by the database (before 0017) or
written by the engine (since), in rounds of one run on the same database, so the machine's load hits both alike.

Two copies of audit_event's shape, with its unique constraints and the indexes of 0002/0007/0011, no triggers:
- ``bench_generated``: the 20 field columns GENERATED from the body (the 0002 expressions); rows give body+hash;
- ``bench_written``: plain columns; rows give every column, as ``audit.append`` now does.
Plus ``audit.append`` itself (chain head read, canonical body, hash, INSERT into the real table).

Usage: python benchmarks/bench_audit_insert.py [N] [sqlite|postgres|both]
"""

from __future__ import annotations

import statistics
import sys
import time

import sqlalchemy as sa
from _common import databases, machine
from sqlalchemy.orm import Session

from workflow import audit
from workflow.storage import create_db_engine

ROUNDS = 5
FIELDS = {"action": "forward", "outcome": "applied", "actor_id": "7", "actor_role": "district_officer",
          "actor_unit": "171", "from_state": "district_review", "to_state": "provincial_appraisal",
          "workflow": "khuyen-cong-local", "workflow_version": 1, "workflow_sha256": "0" * 64,
          "comment": "Đạt yêu cầu", "inputs": {"comment": "Đạt yêu cầu", "score": 87}}
INDEXES = (["occurred_at"], ["subject_type", "to_state", "subject_id", "seq"], ["action", "id"],
           ["actor_id", "id"], ["outcome", "id"])


def _copy(name: str, generated: bool) -> sa.Table:
    columns = []
    for column in audit.AuditEvent.__table__.columns:  # type: ignore[attr-defined]
        kind = column.info.get("body_kind")
        extra = [sa.Computed(audit.body_field(column.name, kind), persisted=True)] if generated and kind else []
        type_ = audit.JSON_TYPE if generated and kind == "json" else column.type
        columns.append(sa.Column(column.name, type_, *extra, primary_key=column.primary_key))
    table = sa.Table(name, sa.MetaData(), *columns, sa.UniqueConstraint("subject_type", "subject_id", "seq"),
                     sa.UniqueConstraint("hash"))
    for i, cols in enumerate(INDEXES):
        sa.Index(f"ix_{name}_{i}", *(table.c[c] for c in cols))
    return table


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    for label, database in databases(which):
        with database as url:
            engine = create_db_engine(url)
            generated, written = _copy("bench_generated", True), _copy("bench_written", False)
            for table in (generated, written):
                table.metadata.create_all(engine)
            t: dict[str, list[float]] = {"append": [], "generated": [], "written": []}
            for r in range(ROUNDS):
                rows = []
                with Session(engine, expire_on_commit=False) as s:
                    start = time.perf_counter()
                    for i in range(n):
                        rows.append(audit.append(s, subject_type="bench", subject_id=f"{r}-{i % 200}", **FIELDS))
                    s.commit()
                    t["append"].append((time.perf_counter() - start) / n)
                values = [audit.column_values(e.body) for e in rows]
                for name, table, params in (("generated", generated, [{"body": v["body"], "hash": v["hash"]}
                                                                      for v in values]),
                                            ("written", written, values)):
                    with engine.begin() as conn:
                        start = time.perf_counter()
                        for p in params:  # one statement per event, as the engine writes them
                            conn.execute(sa.insert(table), p)
                        t[name].append((time.perf_counter() - start) / n)
            engine.dispose()
        a, g, w = (statistics.median(v) * 1e6 for v in (t["append"], t["generated"], t["written"]))
        print(f"{label:10s} INSERT with generated columns {g:6.0f} µs/event, with engine-written columns {w:6.0f} "
              f"µs ({w / g:.2f}×); audit.append now {a:6.0f} µs  ({ROUNDS} rounds of {n}) [{machine()}]")


if __name__ == "__main__":
    main()
