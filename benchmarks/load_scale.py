"""Load a national-scale copy: the demo's genuine proposals cloned to N proposals (default 100,000) with their
audit chains re-hashed for each clone (about 10 events each, ~1,000,000 in all), on SQLite or PostgreSQL.

The demo is loaded first through the real engine (every trail genuine). Each clone copies a demo proposal's
row, attachments and events; its events are rebuilt with :func:`workflow.audit.event_values` (the engine's own
hashing) on the clone's subject id, so every chain links and ``verify_chain`` passes on the result (checked at
the end unless ``--no-verify``). A checkpoint closes the load.

The database is kept for reruns: SQLite in /tmp/grantflow-scale/scale-N.sqlite, PostgreSQL as the database
``gf_scale_N``. A rerun only migrates it to head (new indexes) and prints its URL.

    python benchmarks/load_scale.py --db sqlite --proposals 100000
    python benchmarks/load_scale.py --db postgres --proposals 100000 --fresh
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import PG_ADMIN, machine
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from app.models import Attachment, Proposal
from app.models.proposals import fold
from app.schema import upgrade
from workflow import audit
from workflow.audit import AuditEvent, event_values
from workflow.chaincheck import canonical
from workflow.storage import create_db_engine

CACHE = Path(tempfile.gettempdir()) / "grantflow-scale"
BATCH = 2_000  # proposals per transaction
EVENTS_PER_PROPOSAL = 10.25  # the copy: 100,000 proposals, 1,024,839 events
_COPIED = [c.key for c in Proposal.__table__.columns if c.key not in ("id", "code", "search_text", "created_at")]


def database_url(kind: str, proposals: int) -> str:
    if kind == "sqlite":
        CACHE.mkdir(exist_ok=True)
        return f"sqlite:///{CACHE / f'scale-{proposals}.sqlite'}"
    return make_url(PG_ADMIN).set(database=f"gf_scale_{proposals}").render_as_string(hide_password=False)


def _exists(url: str) -> bool:
    if url.startswith("sqlite"):
        return Path(make_url(url).database or "").exists()
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": make_url(url).database}).scalar()
    admin.dispose()
    return bool(found)


def _drop(url: str) -> None:
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path((make_url(url).database or "") + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = make_url(url).database
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _load_demo(url: str) -> None:
    from app import create_app
    from app.demo import load

    with tempfile.TemporaryDirectory() as uploads:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "scale", "UPLOAD_DIR": uploads})
        with app.app_context(), app.extensions["db_sessionmaker"]() as session:
            print(load(session), flush=True)
            session.commit()
        app.extensions["db_engine"].dispose()


class Template:
    """One demo proposal: its row, attachment rows and events' hashed fields."""

    def __init__(self, row: dict, attachments: list[dict], events: list[dict]):
        self.row, self.attachments, self.events = row, attachments, events


def _templates(session: Session) -> list[Template]:
    out = []
    for proposal in session.scalars(select(Proposal).order_by(Proposal.id)):
        row = {k: getattr(proposal, k) for k in _COPIED}
        row["_code"], row["_search"] = proposal.code, proposal.search_text
        attachments = [{c.key: getattr(a, c.key) for c in Attachment.__table__.columns if c.key != "id"}
                       for a in proposal.attachments]
        events = [json.loads(body) for body in session.scalars(
            select(AuditEvent.body).where(AuditEvent.subject_type == "proposal",
                                          AuditEvent.subject_id == str(proposal.id)).order_by(AuditEvent.seq))]
        out.append(Template(row, attachments, events))
    return out


def _picker(templates: list[Template], rng: random.Random) -> Callable[[], Template]:
    """Mix short trails (early states) and long ones (later stages) so the mean is EVENTS_PER_PROPOSAL."""
    short = [t for t in templates if len(t.events) <= EVENTS_PER_PROPOSAL]
    long = [t for t in templates if len(t.events) > EVENTS_PER_PROPOSAL]
    mean_short = sum(len(t.events) for t in short) / len(short)
    mean_long = sum(len(t.events) for t in long) / len(long)
    p_short = (mean_long - EVENTS_PER_PROPOSAL) / (mean_long - mean_short)
    return lambda: rng.choice(short if rng.random() < p_short else long)


