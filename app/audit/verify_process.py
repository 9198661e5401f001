"""The process a whole-trail verification run goes on in (started by app.audit.jobs.start_run): reads its order
as JSON on stdin (database URL, run id, checkpoint public key as PEM or null), verifies the trail with an engine
of its own, records the end in the run's row and exits (0: the run ended, intact or not; 1: it failed)."""

from __future__ import annotations

import json
import logging
import signal
import sys
from typing import Any

from sqlalchemy.orm import sessionmaker

import app.models  # noqa: F401  (the run's row refers to user_account: every mapped class)
from app.audit.jobs import run_verification
from workflow import seal
from workflow.storage import create_db_engine


class Stopped(Exception):
    """Told to stop (SIGTERM, SIGINT): raised in the scan, so the run records that it did not finish."""


def _stop(signum: int, _frame: Any) -> None:
    raise Stopped(f"stopped by {signal.Signals(signum).name}")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    order = json.load(sys.stdin)
    key = seal.parse_public_key(order["public_key"].encode()) if order["public_key"] else None
    engine = create_db_engine(order["url"])  # no statement timeout: the web's 20 s would cut a long scan
    try:
        return 0 if run_verification(sessionmaker(bind=engine, expire_on_commit=False), order["run_id"], key) else 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
