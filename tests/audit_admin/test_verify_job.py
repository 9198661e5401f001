"""Whole-trail verification runs in a process of its own (app/audit/jobs.py, app/audit/verify_process.py), not
in the web process: started through the web, the run's process verifies and records its end; the web process
never holds the verify's memory; one run at a time; the checkpoint key reaches the process; a process that
dies fails its run (the page does not spin, the next run can start); every process is reaped (no zombie).

Linux: the processes are found and watched through /proc."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from api.world import BOTH_DATABASES
from conftest import csrf_token, login
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.jobs import VerificationRun
from workflow import audit, seal

from .test_verify_scan import _checkpoint, _insert, _traced_verify

pytestmark = [BOTH_DATABASES, pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")]

CHAINS = 20_000  # one-event chains named by a checkpoint: verified here, the verify traces ~15 MB
WEB_BOUND = 2_000_000  # bytes the web process may trace while it starts and follows a run


def _verify_processes() -> list[int]:
    """Pids of this process's children that run a verification (a reaped child is gone from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"app.audit.verify_process" in command:
            found.append(int(entry.name))
    return found


def _assert_reaped(pid: int, timeout: float = 20.0) -> None:
    """A child that ended but was not waited for stays in /proc as a zombie (state Z) until reaped."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"process {pid} not reaped: {Path(f'/proc/{pid}/stat').read_text()}"
        time.sleep(0.05)


def _runs_ended(timeout: float = 60.0) -> None:
    """Every verify process this test process started is reaped and every reaper thread is done: a run of an
    earlier test cannot be taken for this test's, and no reaper reaches for a database its test dropped."""
    for pid in _verify_processes():
        _assert_reaped(pid, timeout)
    for thread in threading.enumerate():
        if thread.name.startswith("audit-verify-"):
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still waits for its process"


@pytest.fixture(autouse=True)
def _one_test_runs_at_a_time(app):
    """Set up after `app` (its database), so torn down before it."""
    _runs_ended()
    yield
    _runs_ended()


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _follow(client, headers, run_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/audit/verify/{run_id}", headers=headers).get_json()
        if body["finished"]:
            return body
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within {timeout} s")


def test_a_run_started_from_the_page_goes_on_in_its_own_process(app, client, world, db):
    engine = app.extensions["db_engine"]
    _insert(engine, CHAINS, tag="m")
    _checkpoint(engine)
    audit.verify_chain(engine)  # warm SQLAlchemy's caches: not the verify's own memory
    expected, in_process = _traced_verify(engine)
    assert in_process > 5 * WEB_BOUND, in_process  # a verify in this process would show
    login(client, "auditor")
    token = csrf_token(client, "/audit/verify")  # the page rendered once: its template compiled
    rss_before = _rss_bytes()
    tracemalloc.start()
    try:
        started = client.post("/audit/verify", data={"csrf_token": token})
        processes = _verify_processes()
        deadline = time.monotonic() + 60
        while 'id="verify-progress"' in (html := client.get("/audit/verify").get_data(as_text=True)):
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.05)
        web_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss_growth = _rss_bytes() - rss_before
    assert started.status_code == 303 and len(processes) == 1, processes
    assert 'data-ok="true"' in html, html
    assert f'<code id="head-digest">{expected.head_digest}</code>' in html
    assert f'<strong id="verify-count">{expected.count}</strong>' in html
    assert web_peak < WEB_BOUND, web_peak
    assert rss_growth < 16 * 2**20, rss_growth
    _assert_reaped(processes[0])


def test_two_starts_give_one_run_and_one_process(app, client, world, db):
    """The second start comes while the first run's process is still starting (a second of imports at least)."""
    headers = world.headers("auditor")
    first = client.post("/api/v1/audit/verify", headers=headers)
    second = client.post("/api/v1/audit/verify", headers=headers)
    processes = _verify_processes()
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.get_json()["id"] == second.get_json()["id"] and second.get_json()["running"]
    assert len(processes) == 1, processes
    done = _follow(client, headers, first.get_json()["id"])
    assert done["ok"] is True and done["checked"] == done["total"] > 0
    assert db.scalar(select(func.count()).select_from(VerificationRun)) == 1
    db.rollback()
    _assert_reaped(processes[0])


def test_the_checkpoint_key_reaches_the_run(app, client, world, db, tmp_path):
    signing, other = seal.Ed25519PrivateKey.generate(), seal.Ed25519PrivateKey.generate()
    with Session(app.extensions["db_engine"]) as session:
        assert audit.checkpoint(session, seal.signer(signing)) is not None
        session.commit()
    for name, key in (("audit.pub", signing), ("other.pub", other)):
        (tmp_path / name).write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    headers = world.headers("auditor")
    app.config["AUDIT_PUBLIC_KEY_FILE"] = str(tmp_path / "audit.pub")
    signed = _follow(client, headers, client.post("/api/v1/audit/verify", headers=headers).get_json()["id"])
    assert signed["ok"] is True and signed["problems"] == [], signed
    app.config["AUDIT_PUBLIC_KEY_FILE"] = str(tmp_path / "other.pub")
    forged = _follow(client, headers, client.post("/api/v1/audit/verify", headers=headers).get_json()["id"])
    assert forged["ok"] is False and forged["error"] is None
    assert any(f"not signed by the audit key {seal.key_id(other.public_key())}" in p for p in forged["problems"])


def test_a_process_that_dies_fails_its_run_and_the_next_run_starts(app, client, world):
    headers = world.headers("auditor")
    run_id = client.post("/api/v1/audit/verify", headers=headers).get_json()["id"]
    [pid] = _verify_processes()
    os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would: no chance to record anything
    dead = _follow(client, headers, run_id)
    assert not dead["running"] and dead["ok"] is None
    assert "signal 9" in dead["error"], dead
    _assert_reaped(pid)
    again = client.post("/api/v1/audit/verify", headers=headers).get_json()
    assert again["id"] == run_id + 1
    assert _follow(client, headers, again["id"])["ok"] is True


def test_a_stale_run_says_so_and_a_new_one_starts(client, world, db):
    """A run left unfinished by processes that all died (say, the machine restarted) is not shown as running
    or as a broken trail after jobs.STALE_AFTER; the next start begins a new run."""
    from app.audit.jobs import STALE_AFTER
    from workflow.storage import utcnow

    stale = VerificationRun(total=10, checked=3, problems=[], started_at=utcnow() - STALE_AFTER - dt.timedelta(1))
    db.add(stale)
    db.commit()
    login(client, "auditor")
    html = client.get("/audit/verify").get_data(as_text=True)
    assert "This run stopped before it finished" in html or "Lần kiểm tra này đã dừng" in html
    assert 'id="verify-progress"' not in html and "disabled" not in html.split('id="verify-start"')[1][:400]
    started = client.post("/audit/verify", data={"csrf_token": csrf_token(client, "/audit/verify")})
    assert started.status_code == 303
    done = _follow(client, world.headers("auditor"), stale.id + 1)
    assert done["ok"] is True
