"""Page latency at scale: median and p95 over warm requests, with the queries each request runs.

Runs the requests of issue 17's table through the real app (Flask's WSGI client, real database) against a copy
made by ``load_scale.py``. ``--code DIR`` imports ``app`` from another checkout (e.g. /work/main) for before/
after figures in the same run on the same database.

    python benchmarks/bench_pages.py --db sqlite --proposals 100000 --repeat 30
    python benchmarks/bench_pages.py --url sqlite:////tmp/pages-100k.sqlite --repeat 30
    python benchmarks/bench_pages.py --db sqlite --code /work/main --repeat 3 --only list,api
    python benchmarks/bench_pages.py --proposals 20000 --only list,my_work_centre,council_centre,council_member
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
parser.add_argument("--proposals", type=int, default=100_000)
parser.add_argument("--url", help="the database to measure (default: load_scale's copy for --db/--proposals)")
parser.add_argument("--repeat", type=int, default=30)
parser.add_argument("--code", help="a checkout to import app from (default: this one)")
parser.add_argument("--only", default="", help="comma-separated request names")
parser.add_argument("--timeout", type=float, default=60.0, help="skip a request's repeats once one took longer")
ARGS = parser.parse_args()
# app comes from --code or this checkout; _common and load_scale would import this checkout's app, so the
# database URL is worked out here the way load_scale names its cached copies.
sys.path.insert(0, ARGS.code or str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


def database_url(kind: str, proposals: int) -> str:
    if kind == "sqlite":
        return f"sqlite:///{Path(tempfile.gettempdir()) / 'grantflow-scale' / f'scale-{proposals}.sqlite'}"
    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return make_url(admin).set(database=f"gf_scale_{proposals}").render_as_string(hide_password=False)

PASSWORD = "matkhau-demo"
# (name, user, url): the rows of issue 17's table
REQUESTS = [
    ("my_work_centre", "ttkc_lan", "/my-work"),
    ("my_work_district", "pkt_daitu", "/my-work"),
    ("audit_log", "thanhtra", "/audit/"),
    ("audit_log_action", "thanhtra", "/audit/?action=forward"),
    ("list", "ttkc_lan", "/proposals"),
    ("list_search", "ttkc_lan", "/proposals?q=che+tan+cuong"),
    ("list_page_2000", "ttkc_lan", "/proposals?page=2000"),
    ("list_filter_deep", "ttkc_lan", "/proposals?category=machinery&unit=171&page=100"),  # filters, deep page
    ("api_proposals", "ttkc_lan", "/api/v1/proposals"),
    ("proposal_page", "ttkc_lan", "/proposals/{pid}"),
    # issue 13: the council index (open and past) and "my work" against the proposal list, same run
    ("council_centre", "ttkc_lan", "/council/"),
    ("council_member", "hoidong1", "/council/"),
    ("council_past", "hoidong1", "/council/?show=past"),
]


def main() -> int:
    from app import create_app
    from app.api.tokens import issue_token
    from app.models import Proposal, User

    url = ARGS.url or database_url(ARGS.db, ARGS.proposals)
    with tempfile.TemporaryDirectory() as uploads:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "UPLOAD_DIR": uploads,
                          "WTF_CSRF_ENABLED": False})
        engine = app.extensions["db_engine"]
        queries = [0]
        event.listen(engine, "before_cursor_execute", lambda *a: queries.__setitem__(0, queries[0] + 1))
        with app.extensions["db_sessionmaker"]() as session:
            pid = session.scalar(select(Proposal.id).order_by(Proposal.id.desc()).limit(1))
            tokens = {user: issue_token(session, session.scalars(select(User).where(User.username == user)).one(),
                                        "bench") for _name, user, path in REQUESTS if path.startswith("/api/")}
            session.commit()
        clients: dict[str, Any] = {}
        print(f"{make_url(url).get_backend_name()} {url} code={ARGS.code or 'this checkout'} "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        print(f"{'request':<18} {'median ms':>10} {'p95 ms':>10} {'queries':>8} {'bytes':>9}")
        wanted = set(filter(None, ARGS.only.split(",")))
        for name, user, path in REQUESTS:
            if wanted and name not in wanted:
                continue
            if user not in clients:
                clients[user] = app.test_client()
                r = clients[user].post("/login", data={"username": user, "password": PASSWORD})
                assert r.status_code in (302, 303), f"login {user}: {r.status_code}"
            client, target = clients[user], path.format(pid=pid)
            if target.startswith("/api/"):
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens[user]}"
            times, counts, size = [], [], 0
            for _ in range(ARGS.repeat + 1):  # the first request warms caches and is not counted
                queries[0] = 0
                started = time.perf_counter()
                response = client.get(target)
                times.append(time.perf_counter() - started)
                counts.append(queries[0])
                size = len(response.get_data())
                assert response.status_code == 200, f"{target}: {response.status_code}"
                if times[-1] > ARGS.timeout:
                    break
            warm = times[1:] or times
            p95 = sorted(warm)[max(0, int(round(0.95 * len(warm))) - 1)]
            print(f"{name:<18} {statistics.median(warm) * 1000:>10.1f} {p95 * 1000:>10.1f} {max(counts):>8} "
                  f"{size:>9}", flush=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
