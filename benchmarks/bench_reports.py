"""Reports at scale: N proposals (default 100,000) with 10 audit events each, on SQLite and PostgreSQL.

Proposals, fundings, advances and events are bulk-inserted through SQL (a read benchmark: the write path is
measured elsewhere); events are built by ``workflow.audit.event_values`` so the trail looks like the real one.
The stays table (``proposal_stay``) is filled by the audit trail's insert trigger as the events go in.
Timed through the real app (Flask test client, logged in as a centre officer), median of RUNS:
- GET /dashboard (every aggregate, rendered with its charts). There is no application cache: every request
  recomputes every figure in SQL (only the database's own page cache is warm after the first);
- GET /reports/annual?year=2020&format=xlsx;
- GET /proposals/export.xlsx for one year (10,000 rows) and for all years (100,000): peak Python memory
  (tracemalloc) while the file is written and read out chunk by chunk, as a server sends it.
Then EXPLAIN (QUERY PLAN) of every query the dashboard runs.

``--compare``: every aggregate of the dashboard computed by the queries before the report cube (``queries.py``
as of ``BEFORE``, loaded from git) and by the current ones, alternated in one process on the same database, as
a ratio old/new (the machine's load hits both alike).

    python benchmarks/bench_reports.py [N] [sqlite|postgres|both]     # fresh throwaway databases
    python benchmarks/bench_reports.py --url URL [USERNAME PASSWORD]  # a database already filled
    python benchmarks/bench_reports.py --compare URL [USERNAME]        # old vs new aggregates, same run
    python benchmarks/bench_reports.py --trigger-cost URL             # the cube's triggers' cost per write
    python benchmarks/bench_reports.py --profile URL [USERNAME PASSWORD]  # /dashboard: each query's time
    python benchmarks/bench_reports.py --medians URL [USERNAME]       # medians: sort all vs per-day counts
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Callable
from typing import Any

import _common
from _common import databases, machine
from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app import create_app
from app.models import Organisation, Proposal, RoleGrant, User
from app.models.stages import Advance, BudgetEnvelope, Funding
from app.reports import cube, queries
from app.units_data import COMMUNES, seed_units
from workflow import audit
from workflow.chaincheck import GENESIS
from workflow.registry import default_registry

RUNS = 5
BATCH = 5_000
PATH = ("draft", "district_review", "provincial_appraisal", "shortlisted", "funded", "implementing",
        "implemented", "settled", "evaluated")
CATEGORIES = ("machinery", "machinery", "machinery", "demonstration", "training", "typical_product")
EVENTS_PER_PROPOSAL = 10
BEFORE = "40d0a58"  # main before the report cube (issue 11, second pass)


def fill(url: str, n: int) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    engine = app.extensions["db_engine"]
    rng = random.Random(11)
    v1 = default_registry().get("khuyen-cong-local", 1)
    communes = [(d, c) for d, units in COMMUNES.items() for c, _ in units]
    with Session(engine) as s, s.begin():
        seed_units(s)
        org = Organisation(name="Cơ sở thử tải", kind="sme", tax_code="4600000001", commune_code=communes[0][1])
        s.add(org)
        s.flush()
        user = User(username="ttkc", full_name="Cán bộ", password_hash=generate_password_hash("matkhau"))
        user.grants = [RoleGrant(role="centre_officer", unit_code="19")]
        s.add(user)
        envelopes = [BudgetEnvelope(province_code="19", fund="Kinh phí khuyến công địa phương", year=y,
                                    amount=10**13, committed=0) for y in range(2016, 2026)]
        s.add_all(envelopes)
        s.flush()
        org_id, envelope_of = org.id, {e.year: e.id for e in envelopes}
    start = dt.datetime(2016, 1, 4, 2, tzinfo=dt.UTC)
    proposals, fundings, advances, events = [], [], [], []
    for pid in range(1, n + 1):
        district, commune = rng.choice(communes)
        year = 2016 + pid % 10
        reached = rng.randint(1, len(PATH))
        state = PATH[reached - 1]
        entered = start + dt.timedelta(days=(year - 2016) * 365 + rng.randint(0, 300))
        requested = rng.randrange(50, 200) * 1_000_000
        proposals.append({
            "id": pid, "code": f"KC-{year}-{pid:06d}", "title": f"Đề án thử tải {pid}", "organisation_id": org_id,
            "commune_code": commune, "district_code": district, "province_code": "19",
            "category": CATEGORIES[pid % len(CATEGORIES)], "sector": "agro_processing", "year": year,
            "total_cost": 2 * requested, "requested_support": requested, "counterpart_funds": requested,
            "duration_months": 12, "objectives": "", "expected_results": "", "expected_jobs": 5,
            "expected_output": "", "priority_region": False, "priority_sector": False, "search_text": "",
            "created_at": entered, "wf_workflow": v1.workflow, "wf_workflow_version": 1, "wf_sha256": v1.sha256,
            "wf_state": state, "wf_version": reached, "wf_fired_by": {}, "wf_entered_at": entered})
        if reached >= 5:
            fundings.append({"proposal_id": pid, "envelope_id": envelope_of[year], "approved_amount": requested,
                             "decision_number": "QĐ", "decision_date": entered.date(), "terms_version": 1,
                             "content": "", "released": 0,
                             "disbursed_total": requested if reached >= 8 else None,
                             "refund_amount": 0 if reached >= 8 else None})
        if reached >= 6:
            advances.append({"proposal_id": pid, "amount": requested // 2, "paid_on": entered.date(), "note": ""})
        prev, moment = GENESIS, entered
        for seq in range(1, EVENTS_PER_PROPOSAL + 1):  # the path so far, then edits in the current state
            to_state = PATH[min(seq, reached) - 1]
            from_state = PATH[seq - 2] if 1 < seq <= reached else (to_state if seq > 1 else None)
            moment += dt.timedelta(days=rng.randint(1, 20))
            values = audit.event_values(
                seq=seq, prev_hash=prev, subject_type="proposal", subject_id=str(pid),
                action="create" if seq == 1 else "move" if seq <= reached else "edit",
                outcome="created" if seq == 1 else "applied", actor_id="1", actor_role="centre_officer",
                from_state=from_state, to_state=to_state, workflow=v1.workflow, workflow_version=1,
                occurred_at=moment)
            prev = values["hash"]
            events.append(values)  # every column, as audit.append writes them
        if pid % BATCH == 0 or pid == n:
            with engine.begin() as conn:
                conn.execute(insert(Proposal.__table__), proposals)
                if fundings:
                    conn.execute(insert(Funding.__table__), fundings)
                if advances:
                    conn.execute(insert(Advance.__table__), advances)
                conn.execute(insert(audit.AuditEvent.__table__), events)
            proposals, fundings, advances, events = [], [], [], []
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def timed(client: Any, url: str) -> str:
    """First request (trail figures not yet cached) and the median of RUNS requests, in ms."""
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.get_data()
        times.append((time.perf_counter() - t0) * 1000)
    return f"first {times[0]:.0f} ms, median {statistics.median(times):.0f} ms"


def peak_mib(client: Any, url: str) -> tuple[float, int]:
    tracemalloc.start()
    response = client.get(url, buffered=False)
    size = sum(len(chunk) for chunk in response.response)  # streamed, never held whole
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    response.close()
    return peak / 2**20, size


def plans(app: Any, client: Any) -> None:
    """EXPLAIN every query the dashboard runs over proposals or the trail (captured as executed)."""
    engine = app.extensions["db_engine"]
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and ("proposal" in statement or "report_" in statement):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    client.get("/dashboard")
    event.remove(engine, "before_cursor_execute", capture)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        for statement, params in captured:
            print("  plan of: " + " ".join(statement.split())[:150] + " …")
            for row in conn.exec_driver_sql(prefix + statement, params).all():
                print("    " + " | ".join(str(c) for c in row))


def measure(url: str, username: str = "ttkc", password: str = "matkhau") -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    print(f"  ({machine()})")
    print(f"  dashboard: {timed(client, '/dashboard')}")
    print(f"  dashboard 2020 only: {timed(client, '/dashboard?year_from=2020&year_to=2020')}")
    print(f"  annual XLSX 2020: {timed(client, '/reports/annual?year=2020&format=xlsx')}")
    print(f"  period 2016-2020 XLSX: {timed(client, '/reports/period?period=2016-2020&format=xlsx')}")
    if client.get("/reports/plan?year=2020").status_code == 200:  # (the plan list came later)
        print(f"  plan list 2020 XLSX: {timed(client, '/reports/plan?year=2020&format=xlsx')}")
    for label, url_ in (("one year", "/proposals/export.xlsx?year=2020"), ("all years", "/proposals/export.xlsx")):
        mib, size = peak_mib(client, url_)
        print(f"  proposal list XLSX ({label}): peak Python memory {mib:.2f} MiB, file {size / 2**20:.1f} MiB")
    plans(app, client)
    app.extensions["db_engine"].dispose()
    print(f"  ({machine()})")


def _old_queries() -> types.ModuleType:
    """``app/reports/queries.py`` as it was at BEFORE, as a module of its own (same models, same database)."""
    source = subprocess.run(["git", "show", f"{BEFORE}:app/reports/queries.py"], capture_output=True, text=True,
                            check=True, cwd=_common.ROOT).stdout
    module = types.ModuleType("queries_before_cube")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "queries_before_cube.py", "exec"), module.__dict__)  # noqa: S102 (our own git history)
    return module


def _best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def compare(url: str, username: str = "ttkc_hung", runs: int = 3) -> None:
    """Old vs new, per aggregate, alternated on the same session; the figures must agree."""
    old = _old_queries()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    filters = queries.Filters()
    with app.app_context(), Session(app.extensions["db_engine"]) as s:
        user = s.query(User).filter_by(username=username).one()
        cond, on = queries.where(user, filters), dt.date(2026, 12, 7)
        pairs = {
            "counts (totals, 6 breakdowns, carried out)": (lambda: old.breakdown(s, cond),
                                                           lambda: cube.breakdown(s, user, filters)),
            "overdue items": (lambda: old.overdue(s, cond, on), lambda: queries.overdue(s, cond, on)),
            "median stage durations": (lambda: old.median_durations(s, cond),
                                       lambda: cube.median_durations(s, user, filters)),
            "funnel": (lambda: old.funnel(s, cond), lambda: cube.funnel(s, user, filters)),
            "whole dashboard": (lambda: old.dashboard(s, user, filters, on),
                                lambda: queries.dashboard(s, user, filters, on)),
        }
        print(f"  old/new as {username} ({machine()})")
        for label, (before, after) in pairs.items():
            old_ms, old_result = _best_of(runs, before)
            new_ms, new_result = _best_of(runs, after)
            assert repr(old_result) == repr(new_result), f"{label}: the figures differ"
            print(f"  {label}: old {old_ms:,.0f} ms, new {new_ms:,.0f} ms, ratio {old_ms / new_ms:.1f}x")
    app.extensions["db_engine"].dispose()
    print(f"  ({machine()})")


def profile(url: str, username: str = "ttkc", password: str = "matkhau") -> None:
    """Where a /dashboard request's time goes: every statement it runs (captured as executed), re-run alone
    with its rows fetched (SQLite steps through them only as they are fetched), median of RUNS each; the request's
    median minus their sum is Python (ORM, deadlines, rendering the page)."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    engine = app.extensions["db_engine"]
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    print(f"  ({machine()})")
    client.get("/dashboard")  # warm
    event.listen(engine, "before_cursor_execute", capture)
    client.get("/dashboard")
    event.remove(engine, "before_cursor_execute", capture)
    request_ms, _ = _best_of(RUNS, lambda: client.get("/dashboard").get_data())
    total = 0.0
    with engine.connect() as conn:
        for statement, params in captured:
            ms, rows = _best_of(RUNS, lambda s=statement, p=params: conn.exec_driver_sql(s, p).all())
            total += ms
            print(f"  {ms:8.1f} ms  {len(rows):5d} rows  " + " ".join(statement.split())[:110])
    print(f"  {len(captured)} statements {total:,.0f} ms; request median {request_ms:,.0f} ms; "
          f"Python and rendering {request_ms - total:,.0f} ms")
    engine.dispose()
    print(f"  ({machine()})")