def _event_rows(template: Template, subject_id: int, start: dt.datetime) -> list[dict]:
    rows, prev = [], audit.GENESIS
    first = dt.datetime.strptime(template.events[0]["occurred_at"], audit.TIME_FORMAT)
    for fields in template.events:
        moment = dt.datetime.strptime(fields["occurred_at"], audit.TIME_FORMAT)
        effective = fields.get("effective_at")  # an imported record keeps its historical date
        fields = {k: v for k, v in fields.items()
                  if k not in ("prev_hash", "seq", "subject_id", "occurred_at", "effective_at", "imported")}
        values = event_values(**fields, seq=len(rows) + 1, prev_hash=prev, subject_id=str(subject_id),
                              occurred_at=(start + (moment - first)).replace(tzinfo=dt.UTC),
                              effective_at=dt.datetime.strptime(effective, audit.TIME_FORMAT).replace(tzinfo=dt.UTC)
                              if effective else None)
        rows.append(values)  # every column, as audit.append writes them
        prev = values["hash"]
    return rows


def _insert_events(conn: Connection, rows: list[dict]) -> None:
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        assert raw is not None
        names = ["body", "hash", *audit.FIELD_KINDS]
        json_fields = {n for n, kind in audit.FIELD_KINDS.items() if kind == "json"}
        with raw.cursor() as cursor, cursor.copy(f"COPY audit_event ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([canonical(row[n]) if n in json_fields else row[n] for n in names])
    else:
        conn.execute(audit.AuditEvent.__table__.insert(), rows)


def _advance_sequences(engine: Any) -> None:
    """Rows were copied with their ids: move every id sequence past them, or the app's next INSERT collides."""
    with engine.begin() as conn:
        owned = conn.exec_driver_sql(
            "SELECT c.relname, a.attname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
            "JOIN pg_class c ON c.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = c.oid "
            "AND a.attnum = d.refobjsubid WHERE s.relkind = 'S' AND c.relnamespace = 'public'::regnamespace").all()
        for table, column in owned:
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                 f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")


def load(url: str, proposals: int, seed: int = 17) -> None:
    _load_demo(url)
    engine = create_db_engine(url)
    rng = random.Random(seed)
    with Session(engine) as session:
        pick = _picker(_templates(session), rng)
        next_id = (session.scalar(select(func.max(Proposal.id))) or 0) + 1
        have = session.scalar(select(func.count()).select_from(Proposal)) or 0
    numbers: dict[int, int] = {}
    started, events, done = time.perf_counter(), 0, have
    while done < proposals:
        with engine.begin() as conn:
            prop_rows, att_rows, event_rows = [], [], []
            for _ in range(min(BATCH, proposals - done)):
                template = pick()
                row = dict(template.row)
                year = row["year"]
                numbers[year] = numbers.get(year, 10_000) + 1
                code = f"KC-{year}-{numbers[year]}"
                start = dt.datetime(year if year < 2026 else 2025, 1, 1) + dt.timedelta(
                    seconds=rng.randrange(330 * 86400))
                row.update(id=next_id, code=code, created_at=start.replace(tzinfo=dt.UTC),
                           search_text=row.pop("_search").replace(fold(row.pop("_code")), fold(code), 1))
                row["wf_entered_at"] = start.replace(tzinfo=dt.UTC) + dt.timedelta(days=rng.randrange(1, 40))
                trail = _event_rows(template, next_id, start)
                row.update(wf_chain_seq=len(trail), wf_chain_hash=trail[-1]["hash"])  # the head of the new chain
                prop_rows.append(row)
                att_rows += [{**a, "proposal_id": next_id, "stored_name": f"{uuid.uuid4().hex}.pdf"}
                             for a in template.attachments]
                event_rows += trail
                next_id += 1
            conn.execute(Proposal.__table__.insert(), prop_rows)
            if att_rows:
                conn.execute(Attachment.__table__.insert(), att_rows)
            _insert_events(conn, event_rows)
            done += len(prop_rows)
            events += len(event_rows)
        rate = events / (time.perf_counter() - started)
        print(f"{done:>7} proposals, {events:>8} cloned events ({rate:,.0f} events/s)", flush=True)
    with Session(engine) as session:
        audit.checkpoint(session)
        session.commit()
    if engine.dialect.name == "postgresql":
        _advance_sequences(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--proposals", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true", help="drop and reload even when a copy is cached")
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()
    url = database_url(args.db, args.proposals)
    if args.fresh or not _exists(url):
        _drop(url)
        print(f"Loading {args.proposals} proposals into {url} ({machine()})", flush=True)
        started = time.perf_counter()
        upgrade(url)
        load(url, args.proposals)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    upgrade(url)  # a cached copy gains later revisions (indexes)
    if not args.no_verify:
        engine = create_db_engine(url)
        started = time.perf_counter()
        result = audit.verify_chain(engine)
        took = time.perf_counter() - started
        print(f"verify: ok={result.ok} events={result.count} checkpoints={result.checkpoints} "
              f"in {took:.1f} s ({result.count / took:,.0f} events/s)", flush=True)
        engine.dispose()
        if not result.ok:
            print(f"first problem: {result.first}", file=sys.stderr)
            return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
