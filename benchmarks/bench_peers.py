"""GrantFlow ``fire`` side by side with its peers: one audited transition per transaction, each transaction fresh.

Every contender, for each of its rows: open a session (or transaction), load the row by key (locked), check
the move is allowed, change the state, append an audit row, commit. The contenders take turns in ``ROUNDS``
rounds of one run, so drift and the other engineers' load hit them alike:

- bare SQL: SQLAlchemy Core on the same engine (WAL, BEGIN IMMEDIATE on SQLite), SELECT ... FOR UPDATE,
  UPDATE, INSERT into a plain log table, COMMIT;
- bare SQL on GrantFlow's own rows: the same three statements on ``proposal`` and ``audit_event`` (state,
  version and chain head; a full event row with a body and its hash), so their indexes and triggers are paid;
- django-fsm-2 + django-fsm-log: a Django model with an ``FSMField`` and a ``@transition``, in
  ``transaction.atomic()`` with ``select_for_update()``; django-fsm-log writes its ``StateLog`` row;
- a ``transitions.Machine`` built per row on an SQLAlchemy ORM object (a fresh ``Session`` per transition);
- GrantFlow: a fresh ``Session``, ``session.get(Proposal, id, with_for_update={"of": Proposal})``, ``fire(...)``
  (lock, version, pin, explain with the definition's guards, a hash-chained audit event), commit.

Usage: python benchmarks/bench_peers.py [N per contender] [sqlite|postgres|both] [--profile]
Needs the ``bench`` extra (Django 5.2, django-fsm-2, django-fsm-log).
"""

from __future__ import annotations

import cProfile
import hashlib
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import databases, machine
from persistence.world import DISTRICT, new_proposal, officer, seed_places
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, registry
from transitions import Machine

from app.models import Proposal
from workflow import audit, operations
from workflow.storage import create_db_engine, utcnow

ROUNDS = 10
ACTOR = officer("district_officer", DISTRICT)
COMMENT = {"comment": "Đạt yêu cầu"}
STATES = ["district_review", "provincial_appraisal"]
MOVES = [{"trigger": "forward", "source": "district_review", "dest": "provincial_appraisal"}]

# --- the plain tables the SQLAlchemy peers use (their own, beside GrantFlow's) ---------------------------------

peer_metadata = MetaData()
peer_item = Table("peer_item", peer_metadata, Column("id", Integer, primary_key=True),
                  Column("state", String(64), nullable=False), Column("version", Integer, nullable=False))
peer_log = Table("peer_log", peer_metadata, Column("id", Integer, primary_key=True),
                 Column("item_id", ForeignKey("peer_item.id"), nullable=False, index=True),
                 Column("transition", String(64)), Column("source", String(64)), Column("state", String(64)),
                 Column("by", String(64)), Column("comment", String(200)), Column("at", String(32)))


class MachineItem:
    state: str


class MachineLog:
    pass


mapper_registry = registry()
mapper_registry.map_imperatively(MachineItem, peer_item)
mapper_registry.map_imperatively(MachineLog, peer_log)


def peer_rows(engine: Any, count: int) -> list[int]:
    peer_metadata.create_all(engine)
    with engine.begin() as conn:
        first = conn.execute(select(func.coalesce(func.max(peer_item.c.id), 0))).scalar() + 1
        conn.execute(insert(peer_item), [{"id": first + i, "state": "district_review", "version": 1}
                                         for i in range(count)])
    return list(range(first, first + count))


def bare(engine: Any) -> Callable[[int], None]:
    lock = select(peer_item.c.state, peer_item.c.version).where(peer_item.c.id == bindparam("key")).with_for_update()
    move = update(peer_item).where(peer_item.c.id == bindparam("key")).values(
        state=bindparam("to"), version=bindparam("v"))
    log = insert(peer_log)

    def one(row_id: int) -> None:
        with engine.begin() as conn:
            state, version = conn.execute(lock, {"key": row_id}).one()
            if state != "district_review":
                raise RuntimeError("not allowed")
            conn.execute(move, {"key": row_id, "to": "provincial_appraisal", "v": version + 1})
            conn.execute(log, {"item_id": row_id, "transition": "forward", "source": state,
                               "state": "provincial_appraisal", "by": ACTOR.user_id,
                               "comment": COMMENT["comment"], "at": utcnow().isoformat()})
    return one