def medians(url: str, username: str = "ttkc_hung", runs: int = 5) -> None:
    """The dashboard's median stage durations as before 0020_stay_median (percentile_cont over every finished
    stay in scope on PostgreSQL, an index walk to the middle row per state on SQLite) and from the per-day
    counts, alternated in one session; the figures must be equal."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    filters = queries.Filters()
    with app.app_context(), Session(app.extensions["db_engine"]) as s:
        user = s.query(User).filter_by(username=username).one()

        def before() -> Any:
            cond = cube.where(user, filters, cube.ReportStayDays)
            return queries.medians_over(s, cube.ReportStayDays.stay_state, cube.ReportStayDays.days,
                                        lambda stmt: stmt.where(cond))

        print(f"  medians as {username} ({machine()})")
        olds, news = [], []
        for _ in range(runs):
            old_ms, old_result = _best_of(1, before)
            new_ms, new_result = _best_of(1, lambda: cube.median_durations(s, user, filters))
            assert old_result == new_result, (old_result, new_result)
            olds.append(old_ms)
            news.append(new_ms)
        old_ms, new_ms = statistics.median(olds), statistics.median(news)
        print(f"  sort every stay {old_ms:,.1f} ms, per-day counts {new_ms:,.1f} ms, ratio {old_ms / new_ms:.1f}x")
        print(f"  {new_result}")
    app.extensions["db_engine"].dispose()
    print(f"  ({machine()})")


def _cube_triggers(dialect: str) -> list[str]:
    """DROP statements for the triggers of 0016_report_cube (read from the migration itself)."""
    path = _common.ROOT / "migrations" / "versions" / "0016_report_cube.py"
    module = types.ModuleType("report_cube_migration")
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)  # noqa: S102 (our own migration)
    on = (lambda table: f" ON {table}") if dialect == "postgresql" else (lambda table: "")
    return [f"DROP TRIGGER IF EXISTS {name}{on(table)}" for table, names in module.TRIGGERS.items() for name in names]


def trigger_cost(url: str, n: int = 500) -> None:
    """What the cube's triggers add to a write: N state changes (UPDATE proposal.wf_state, as the engine writes
    it) and N changed funding amounts, timed with the triggers, then with them dropped; each run is one
    transaction, rolled back (the database is left as it was)."""
    from workflow.storage import create_db_engine

    engine = create_db_engine(url)
    with engine.connect() as conn:
        ids = conn.scalars(text("SELECT proposal_id FROM funding ORDER BY proposal_id LIMIT :n"), {"n": n}).all()
    flip = text("UPDATE proposal SET wf_state = CASE WHEN wf_state = 'funded' THEN 'implementing' ELSE 'funded' "
                "END WHERE id = :id")
    amount = text("UPDATE funding SET approved_amount = approved_amount + 1 WHERE proposal_id = :id")

    def run(drop: bool) -> tuple[float, float]:
        with engine.connect() as conn, conn.begin() as transaction:
            for statement in _cube_triggers(engine.dialect.name) if drop else ():
                conn.exec_driver_sql(statement)
            t0 = time.perf_counter()
            for pid in ids:
                conn.execute(flip, {"id": pid})
            t1 = time.perf_counter()
            for pid in ids:
                conn.execute(amount, {"id": pid})
            t2 = time.perf_counter()
            transaction.rollback()
        return (t1 - t0) / len(ids) * 1e6, (t2 - t1) / len(ids) * 1e6

    print(f"  trigger cost, {len(ids)} writes each ({machine()})")
    for label, drop in (("with the cube's triggers", False), ("without", True), ("with again", False)):
        state, money = run(drop)
        print(f"  {label}: state change {state:,.0f} µs, funding amount {money:,.0f} µs per row")
    engine.dispose()


def main() -> None:
    if sys.argv[1:2] == ["--trigger-cost"]:
        trigger_cost(sys.argv[2])
        return
    if sys.argv[1:2] == ["--url"]:
        measure(*sys.argv[2:5])
        return
    if sys.argv[1:2] == ["--profile"]:
        profile(*sys.argv[2:5])
        return
    if sys.argv[1:2] == ["--medians"]:
        medians(sys.argv[2], *sys.argv[3:4])
        return
    if sys.argv[1:2] == ["--compare"]:
        compare(sys.argv[2], *sys.argv[3:4])
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    print(f"{n:,} proposals, {n * EVENTS_PER_PROPOSAL:,} audit events; {machine()}")
    for name, database in databases(which):
        with database as url:
            t0 = time.perf_counter()
            fill(url, n)
            print(f"{name}: loaded in {time.perf_counter() - t0:.0f} s")
            measure(url)


if __name__ == "__main__":
    main()
