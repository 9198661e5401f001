"""The shipped gunicorn configuration sends no Server banner (a real gunicorn on a free loopback port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_gunicorn_with_the_shipped_config_sends_no_server_header(sqlite_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test", "SECURITY_LOG": str(tmp_path / "s.log")}
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "config/gunicorn.conf.py",
                               "--workers", "1", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        response = None
        deadline = time.monotonic() + 60  # a loaded CI machine may take a while to import the app
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        assert response is not None and response.status == 200
        assert response.headers.get("Server") is None
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        server.terminate()
        server.wait(timeout=10)
