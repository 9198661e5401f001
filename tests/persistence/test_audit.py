"""The audit trail: append-only triggers, tamper detection by verify, checkpoints, export and offline check."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import lift_trail_guards
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.world import DISTRICT, PROVINCE, applicant, officer
from workflow import audit, operations
from workflow.audit import AuditEvent, events_for, verify_chain
from workflow.chaincheck import GENESIS, Chains, canonical, digest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_audit_export.py"


@pytest.fixture
def trail(engine, make_proposal):
    """Two proposals: the first with five events (create, edit, submit, forward, return), the second two."""
    first, second = make_proposal(), make_proposal()
    with Session(engine) as s:
        p = s.get(Proposal, first.id)
        operations.edit(s, p, applicant(p.organisation_id), {"title": "Máy sao chè chân không"})
        operations.fire(s, p, "submit", applicant(p.organisation_id))
        operations.fire(s, p, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"})
        operations.fire(s, p, "return_for_revision", officer("centre_officer", PROVINCE), {"comment": "Bổ sung"})
        operations.fire(s, s.get(Proposal, second.id), "submit", applicant(second.organisation_id))
        s.commit()
        events = events_for(s, "proposal", first.id)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    return events


def drop_triggers(engine):
    with engine.begin() as conn:
        lift_trail_guards(conn)


def rewrite(conn, event_id, **changes):
    """Give an event new fields; its hash is left as it was unless ``rehash``."""
    rehash = changes.pop("rehash", False)
    fields = json.loads(conn.execute(text("SELECT body FROM audit_event WHERE id = :i"), {"i": event_id}).scalar_one())
    fields.update(changes)
    body = canonical(fields)
    # The columns follow the body (the strongest writer keeps them agreeing); the hash only when asked.
    values = audit.column_values(body)
    if not rehash:
        del values["hash"]
    table = AuditEvent.__table__
    conn.execute(update(table).where(table.c.id == event_id).values(**values))
    return body


# One scan, and three forked workers on stretches of a few ids (chains cross stretches): the same answers.
SCANS = pytest.mark.parametrize("workers", [1, 3], ids=["one_scan", "three_workers"])


@SCANS
def test_fresh_trail_verifies(engine, trail, workers):
    result = verify_chain(engine, workers=workers, min_stretch=1)
    assert result.ok and result.count == 7 and result.first is None
    assert result.head_digest == verify_chain(engine).head_digest and len(result.head_digest) == 64


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET body = body", "DELETE FROM audit_event"])
def test_triggers_reject_update_and_delete(engine, trail, statement):
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert verify_chain(engine).count == 7


@pytest.mark.postgres
def test_trigger_rejects_truncate(postgres_url):
    from workflow.storage import create_db_engine

    engine = create_db_engine(postgres_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_event"))
    finally:
        engine.dispose()


def _changed_column(conn, events):
    # The body and hash untouched: only what the log pages and reports query says something else.
    conn.execute(text("UPDATE audit_event SET to_state = 'funded' WHERE id = :i"), {"i": events[2].id})
    return events[2].id, "changed"


def _changed_and_rehashed(conn, events):
    rewrite(conn, events[2].id, to_state="funded", rehash=True)
    return events[2].id, "changed"


def _deleted(conn, events):
    conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": events[2].id})
    return events[3].id, "missing"  # named: the event whose predecessor is gone


def _inserted(conn, events):
    # Backdate a forged decision between #2 and #3: renumber the tail (last first) and link the forgery to #2.
    for event in reversed(events[2:]):
        rewrite(conn, event.id, seq=event.seq + 1)
    fields = json.loads(events[2].body)
    fields.update(seq=3, prev_hash=events[1].hash, action="approve_funding", to_state="funded", actor_id="intruder")
    body = canonical(fields)
    conn.execute(insert(AuditEvent.__table__).values(**audit.column_values(body)))
    forged = conn.execute(text("SELECT id FROM audit_event WHERE hash = :h"), {"h": digest(body)}).scalar_one()
    return forged, "inserted"


def _swapped(conn, events):
    a, b = events[2], events[3]
    conn.execute(text("UPDATE audit_event SET body = :b, hash = 'tmp' WHERE id = :i"), {"b": "{}", "i": a.id})
    conn.execute(text("UPDATE audit_event SET seq = -seq WHERE id = :i"), {"i": a.id})  # out of the way
    table = AuditEvent.__table__
    for target, source in ((b, a), (a, b)):  # rows, columns included, trade places
        conn.execute(update(table).where(table.c.id == target.id).values(**audit.column_values(source.body)))
    return a.id, "reordered"  # the row stored first now holds the later event


@SCANS
@pytest.mark.parametrize("tamper", [_changed_column, _changed_and_rehashed, _deleted, _inserted, _swapped],
                         ids=lambda f: f.__name__.strip("_"))
def test_verify_names_the_tampered_event(engine, trail, tamper, capsys, database_url, workers):
    drop_triggers(engine)
    with engine.begin() as conn:
        event_id, kind = tamper(conn, trail)
    result = verify_chain(engine, workers=workers, min_stretch=1)
    assert not result.ok
    assert (result.first.event_id, result.first.kind) == (event_id, kind), result.problems
    assert ("to_state" in result.altered_columns) == (tamper is _changed_column)
    assert audit.cli_verify(database_url) == 1
    out = capsys.readouterr().out
    assert f"event {event_id} " in out and kind in out


@SCANS
def test_checkpoint_catches_a_truncated_chain(engine, trail, workers):
    with Session(engine, expire_on_commit=False) as s:
        cp = audit.checkpoint(s)
        s.commit()
        assert cp.diff["heads"][f"proposal:{trail[0].subject_id}"] == [5, trail[-1].hash]
        assert audit.checkpoint(s) is None  # nothing moved since
    assert verify_chain(engine).checkpoints == 1
    drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": trail[-1].id})
    result = verify_chain(engine, workers=workers, min_stretch=1)
    assert (result.first.event_id, result.first.kind) == (cp.id, "missing")
    assert f"proposal:{trail[0].subject_id} #5" in result.first.detail


def test_checkpoints_are_incremental(engine, trail, make_proposal):
    with Session(engine, expire_on_commit=False) as s:
        first = audit.checkpoint(s)
        s.commit()
        make_proposal()
        second = audit.checkpoint(s)
        s.commit()
    assert len(first.diff["heads"]) == 2 and len(second.diff["heads"]) == 1
    assert first.diff["digest"] != second.diff["digest"]
    assert verify_chain(engine).ok


def export_text(engine):
    buf = io.StringIO()
    assert audit.export(engine, buf) == 7
    return buf.getvalue()


def run_tool(path, *args):
    return subprocess.run([sys.executable, str(TOOL), str(path), *args], capture_output=True, text=True,
                          cwd="/", env={"PATH": "/usr/bin:/bin"})


def test_standalone_verifier_on_export(engine, trail, tmp_path, database_url):
    with Session(engine) as s:
        cp_digest = audit.checkpoint(s).diff["digest"]
        s.commit()
    head = verify_chain(engine).head_digest
    path = tmp_path / "audit.jsonl"
    with path.open("w", encoding="utf-8") as out:
        assert audit.cli_export(database_url, out) == 0
    ok = run_tool(path, "--digest", head)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"OK 8 events, head digest {head}" in ok.stdout
    assert "checkpoint 1" in run_tool(path, "--digest", cp_digest).stdout
    assert run_tool(path, "--digest", "f" * 64).returncode == 1

    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    record["event"]["actor_id"] = "someone-else"
    lines[2] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = run_tool(path, "--digest", head)
    assert broken.returncode == 1
    assert f"event {record['id']} " in broken.stdout and "changed" in broken.stdout


def test_tool_is_standard_library_only():
    source = TOOL.read_text(encoding="utf-8")
    imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                if line.startswith(("import ", "from "))}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_events_are_queryable_by_column(engine, trail):
    with Session(engine) as s:
        refused_free = s.query(AuditEvent).filter(AuditEvent.actor_id == f"district_officer-{DISTRICT}").all()
    assert [(e.action, e.to_state) for e in refused_free] == [("forward", "provincial_appraisal")]


def test_verify_reads_while_a_writer_holds_the_lock(engine, trail):
    with Session(engine) as writer:
        p = writer.get(Proposal, int(trail[0].subject_id))
        operations.fire(writer, p, "submit", applicant(p.organisation_id))  # not committed: the lock is held
        result = verify_chain(engine)  # would wait (SQLite: for the write lock) if it were not read-only
        assert result.ok and result.count == 7  # the uncommitted event is not seen
        writer.rollback()


def test_command_line_checkpoint_verify_export(database_url, trail, capsys):
    from workflow.__main__ import main

    assert main(["audit", "checkpoint", "--db", database_url]) == 0
    assert "2 chain head(s) moved" in capsys.readouterr().out
    assert main(["audit", "checkpoint", "--db", database_url]) == 0
    assert "nothing moved" in capsys.readouterr().out
    assert main(["audit", "verify", "--db", database_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK 8 events, 1 checkpoints; head digest ")
    proven = database_url.startswith("postgresql")  # its row check (0022); SQLite's verify checks each row
    assert out.rstrip().endswith("proven by the database's row check" if proven else "hash and columns checked")
    assert main(["audit", "verify", "--db", database_url, "--recheck-rows"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("each row's hash and columns checked")
    assert main(["audit", "export", "--db", database_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["event"]["seq"] for line in lines][:2] == [1, 1]
    assert json.loads(lines[-1])["event"]["outcome"] == "checkpoint"


_hashes = st.sampled_from([GENESIS, "h1", "h2", "h3"])
_events = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 4), _hashes, _hashes, st.booleans()),
                   max_size=30)


@settings(max_examples=300, deadline=None)
@given(events=_events, cuts=st.lists(st.integers(0, 30), max_size=3))
def test_stretches_absorbed_in_order_equal_one_scan(events, cuts):
    """Chains.absorb is exact: any split of the trail, scanned midway and joined, gives one scan's answer."""
    whole = Chains()
    for event in events:
        whole.add(*event)
    bounds = [0, *sorted(min(c, len(events)) for c in cuts), len(events)]
    parts = [Chains(midway=i > 0) for i in range(len(bounds) - 1)]
    for part, (lo, hi) in zip(parts, itertools.pairwise(bounds), strict=True):
        for event in events[lo:hi]:
            part.add(*event)
    joined = parts[0]
    for later in parts[1:]:
        joined.absorb(later)
    assert (joined.heads, joined.broken, joined.count) == (whole.heads, whole.broken, whole.count)
