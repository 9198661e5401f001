"""The worker against real SMTP servers: refusals and hangs leave the message pending with the error shown to
admins, retries give up into the dead letters, two workers never send one message twice, and kill -9 of a worker
mid-batch loses nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import Counter
from typing import Any

import pytest
from conftest import PASSWORD, login
from sqlalchemy import func, select

from app.models import Notification, NotificationDelivery, Proposal
from app.models.notifications import DEAD, PENDING, SENT
from tests.notifications.conftest import free_port, make_worker
from workflow.storage import utcnow


@pytest.fixture
def app(request: Any, tmp_path: Any) -> Any:
    from tests.conftest import _make_app

    database = getattr(request, "param", "sqlite")
    application = _make_app(request.getfixturevalue(f"{database}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


BOTH = pytest.mark.parametrize("app", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                               indirect=True)


def fill_outbox(db: Any, user: Any, proposal: Any, count: int) -> list[int]:
    """``count`` pending e-mails to ``user`` (as the engine hook writes them)."""
    now = utcnow()
    rows = [Notification(dedup_key=f"test:{proposal.id}:{i}", user_id=user.id, proposal_id=proposal.id,
                         key="proposal_state_changed", lang="vi", link=f"/proposals/{proposal.id}",
                         params={"code": proposal.code, "title": proposal.title}, email_to=f"u{i}@example.vn",
                         email_status=PENDING, attempts=0, next_attempt_at=now, created_at=now)
            for i in range(count)]
    db.add_all(rows)
    db.commit()
    return [r.id for r in rows]


@pytest.fixture
def target(db: Any, make_user: Any, make_proposal: Any) -> tuple[Any, Proposal]:
    user = make_user("nguoi_nhan", "applicant")
    return user, make_proposal(user)


def statuses(db: Any) -> Counter[str]:
    out = Counter(db.scalars(select(Notification.email_status)))
    db.commit()
    return out


def test_a_refusing_server_leaves_the_message_pending_with_the_error_for_admins(
        app, db, smtp, target, make_user, client):
    user, proposal = target
    (nid,) = fill_outbox(db, user, proposal, 1)
    smtp.recorder.refuse = "550 5.1.1 Mailbox unavailable"
    worker = make_worker(app, smtp.port, retry_base_seconds=600)
    assert worker.drain() == 0
    row = db.get(Notification, nid)
    assert (row.email_status, row.attempts) == (PENDING, 1)
    assert "550" in row.last_error and "Mailbox unavailable" in row.last_error
    assert row.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None)  # backoff
    db.commit()
    assert worker.drain() == 0  # not due again yet

    make_user("quan_tri", "admin", unit_code="19")
    login(client, "quan_tri", PASSWORD)
    page = client.get("/notifications/outbox").get_data(as_text=True)
    assert f'id="outbox-{nid}"' in page and "Mailbox unavailable" in page


def test_a_hanging_server_times_out_and_the_message_stays_pending(app, db, target, smtp):
    user, proposal = target
    ids = fill_outbox(db, user, proposal, 3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port({smtp.port})))
    silent.listen(5)  # accepts connections and never says a word
    try:
        worker = make_worker(app, silent.getsockname()[1], timeout=0.3, retry_base_seconds=600)
        started = time.monotonic()
        assert worker.drain() == 0
        assert time.monotonic() - started < 3  # one timeout for the batch, not one per message
    finally:
        silent.close()
    rows = db.scalars(select(Notification).where(Notification.id.in_(ids))).all()
    assert {r.email_status for r in rows} == {PENDING}
    assert all("timed out" in (r.last_error or "") for r in rows), [r.last_error for r in rows]
    db.commit()


def test_retries_end_in_the_dead_letters_and_an_admin_can_retry(app, db, smtp, target, make_user, client):
    user, proposal = target
    (nid,) = fill_outbox(db, user, proposal, 1)
    smtp.recorder.refuse = "550 no such user"
    worker = make_worker(app, smtp.port, max_attempts=3, retry_base_seconds=0)
    worker.drain()
    row = db.get(Notification, nid)
    assert (row.email_status, row.attempts) == (DEAD, 3)
    log = db.execute(select(NotificationDelivery.attempt, NotificationDelivery.outcome)
                     .where(NotificationDelivery.notification_id == nid).order_by(NotificationDelivery.id)).all()
    assert log == [(1, "error"), (2, "error"), (3, DEAD)]  # every attempt is logged
    db.commit()

    make_user("quan_tri", "admin", unit_code="19")
    login(client, "quan_tri", PASSWORD)
    page = client.get("/notifications/outbox")
    assert f'id="outbox-{nid}"' in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(f"/notifications/outbox/{nid}/retry", data={"csrf_token": token}).status_code == 302
    smtp.recorder.refuse = None
    assert worker.drain() == 1
    db.expire_all()
    assert db.get(Notification, nid).email_status == SENT
    db.commit()


@BOTH
def test_two_workers_never_send_the_same_message_twice(app, db, smtp, target):
    user, proposal = target
    ids = fill_outbox(db, user, proposal, 60)
    workers = [make_worker(app, smtp.port, batch=5) for _ in range(2)]
    sent = [0, 0]

    def run(i: int) -> None:
        sent[i] = workers[i].drain()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(sent) == 60 and all(sent), sent  # both took part
    received = Counter(smtp.recorder.ids())
    assert len(received) == len(ids) and set(received.values()) == {1}
    assert statuses(db) == Counter({SENT: 60})


def _worker_process(url: str, port: int) -> None:
    """A worker in a forked process (a fresh engine: nothing of the parent's connections is shared)."""
    from app.notifications.mail import MailSettings
    from app.notifications.worker import Worker, WorkerSettings
    from workflow.storage import create_db_engine

    Worker(create_db_engine(url), MailSettings(port=port), WorkerSettings(batch=25, lease_seconds=1)).drain()
    os._exit(0)


@BOTH
def test_kill_9_mid_batch_loses_nothing_and_resends_at_most_the_message_in_flight(app, db, smtp, target):
    user, proposal = target
    fill_outbox(db, user, proposal, 60)
    url = app.config["DATABASE_URL"]
    app.extensions["db_engine"].dispose()
    child = multiprocessing.get_context("fork").Process(target=_worker_process, args=(url, smtp.port))
    child.start()
    deadline = time.monotonic() + 30
    while len(smtp.recorder.ids()) < 15 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    at_kill = len(smtp.recorder.ids())
    assert child.exitcode == -signal.SIGKILL and 15 <= at_kill < 60, "the worker must be killed mid-way"
    time.sleep(1.05)  # the dead worker's lease expires
    result = app.test_cli_runner().invoke(args=["worker", "--once"], env={"SMTP_PORT": str(smtp.port)})
    assert result.exit_code == 0, result.output
    received = Counter(smtp.recorder.ids())
    assert len(received) == 60  # nothing lost
    assert sum(received.values()) - 60 <= 1  # at most the one in flight at the kill, with the same Message-ID
    assert statuses(db) == Counter({SENT: 60})
    assert db.scalar(select(func.count()).select_from(NotificationDelivery)) >= 60
