"""``fire`` against a bare SQLAlchemy Core transaction doing the same writes, on SQLite and PostgreSQL.

Both sides move proposals district_review -> provincial_appraisal, one transaction (and commit) per move:
- fire: ``operations.fire`` on an already loaded proposal (lock + refresh, version check, pin check, explain,
  input cleaning, machine, hash-chained audit event), then commit;
- bare: SELECT ... FOR UPDATE of state and chain head, UPDATE state, version and chain head, INSERT an audit row
  (same fields), commit.
Rounds alternate between the two so drift hits both alike. Usage: python benchmarks/bench_fire.py [N] [sqlite|postgres]
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import databases, machine
from persistence.world import DISTRICT, new_proposal, officer, seed_places
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.models import Proposal
from workflow import operations
from workflow.audit import AuditEvent, column_values
from workflow.storage import create_db_engine, utcnow

ROUNDS = 5
# The bare side writes an audit row with the same fields and columns.
BODY = ('{{"action":"forward","actor_id":"{actor}","actor_role":"district_officer","actor_unit":"171",'
        '"comment":"Đạt yêu cầu","diff":{{}},"from_state":"{state}","inputs":{{"comment":"Đạt yêu cầu"}},'
        '"occurred_at":"{time}","outcome":"applied","prev_hash":"{prev}","reasons":[],"request_id":null,'
        '"seq":{seq},"subject_id":"{pid}","subject_type":"proposal","to_state":"provincial_appraisal",'
        '"workflow":"khuyen-cong-local","workflow_sha256":"{prev}","workflow_version":1}}').replace("{prev}", "0" * 64)
ACTOR = officer("district_officer", DISTRICT)


def prepare(engine, count):
    with Session(engine, expire_on_commit=False) as s:
        org = seed_places(s)
        proposals = [new_proposal(s, org) for _ in range(count)]
        for p in proposals:
            p.wf_state = "district_review"
        s.commit()
    return [p.id for p in proposals]


def run_fire(engine, ids):
    times = []
    with Session(engine, expire_on_commit=False) as s:
        proposals = list(s.scalars(select(Proposal).where(Proposal.id.in_(ids))))
        s.commit()
        for p in proposals:
            start = time.perf_counter()
            operations.fire(s, p, "forward", ACTOR, {"comment": "Đạt yêu cầu"}, expected_version=p.wf_version)
            s.commit()
            times.append(time.perf_counter() - start)
    return times


def run_bare(engine, ids):
    table, audit = Proposal.__table__, AuditEvent.__table__
    times = []
    for pid in ids:
        start = time.perf_counter()
        with engine.begin() as conn:
            state, seq = conn.execute(select(table.c.wf_state, table.c.wf_chain_seq)
                                      .where(table.c.id == pid).with_for_update()).one()
            body = BODY.format(pid=pid, actor=ACTOR.user_id, state=state, seq=seq + 1,
                               time=utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            # state, version and chain head in one UPDATE, every column of the event in one INSERT: as fire
            conn.execute(update(table).where(table.c.id == pid)
                         .values(wf_state="provincial_appraisal", wf_version=table.c.wf_version + 1,
                                 wf_chain_seq=seq + 1, wf_chain_hash=f"{pid:064d}"))
            conn.execute(insert(audit), {**column_values(body), "hash": f"{pid:064d}"})
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    for label, database in databases(which):
        with database as url:
            engine = create_db_engine(url)
            ids = prepare(engine, 2 * n * ROUNDS)
            fire_t, bare_t = [], []
            for r in range(ROUNDS):
                chunk = ids[2 * n * r: 2 * n * (r + 1)]
                fire_t += run_fire(engine, chunk[:n])
                bare_t += run_bare(engine, chunk[n:])
            engine.dispose()
        f, b = statistics.median(fire_t) * 1e6, statistics.median(bare_t) * 1e6
        fm, bm = statistics.mean(fire_t) * 1e6, statistics.mean(bare_t) * 1e6
        print(f"{label:10s} fire median {f:7.0f} µs (mean {fm:7.0f})  bare median {b:7.0f} µs (mean {bm:7.0f})  "
              f"ratio {f / b:.2f}× (means {fm / bm:.2f}×)  n={len(fire_t)}+{len(bare_t)}  [{machine()}]")


if __name__ == "__main__":
    main()
