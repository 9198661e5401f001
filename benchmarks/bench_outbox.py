"""The notification outbox: N e-mails delivered to a local SMTP server (aiosmtpd, in this process) by 1 and by 4
worker processes on PostgreSQL; throughput, and that every message arrived exactly once (by Message-ID).

Each run gets a fresh database holding N pending rows; the workers are forked processes running
``Worker.drain`` (what ``flask --app app worker`` runs), each with its own engine. Usage:
python benchmarks/bench_outbox.py [N] [WORKER_COUNTS...]   (default 10000, 1 and 4)

Measured 2026-12-02 on the idle 2-CPU machine (load average 0.3), PostgreSQL 15, 10,000 e-mails: 1 worker
124.5 s (80/s), 4 workers 50.0 s (200/s, 2.5x); each run 10,000 marked sent and 10,000 distinct Message-IDs
received, every message exactly once. (Earlier, at load average 12: 600 e-mails at 22/s and 20/s.)
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections import Counter

from _common import PG_ADMIN, machine, postgres_database
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from app.models import Notification, Organisation, User
from app.notifications.mail import MailSettings
from app.notifications.worker import Worker, WorkerSettings
from workflow.storage import create_db_engine, utcnow

PORT = 8659


class Counting:
    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                with self.lock:
                    self.ids[line.split(b":", 1)[1].strip().decode()] += 1
                break
        return "250 OK"


def fill(url: str, count: int) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        org = conn.execute(insert(Organisation).values(name="HTX thử", kind="cooperative", tax_code="4600000001")
                           .returning(Organisation.id)).scalar_one()
        user = conn.execute(insert(User).values(username="bench", full_name="Bench", password_hash="-",
                                                organisation_id=org, language="vi", is_active=True,
                                                created_at=utcnow()).returning(User.id)).scalar_one()
        now = utcnow()
        conn.execute(insert(Notification), [
            {"dedup_key": f"bench:{i}", "user_id": user, "key": "proposal_state_changed", "lang": "vi",
             "params": {"code": f"KC-2026-{i:05d}", "title": "Đề án thử"}, "link": f"/proposals/{i}",
             "created_at": now, "email_to": f"u{i}@example.vn", "email_status": "pending", "attempts": 0,
             "next_attempt_at": now} for i in range(count)])
    engine.dispose()


def work(url: str) -> None:
    engine = create_db_engine(url)
    Worker(engine, MailSettings(port=PORT), WorkerSettings(batch=100)).drain()
    engine.dispose()
    os._exit(0)


def run(count: int, workers: int, sink: Counting) -> tuple[float, int, int, int]:
    sink.ids.clear()
    with postgres_database() as url:
        fill(url, count)
        started = time.perf_counter()
        procs = [multiprocessing.get_context("fork").Process(target=work, args=(url,)) for _ in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - started
        engine = create_db_engine(url)
        with engine.connect() as conn:
            sent = conn.scalar(select(func.count()).select_from(Notification)
                               .where(Notification.email_status == "sent"))
        engine.dispose()
    with sink.lock:
        distinct, total = len(sink.ids), sum(sink.ids.values())
    return elapsed, sent or 0, distinct, total


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    counts = [int(a) for a in sys.argv[2:]] or [1, 4]
    sink = Counting()
    controller = Controller(sink, hostname="127.0.0.1", port=PORT)
    controller.start()
    print(f"outbox: {count} e-mails to aiosmtpd on 127.0.0.1:{PORT}, PostgreSQL at {PG_ADMIN.split('@')[-1]}; "
          f"{machine()}")
    try:
        for workers in counts:
            elapsed, sent, distinct, total = run(count, workers, sink)
            exact = "exactly once" if distinct == total == count == sent else "NOT exactly once"
            print(f"  {workers} worker(s): {elapsed:6.1f} s, {count / elapsed:7.0f} e-mails/s; "
                  f"{sent} marked sent, {distinct} distinct Message-IDs received, {total} received: {exact}")
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