def bare_own_rows(engine: Any) -> Callable[[int], None]:
    """Bare SQL doing GrantFlow's writes on GrantFlow's rows: lock the proposal, UPDATE state, version and chain
    head, INSERT a full audit_event row (every column, with a body and hash made here) — no checks, no engine."""
    table, columns = Proposal.__table__, ("body", "hash", *audit.COLUMNS)
    lock = (select(table.c.wf_state, table.c.wf_version, table.c.wf_chain_seq, table.c.wf_chain_hash)
            .where(table.c.id == bindparam("key")).with_for_update())
    move = update(table).where(table.c.id == bindparam("key")).values(
        wf_state=bindparam("to"), wf_version=bindparam("v"), wf_chain_seq=bindparam("seq"),
        wf_chain_hash=bindparam("head"))
    log = insert(audit.AuditEvent.__table__)

    def one(row_id: int) -> None:
        with engine.begin() as conn:
            state, version, seq, head = conn.execute(lock, {"key": row_id}).one()
            if state != "district_review":
                raise RuntimeError("not allowed")
            body = (f'{{"action":"forward","from_state":"{state}","occurred_at":"{utcnow().isoformat()}",'
                    f'"prev_hash":"{head}","seq":{seq + 1},"subject_id":"{row_id}",'
                    '"to_state":"provincial_appraisal"}')  # canonical: keys sorted (the INSERT trigger checks)
            event_hash = hashlib.sha256(body.encode()).hexdigest()
            conn.execute(move, {"key": row_id, "to": "provincial_appraisal", "v": version + 1, "seq": seq + 1,
                                "head": event_hash})
            conn.execute(log, {**dict.fromkeys(columns), "body": body, "hash": event_hash,
                               "subject_type": "proposal", "subject_id": str(row_id), "seq": seq + 1,
                               "occurred_at": utcnow(), "actor_id": ACTOR.user_id, "action": "forward",
                               "from_state": state, "to_state": "provincial_appraisal", "outcome": "applied",
                               "comment": COMMENT["comment"], "prev_hash": head, "inputs": COMMENT, "diff": {},
                               "reasons": []})
    return one


def machine_per_row(engine: Any) -> Callable[[int], None]:
    def one(row_id: int) -> None:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            item = session.get(MachineItem, row_id, with_for_update=True)
            assert item is not None
            source = item.state
            Machine(model=item, states=STATES, transitions=MOVES, initial=item.state, auto_transitions=False)
            item.forward()  # type: ignore[attr-defined]
            entry = MachineLog()
            for key, value in {"item_id": row_id, "transition": "forward", "source": source, "state": item.state,
                               "by": ACTOR.user_id, "comment": COMMENT["comment"],
                               "at": utcnow().isoformat()}.items():
                setattr(entry, key, value)
            session.add(entry)
    return one


def grantflow(engine: Any) -> Callable[[int], None]:
    def one(proposal_id: int) -> None:
        with Session(engine, expire_on_commit=False) as session:  # as the app's sessionmaker
            proposal = session.get(Proposal, proposal_id, with_for_update={"of": Proposal})  # as peers load
            assert proposal is not None
            operations.fire(session, proposal, "forward", ACTOR, COMMENT)
            session.commit()
    return one


def grantflow_rows(engine: Any, count: int) -> list[int]:
    with Session(engine, expire_on_commit=False) as s:
        org = seed_places(s) if s.scalar(select(func.count()).select_from(Proposal)) == 0 else None
        if org is None:
            from app.models import Organisation
            org = s.scalars(select(Organisation)).first()
        proposals = [new_proposal(s, org) for _ in range(count)]
        s.flush()
        s.execute(update(Proposal).where(Proposal.id.in_([p.id for p in proposals]))
                  .values(wf_state="district_review"))
        s.commit()
    return [p.id for p in proposals]


# --- Django ---------------------------------------------------------------------------------------------------

