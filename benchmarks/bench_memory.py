"""Memory of one gunicorn worker: RSS at start, after browsing pages, during and after a whole-trail audit CSV
export (streamed: it must stay flat in the number of events), then during and after a whole-trail verification
through the web job (a process of its own since the vjob branch; older code ran it in a thread of the worker: the
worker's children are sampled too), on a loaded copy.

One worker (so the RSS read is the worker that served everything), the gthread class with two threads (a sync
worker is killed by the arbiter when one response takes longer than --timeout, whatever it costs in memory),
logged in as an auditor through the login form. RSS is read from /proc every 0.5 s while the export streams.
Gunicorn runs without its control socket: servers sharing its default path lost connections while polled.

    python benchmarks/bench_memory.py sqlite:////tmp/trail-100k.sqlite [--limit-s 600] [--worker-class sync]
        [--code /work/main]

Never point it at a database someone else is using: it adds a bench auditor (benchmarks/bench_concurrency.py).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _common import ROOT, machine
from bench_concurrency import PASSWORD, _env, _free_port, people

PAGES = ["/", "/proposals/", "/audit/", "/audit/?action=forward", "/audit/?page=2000", "/audit/verify",
         "/audit/proposals/1", "/audit/proposals/1/history.csv"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def _rss_or_0(pid: int) -> float:
    try:
        return rss_mb(pid)
    except OSError:  # ended between the listing and the read
        return 0.0


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise RuntimeError("no gunicorn worker")


def start(url: str, tmp: str, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = open(f"{tmp}/gunicorn.log", "w")  # noqa: SIM115  (open while the server runs)
    # --code: another checkout (say /work/main) serves, for a before/after pair in one session
    proc = subprocess.Popen([gunicorn, "-c", "config/gunicorn.conf.py", "--workers", "1", "--worker-class",
                             args.worker_class, "--threads", "2", "--bind", f"127.0.0.1:{port}", "--timeout",
                             str(args.timeout), "--no-control-socket", "app:create_app()"], cwd=args.code,
                            env={**_env(url, tmp), "PYTHONPATH": str(args.code)}, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login", timeout=20).status_code == 200:
                return proc, base
        except requests.RequestException:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def login(base: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/login", timeout=60).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = web.post(f"{base}/login", data={"username": "bench_audit", "password": PASSWORD, "csrf_token": csrf},
                 timeout=60, allow_redirects=False)
    assert r.status_code in (302, 303), r.status_code
    return web


def export(web: requests.Session, base: str, pid: int, limit_s: float) -> None:
    began, size, complete = time.perf_counter(), 0, False
    with Sampler(pid) as rss, web.get(f"{base}/audit/export.csv", stream=True, timeout=300) as r:
        assert r.status_code == 200, r.status_code
        for chunk in r.iter_content(1 << 20):
            size += len(chunk)
            if time.perf_counter() - began > limit_s:
                break
        else:
            complete = True
    took, samples = time.perf_counter() - began, rss.samples
    rows = f"{size / 1e6:,.0f} MB in {took:.0f} s ({'complete' if complete else f'stopped at {limit_s:.0f} s'})"
    print(f"during export: {rows}; RSS min {min(samples):.0f} / max {max(samples):.0f} MB, "
          f"first minute max {max(samples[:120]):.0f} MB, last minute max {max(samples[-120:]):.0f} MB")


class Sampler:
    """The worker's RSS every 0.5 s while a block runs (and the largest of its children's, if any)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.samples, self.done = pid, [rss_mb(pid)], threading.Event()
        self.child_samples: list[float] = [0.0]

    def __enter__(self) -> Sampler:
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _sample(self) -> None:
        while not self.done.is_set():
            self.samples.append(rss_mb(self.pid))
            self.child_samples.append(max([_rss_or_0(child) for child in children(self.pid)], default=0.0))
            time.sleep(0.5)

    def __exit__(self, *_exc: object) -> None:
        self.done.set()


def verify(web: requests.Session, base: str, pid: int) -> None:
    """A whole-trail verification through the web job (POST /audit/verify, then the page until it ends)."""
    page = web.get(f"{base}/audit/verify", timeout=300).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    began = time.perf_counter()
    with Sampler(pid) as rss:
        r = web.post(f"{base}/audit/verify", data={"csrf_token": csrf}, timeout=300, allow_redirects=False)
        assert r.status_code == 303, r.status_code
        while 'id="verify-progress"' in (page := web.get(f"{base}/audit/verify", timeout=300).text):
            time.sleep(1)  # under gunicorn's keep-alive (2 s): at 2 s the server closed the idle connection as reused
    took = time.perf_counter() - began
    ok = 'data-ok="true"' in page
    print(f"web verify: ok={ok} in {took:.0f} s (page polled every 1 s); RSS max {max(rss.samples):.0f} MB, "
          f"the worker's children max {max(rss.child_samples):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--limit-s", type=float, default=600, help="stop reading the export after this long")
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--code", default=str(ROOT), help="the checkout gunicorn serves (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        people(args.url, tmp)
        proc, base = start(args.url, tmp, args)
        try:
            pid = worker_pid(proc.pid)
            print(f"{args.url}: code {args.code}, worker {pid} ({args.worker_class}) [{machine()}]")
            print(f"at start: RSS {rss_mb(pid):.0f} MB")
            web = login(base)
            for page in PAGES:
                for _ in range(3):
                    status = web.get(f"{base}{page}", timeout=300).status_code
            print(f"after browsing {len(PAGES)} pages x3 (last status {status}): RSS {rss_mb(pid):.0f} MB")
            export(web, base, pid, args.limit_s)
            time.sleep(2)
            alive = pid == worker_pid(proc.pid)
            print(f"after the export: RSS {rss_mb(pid):.0f} MB (same worker: {alive}) [{machine()}]")
            verify(web, base, pid)
            time.sleep(2)
            print(f"after the verification: RSS {rss_mb(pid):.0f} MB [{machine()}]")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    os.environ.pop("DATABASE_URL", None)


if __name__ == "__main__":
    main()
