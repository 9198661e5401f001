"""Throughput under concurrency, against a real gunicorn (4 workers) over HTTP on a free loopback port.

1. Mixed load: 8 client processes for DURATION seconds on a loaded copy (benchmarks/load_scale.py, default
   10,000 proposals): about 3 reads in 4 (the centre officer's proposal list at a random page, one proposal, its
   history) and 1 write in 4 (an applicant edits one of its own drafts with expected_version). Reported:
   requests/s, median and p95 per kind, errors (5xx, refused connections, unexpected 4xx: must be 0).
2. Conflict rounds: 8 threads send the same edit with the same expected_version at once; exactly one may win
   (200), every other one must get 409.
3. SQLite only: a slow read (the whole audit log as CSV, read slowly so its request and read transaction stay
   open) must not delay a write by more than a write's own time: edit latency with and without it.

Usage: python benchmarks/bench_concurrency.py [sqlite|postgres] [PROPOSALS] [DURATION] [slow-read-only]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from _common import ROOT, machine
from load_scale import database_url

WORKERS, CLIENTS, DRAFTS_PER_CLIENT, ROUNDS = 4, 8, 5, 20
PASSWORD = "matkhau-bench-2026"
TAX_CODE = "4600999001"
# 2027: the loader clones codes of earlier years without advancing the code counter (their codes would collide)
NEW = {"title": "Lò sấy chè (bench)", "category": "machinery", "sector": "agro_processing", "year": 2027}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str, tmp: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret", "UPLOAD_DIR": f"{tmp}/uploads",
            "SECURITY_LOG": f"{tmp}/security.log", "LOGIN_RATE_LIMIT": "10000 per minute",
            "LOGIN_IP_RATE_LIMIT": "10000 per minute", "SESSION_COOKIE_SECURE": "0"}


def people(url: str, tmp: str) -> dict[str, str]:
    """A bench applicant (with an organisation), a centre officer and an auditor, with API tokens (idempotent)."""
    os.environ.update(_env(url, tmp))
    from sqlalchemy import select

    from app import create_app
    from app.models import Organisation, User

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "UPLOAD_DIR": f"{tmp}/uploads"})
    runner = app.test_cli_runner()
    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        if session.scalar(select(Organisation).where(Organisation.tax_code == TAX_CODE)) is None:
            session.add(Organisation(name="HTX chè thử tải", kind="cooperative", tax_code=TAX_CODE,
                                     commune_code="05830"))
            session.commit()
        known = set(session.scalars(select(User.username)))
    tokens = {}
    for name, args in (("bench_app", ["--role", "applicant", "--organisation", TAX_CODE]),
                       ("bench_centre", ["--role", "centre_officer", "--unit", "19"]),
                       ("bench_audit", ["--role", "auditor", "--unit", "19"])):
        if name not in known:
            out = runner.invoke(args=["create-user", name, *args, "--password", PASSWORD, "--full-name", name])
            assert out.exit_code == 0, out.output
        out = runner.invoke(args=["create-token", name])
        assert out.exit_code == 0, out.output
        tokens[name] = out.output.strip().split()[-1]
    app.extensions["db_engine"].dispose()
    return tokens


class Server:
    def __init__(self, url: str, tmp: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.log = open(f"{tmp}/gunicorn.log", "w")  # noqa: SIM115  (open while the server runs)
        self.proc = subprocess.Popen(
            [gunicorn, "-c", "config/gunicorn.conf.py", "--workers", str(WORKERS), "--bind",
             f"127.0.0.1:{self.port}", "--timeout", "120", "app:create_app()"],
            cwd=ROOT, env=_env(url, tmp), stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 180  # a loaded machine boots four workers slowly
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/login", timeout=20).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def drafts(base: str, token: str, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        for _attempt in range(5):  # set-up only: a lock timeout on a loaded machine is a 409, tried again
            r = requests.post(f"{base}/api/v1/proposals", json=NEW, headers=_auth(token), timeout=60)
            if r.status_code != 409:
                break
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _edit(http: requests.Session, base: str, token: str, pid: int, title: str) -> tuple[int, float]:
    version = http.get(f"{base}/api/v1/proposals/{pid}", headers=_auth(token), timeout=60).json()["version"]
    start = time.perf_counter()
    r = http.patch(f"{base}/api/v1/proposals/{pid}", json={"title": title, "expected_version": version},
                   headers=_auth(token), timeout=60)
    return r.status_code, time.perf_counter() - start


def client(base: str, tokens: dict[str, str], mine: list[int], ids: list[int], until: float, seed: int,
           out: Any) -> None:
    import random

    rng, http = random.Random(seed), requests.Session()
    timings: dict[str, list[float]] = {"list": [], "proposal": [], "history": [], "edit": []}
    errors: list[str] = []
    n = 0
    while time.time() < until:
        n += 1
        kind = "edit" if n % 4 == 0 else rng.choice(("list", "proposal", "history"))
        try:
            if kind == "edit":
                status, took = _edit(http, base, tokens["bench_app"], rng.choice(mine), f"Lò sấy chè {seed}-{n}")
            else:
                path = {"list": f"/api/v1/proposals?page={rng.randint(1, 200)}",
                        "proposal": f"/api/v1/proposals/{rng.choice(ids)}",
                        "history": f"/api/v1/proposals/{rng.choice(ids)}/history"}[kind]
                start = time.perf_counter()
                status = http.get(base + path, headers=_auth(tokens["bench_centre"]), timeout=60).status_code
                took = time.perf_counter() - start
        except requests.RequestException as exc:
            errors.append(f"{kind}: {exc!r}")
            continue
        if status != 200:
            errors.append(f"{kind}: HTTP {status}")
        timings[kind].append(took)
    out.put((timings, errors))


def conflict_rounds(base: str, token: str, pid: int) -> list[int]:
    """Winners per round: CLIENTS threads send the same edit with the same expected version at once."""
    winners = []
    for r in range(ROUNDS):
        version = requests.get(f"{base}/api/v1/proposals/{pid}", headers=_auth(token), timeout=30).json()["version"]
        barrier, statuses = threading.Barrier(CLIENTS), []

        def send(i: int, version: int = version, r: int = r, barrier: threading.Barrier = barrier,
                 statuses: list[int] = statuses) -> None:
            http = requests.Session()
            barrier.wait()
            statuses.append(http.patch(f"{base}/api/v1/proposals/{pid}", headers=_auth(token), timeout=60,
                                       json={"title": f"Vòng {r} người {i}", "expected_version": version}).status_code)
        threads = [threading.Thread(target=send, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(set(statuses)) <= [200, 409], statuses
        winners.append(statuses.count(200))
    return winners


def slow_read_vs_write(base: str, tokens: dict[str, str], pid: int) -> None:
    """SQLite: edit latency alone, then while the auditor streams the whole audit log as CSV, slowly."""
    http = requests.Session()
    alone = [_edit(http, base, tokens["bench_app"], pid, f"Một mình {i}")[1] for i in range(15)]
    web = requests.Session()
    page = web.get(f"{base}/login", timeout=30).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    web.post(f"{base}/login", data={"username": "bench_audit", "password": PASSWORD, "csrf_token": csrf}, timeout=30)
    reading = threading.Event()
    read_took: list[float] = []

    def slow_read() -> None:
        start = time.perf_counter()
        with web.get(f"{base}/audit/export.csv", stream=True, timeout=120) as r:
            assert r.status_code == 200, r.status_code
            for i, _chunk in enumerate(r.iter_content(16 * 1024)):
                reading.set()
                time.sleep(0.1)  # a slow client: the read's request (and read transaction) stays open
                if i >= 150:  # ~15 s of an open read is enough; the rest of the trail is not needed
                    break
        read_took.append(time.perf_counter() - start)

    reader = threading.Thread(target=slow_read)
    reader.start()
    reading.wait(60)
    during = []
    while reader.is_alive() and len(during) < 15:
        during.append(_edit(http, base, tokens["bench_app"], pid, f"Trong khi đọc {len(during)}")[1])
    reader.join()
    a, d = statistics.median(alone) * 1e3, statistics.median(during) * 1e3
    print(f"  slow read (audit CSV, {read_took[0]:.1f} s) vs write: edit median {a:.0f} ms alone, {d:.0f} ms "
          f"during the read (max {max(during) * 1e3:.0f} ms, n={len(during)}); delay {d - a:+.0f} ms")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3 if values else float("nan")


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "postgres"
    proposals = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    duration = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    url = database_url(which, proposals)
    with tempfile.TemporaryDirectory() as tmp:
        tokens = people(url, tmp)
        server = Server(url, tmp)
        try:
            base = server.base
            if len(sys.argv) > 4 and sys.argv[4] == "slow-read-only":
                slow_read_vs_write(base, tokens, drafts(base, tokens["bench_app"], 1)[0])
                return
            own = drafts(base, tokens["bench_app"], CLIENTS * DRAFTS_PER_CLIENT + 2)
            from sqlalchemy import create_engine, text
            engine = create_engine(url)
            with engine.connect() as conn:
                ids = [i for (i,) in conn.execute(text("SELECT id FROM proposal ORDER BY random() LIMIT 2000"))]
            engine.dispose()
            out: Any = mp.get_context("fork").Queue()
            until = time.time() + duration
            procs = [mp.get_context("fork").Process(target=client, args=(
                base, tokens, own[i * DRAFTS_PER_CLIENT:(i + 1) * DRAFTS_PER_CLIENT], ids, until, i, out))
                for i in range(CLIENTS)]
            for p in procs:
                p.start()
            results = [out.get(timeout=duration + 300) for _ in procs]
            for p in procs:
                p.join()
            timings: dict[str, list[float]] = {}
            errors: list[str] = []
            for t, e in results:
                for k, v in t.items():
                    timings.setdefault(k, []).extend(v)
                errors += e
            total = sum(len(v) for v in timings.values())
            reads = timings["list"] + timings["proposal"] + timings["history"]
            print(f"{which}, {proposals} proposals, gunicorn {WORKERS} workers, {CLIENTS} clients, {duration:.0f} s "
                  f"[{machine()}]")
            print(f"  {total / duration:.1f} requests/s ({total} in all), errors {len(errors)}"
                  + (f": {errors[:5]}" if errors else ""))
            print(f"  reads: median {pct(reads, 0.5):.0f} ms, p95 {pct(reads, 0.95):.0f} ms (n={len(reads)});"
                  f" edits: median {pct(timings['edit'], 0.5):.0f} ms, p95 {pct(timings['edit'], 0.95):.0f} ms "
                  f"(n={len(timings['edit'])})")
            for kind in ("list", "proposal", "history"):
                print(f"    {kind:8s} median {pct(timings[kind], 0.5):.0f} ms, p95 {pct(timings[kind], 0.95):.0f} ms")
            winners = conflict_rounds(base, tokens["bench_app"], own[-1])
            print(f"  conflict rounds: exactly one winner in {winners.count(1)}/{len(winners)} ({winners})")
            if which == "sqlite":
                slow_read_vs_write(base, tokens, own[-2])
        finally:
            server.stop()


if __name__ == "__main__":
    main()
