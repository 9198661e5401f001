"""Parallel transitions on PostgreSQL: 1 client against 4 concurrent clients, each on its own proposals.

Each client is a process (as web workers are) with its own engine; every move is ``operations.fire`` in a
transaction of its own. Chains are per proposal, so clients on different proposals share no lock and
throughput should grow with clients. Usage: python benchmarks/bench_parallel.py [MOVES_PER_CLIENT]
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time

from _common import postgres_database
from bench_fire import ACTOR, prepare
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Proposal
from workflow import operations
from workflow.audit import verify_chain
from workflow.storage import create_db_engine


def client(url: str, ids: list[int], start: mp.Barrier) -> None:
    engine = create_db_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        proposals = list(s.scalars(select(Proposal).where(Proposal.id.in_(ids))))
        s.commit()
        start.wait()
        for p in proposals:
            operations.fire(s, p, "forward", ACTOR, {"comment": "Đạt"}, expected_version=p.wf_version)
            s.commit()
    engine.dispose()


def run(url: str, groups: list[list[int]]) -> float:
    barrier = mp.Barrier(len(groups) + 1)
    workers = [mp.Process(target=client, args=(url, ids, barrier)) for ids in groups]
    for w in workers:
        w.start()
    barrier.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    return sum(len(ids) for ids in groups) / (time.perf_counter() - began)


def main() -> None:
    per_client = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with postgres_database() as url:
        engine = create_db_engine(url)
        ids = prepare(engine, per_client * 5)
        one = run(url, [ids[:per_client]])
        four = run(url, [ids[per_client * (k + 1): per_client * (k + 2)] for k in range(4)])
        assert verify_chain(engine).ok
        engine.dispose()
    print(f"PostgreSQL fire throughput: 1 client {one:,.0f} moves/s, 4 clients {four:,.0f} moves/s "
          f"({four / one:.2f}×; {mp.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
