"""Parallel transitions on PostgreSQL: 1 client against 4 concurrent clients, each on its own proposals.

Each client is a process (as web workers are) with its own engine; every move is ``operations.fire`` in a
transaction of its own. Chains are per proposal, so clients on different proposals share no lock and
throughput should grow with clients. It is measured twice: bare moves (CPU-bound: on a 2-CPU machine four
clients share two CPUs with the server), and moves whose transaction also holds 100 ms of other work, as a
request does; that is when a global lock (one chain, a counter row) would make the clients queue.
Usage: python benchmarks/bench_parallel.py [MOVES_PER_CLIENT]
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time

from _common import machine, postgres_database
from bench_fire import ACTOR, prepare
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Proposal
from workflow import operations
from workflow.audit import verify_chain
from workflow.storage import create_db_engine


def client(url: str, ids: list[int], start: mp.Barrier, hold: float) -> None:
    engine = create_db_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        proposals = list(s.scalars(select(Proposal).where(Proposal.id.in_(ids))))
        s.commit()
        start.wait()
        for p in proposals:
            operations.fire(s, p, "forward", ACTOR, {"comment": "Đạt"}, expected_version=p.wf_version)
            time.sleep(hold)  # the rest of the request, inside its transaction
            s.commit()
    engine.dispose()


def run(url: str, groups: list[list[int]], hold: float) -> float:
    barrier = mp.Barrier(len(groups) + 1)
    workers = [mp.Process(target=client, args=(url, ids, barrier, hold)) for ids in groups]
    for w in workers:
        w.start()
    barrier.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    return sum(len(ids) for ids in groups) / (time.perf_counter() - began)


def main() -> None:
    per_client = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with postgres_database() as url:
        engine = create_db_engine(url)
        ids = iter(prepare(engine, per_client * 10))
        for hold in (0.0, 0.1):
            moves = per_client if hold == 0 else per_client // 10
            one = run(url, [[next(ids) for _ in range(moves)]], hold)
            four = run(url, [[next(ids) for _ in range(moves)] for _ in range(4)], hold)
            print(f"PostgreSQL fire, {hold * 1000:.0f} ms of other work per transaction: 1 client {one:,.1f} "
                  f"moves/s, 4 clients {four:,.1f} moves/s ({four / one:.2f}×)  [{machine()}]")
        assert verify_chain(engine).ok
        engine.dispose()


if __name__ == "__main__":
    main()
