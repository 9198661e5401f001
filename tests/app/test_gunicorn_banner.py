"""The shipped gunicorn configuration sends no Server banner (a real gunicorn on 127.0.0.1:8663)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PORT = 8663
ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_with_the_shipped_config_sends_no_server_header(sqlite_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SECRET_KEY": "test", "SECURITY_LOG": str(tmp_path / "s.log")}
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "config/gunicorn.conf.py",
                               "--workers", "1", "--bind", f"127.0.0.1:{PORT}", "app:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        response = None
        for _ in range(100):  # up to ~10 s for the worker to import the app
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        assert response is not None and response.status == 200
        assert response.headers.get("Server") is None
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        server.terminate()
        server.wait(timeout=10)