def django_setup(url: str) -> Any:
    import django
    from django.conf import settings

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": u.database,
              "OPTIONS": {"transaction_mode": "IMMEDIATE",  # the same locking as GrantFlow's engine
                          "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                          "PRAGMA foreign_keys=ON"}}
    else:
        db = {"ENGINE": "django.db.backends.postgresql", "NAME": u.database, "USER": u.username or "postgres",
              "HOST": u.host or "127.0.0.1", "PORT": str(u.port or 5432), "CONN_MAX_AGE": None}
    if settings.configured:
        raise RuntimeError("Django is configured once per process: run one database per process")
    settings.configure(
        DATABASES={"default": db}, USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_fsm_log"],
        DJANGO_FSM_LOG_STORAGE_METHOD="django_fsm_log.backends.SimpleBackend")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, models
    from django_fsm import FSMField, transition
    from django_fsm_log.decorators import fsm_log_by, fsm_log_description

    class Item(models.Model):
        state = FSMField(default="district_review")
        version = models.IntegerField(default=1)

        class Meta:
            app_label = "peers"
            db_table = "peer_django_item"

        @fsm_log_by
        @fsm_log_description
        @transition(field=state, source="district_review", target="provincial_appraisal")
        def forward(self, by: Any = None, description: str | None = None) -> None:
            self.version += 1

    call_command("migrate", verbosity=0)
    with connection.schema_editor() as editor:
        editor.create_model(Item)
    return Item


def django_rows(item_model: Any, count: int) -> list[int]:
    from django.contrib.auth.models import User

    User.objects.get_or_create(username=ACTOR.user_id)
    made = item_model.objects.bulk_create([item_model() for _ in range(count)])
    if made and made[0].pk is None:  # SQLite before RETURNING: read them back
        return list(item_model.objects.order_by("-id").values_list("id", flat=True)[:count])[::-1]
    return [m.pk for m in made]


def django_fsm(item_model: Any) -> Callable[[int], None]:
    from django.contrib.auth.models import User
    from django.db import transaction

    user = User.objects.get(username=ACTOR.user_id)

    def one(row_id: int) -> None:
        with transaction.atomic():
            item = item_model.objects.select_for_update().get(pk=row_id)
            item.forward(by=user, description=COMMENT["comment"])  # refuses (TransitionNotAllowed) if not allowed
            item.save()
    return one


# --- the run ----------------------------------------------------------------------------------------------------

def run(label: str, url: str, n: int, profile: bool) -> None:
    engine = create_db_engine(url)
    item_model = django_setup(url)
    django_ids = django_rows(item_model, n)
    contenders: dict[str, tuple[Callable[[int], None], list[int]]] = {
        "bare SQL": (bare(engine), peer_rows(engine, n)),
        "bare SQL, own rows": (bare_own_rows(engine), grantflow_rows(engine, n)),
        "django-fsm-2+log": (django_fsm(item_model), django_ids),
        "Machine per row": (machine_per_row(engine), peer_rows(engine, n)),
        "GrantFlow fire": (grantflow(engine), grantflow_rows(engine, n)),
    }
    spent = dict.fromkeys(contenders, 0.0)
    per = n // ROUNDS
    profiler = cProfile.Profile() if profile else None
    for r in range(ROUNDS):
        for name, (one, ids) in contenders.items():
            chunk = ids[r * per:(r + 1) * per]
            if profiler is not None and name == "GrantFlow fire":
                profiler.enable()
            start = time.perf_counter()
            for row_id in chunk:
                one(row_id)
            spent[name] += time.perf_counter() - start
            if profiler is not None and name == "GrantFlow fire":
                profiler.disable()
    rates = {name: per * ROUNDS / seconds for name, seconds in spent.items()}
    print(f"{label}: {per * ROUNDS} transitions each, {ROUNDS} interleaved rounds  [{machine()}]")
    for name, rate in rates.items():
        print(f"  {name:18s} {rate:8.0f} transitions/s   {1e6 / rate:7.0f} µs each")
    gf = rates["GrantFlow fire"]
    print(f"  GrantFlow fire = {gf / rates['bare SQL']:.2f}× bare SQL, {gf / rates['django-fsm-2+log']:.2f}× "
          f"django-fsm-2+log, {gf / rates['Machine per row']:.2f}× Machine per row, "
          f"{gf / rates['bare SQL, own rows']:.2f}× bare SQL on its own rows")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    engine.dispose()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 1000
    which = args[1] if len(args) > 1 else "both"
    profile = "--profile" in sys.argv
    if which == "both":  # Django is configured once per process: one child per database
        for db in ("sqlite", "postgres"):
            code = os.spawnv(os.P_WAIT, sys.executable, [sys.executable, __file__, str(n), db,
                                                         *(["--profile"] if profile else [])])
            if code:
                raise SystemExit(code)
        return
    for label, database in databases(which):
        with database as url:
            run(label, url, n, profile)


if __name__ == "__main__":
    main()
