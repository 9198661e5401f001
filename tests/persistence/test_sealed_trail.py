"""The tamper matrix: every way of changing the trail (or the data behind it) is caught by `audit verify` given
the public key and the published, signed checkpoint digests, and the report names the subject and the event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.test_audit import drop_triggers, rewrite
from persistence.world import DISTRICT, PROVINCE, applicant, officer
from workflow import audit, operations, seal
from workflow.__main__ import main
from workflow.audit import events_for
from workflow.chaincheck import CHECKPOINT_CHAIN, canonical, digest, head_digest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path):
    private, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    assert main(["audit", "keygen", "--private", str(private), "--public", str(public)]) == 0
    return private, public


@pytest.fixture
def sealed(engine, make_proposal, keys, database_url, tmp_path):
    """Proposal A with five events (create, edit of the amount, submit, forward, return), B with two; then a
    signed checkpoint, its digest published to a file."""
    first, second = make_proposal(), make_proposal()
    with Session(engine) as s:
        p = s.get(Proposal, first.id)
        operations.edit(s, p, applicant(p.organisation_id), {"total_cost": 300_000_000})
        operations.fire(s, p, "submit", applicant(p.organisation_id))
        operations.fire(s, p, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"})
        operations.fire(s, p, "return_for_revision", officer("centre_officer", PROVINCE), {"comment": "Bổ sung"})
        operations.fire(s, s.get(Proposal, second.id), "submit", applicant(second.organisation_id))
        s.commit()
        a, b = events_for(s, "proposal", first.id), events_for(s, "proposal", second.id)
    published = tmp_path / "published.jsonl"
    assert main(["audit", "checkpoint", "--db", database_url, "--key", str(keys[0]),
                 "--publish", str(published)]) == 0
    return {"a": a, "b": b, "published": published, "public": keys[1], "private": keys[0]}


def _verify(engine, ctx):
    return seal.verify(engine, public_key=seal.load_public_key(ctx["public"]),
                       published=seal.read_published(ctx["published"]), require_sealed=True)


def test_a_sealed_trail_verifies(engine, sealed, database_url, capsys):
    result = _verify(engine, sealed)
    assert result.ok, result.problems
    assert result.signed == 1 and result.unsealed == []
    line = json.loads(sealed["published"].read_text())
    with Session(engine) as s:
        cp = events_for(s, "audit", "checkpoint")[0]
    assert (line["seq"], line["digest"], line["signature"]) == (1, cp.diff["digest"], cp.diff["signature"])
    assert main(["audit", "verify", "--db", database_url, "--workers", "1", "--public-key", str(sealed["public"]),
                 "--published", str(sealed["published"]), "--require-sealed"]) == 0
    assert "1 signed checkpoint(s), 0 chain(s) with events not yet sealed" in capsys.readouterr().out


def test_new_events_are_unsealed_until_the_next_checkpoint(engine, sealed, make_proposal, database_url):
    third = make_proposal()
    result = _verify(engine, sealed)
    assert [(b.subject, b.kind) for b in result.problems] == [(f"proposal:{third.id}", "unsealed")]
    assert seal.verify(engine, public_key=seal.load_public_key(sealed["public"])).ok  # only when required
    assert main(["audit", "checkpoint", "--db", database_url, "--key", str(sealed["private"]),
                 "--publish", str(sealed["published"])]) == 0
    assert _verify(engine, sealed).ok


def test_a_broken_trail_is_not_sealed(engine, sealed, database_url, capsys):
    drop_triggers(engine)
    with engine.begin() as conn:
        rewrite(conn, sealed["a"][2].id, to_state="funded")
    assert main(["audit", "checkpoint", "--db", database_url, "--key", str(sealed["private"])]) == 1
    assert "BROKEN, not sealed" in capsys.readouterr().out
    assert _verify(engine, sealed).chains.checkpoints == 1


def test_keygen_never_overwrites(keys, capsys):
    assert main(["audit", "keygen", "--private", str(keys[0]), "--public", str(keys[1]) + ".new"]) == 2
    assert "already exists" in capsys.readouterr().out
    assert oct(keys[0].stat().st_mode & 0o777) == "0o600"


# --- the matrix: each returns (the subject named, a text the report must contain for the event) ------------

def _insert(conn, fields, columns=True):
    """Insert a forged event; its columns written to match (the strongest writer) unless ``columns`` is False."""
    body = canonical(fields)
    values = audit.column_values(body) if columns else {"body": body, "hash": digest(body)}
    conn.execute(sa.insert(audit.AuditEvent.__table__).values(**values))
    return conn.execute(text("SELECT id FROM audit_event WHERE hash = :h"), {"h": digest(body)}).scalar_one()


def _set(conn, event_id, body, **extra):
    """Rewrite a row from a body: every column follows it (hash too unless given in ``extra``)."""
    table = audit.AuditEvent.__table__
    conn.execute(sa.update(table).where(table.c.id == event_id).values(**{**audit.column_values(body), **extra}))


def _body(event):
    return json.loads(event.body)


def edit(conn, ctx):
    e = ctx["a"][2]
    rewrite(conn, e.id, actor_id="someone-else")
    return e.subject, f"event {e.id} "


def rehash(conn, ctx):
    e = ctx["a"][2]
    rewrite(conn, e.id, actor_id="someone-else", rehash=True)
    return e.subject, f"event {e.id} "


def delete(conn, ctx):
    a = ctx["a"]
    conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": a[2].id})
    return a[3].subject, f"event {a[3].id} "


def insert(conn, ctx):
    a = ctx["a"]
    for event in reversed(a[2:]):
        rewrite(conn, event.id, seq=event.seq + 1)
    forged = _insert(conn, {**_body(a[2]), "seq": 3, "prev_hash": a[1].hash, "actor_id": "intruder"})
    return a[2].subject, f"event {forged} "


def reorder(conn, ctx):
    x, y = ctx["a"][2], ctx["a"][3]
    conn.execute(text("UPDATE audit_event SET body = '{}', hash = 'tmp', seq = -seq WHERE id = :i"), {"i": x.id})
    for target, source in ((y, x), (x, y)):
        _set(conn, target.id, source.body)
    return x.subject, f"event {x.id} "


def column_only(conn, ctx):
    """Body and hash untouched; the column the log filters on says someone else acted."""
    e = ctx["a"][2]
    conn.execute(text("UPDATE audit_event SET actor_id = 'someone-else' WHERE id = :i"), {"i": e.id})
    return e.subject, f"event {e.id} "


def insert_without_columns(conn, ctx):
    """A well-formed event written around the engine: body and hash only, no columns."""
    a = ctx["a"]
    forged = _insert(conn, {**_body(a[4]), "seq": 6, "prev_hash": a[4].hash, "actor_id": "intruder"}, columns=False)
    return f"#{forged}", f"event {forged} "


def truncate_tail(conn, ctx):
    a = ctx["a"]
    conn.execute(text("DELETE FROM audit_event WHERE id IN (:x, :y)"), {"x": a[3].id, "y": a[4].id})
    return a[0].subject, "#5"


def _rewrite_from(conn, events, start, **changes):
    """Rewrite events[start:] consistently: each re-hashed and linked to the rewritten one before it."""
    prev = events[start - 1].hash
    for event in events[start:]:
        fields = {**_body(event), **changes, "prev_hash": prev}
        body = canonical(fields)
        prev = digest(body)
        _set(conn, event.id, body)
    return prev


def rewrite_middle(conn, ctx):
    a = ctx["a"]
    _rewrite_from(conn, a, 2, actor_id="intruder")
    return a[0].subject, "#5"


def rewrite_middle_and_checkpoints(conn, ctx):
    """The strongest writer: the chain from #3 on and the checkpoint after it, digest recomputed."""
    a = ctx["a"]
    new_head = _rewrite_from(conn, a, 2, actor_id="intruder")
    cp = conn.execute(text("SELECT id, body FROM audit_event WHERE subject_type = 'audit' ORDER BY seq")).one()
    fields = json.loads(cp.body)
    fields["diff"]["heads"][a[0].subject] = [5, new_head]
    fields["diff"]["digest"] = head_digest({k: tuple(v) for k, v in fields["diff"]["heads"].items()})
    body = canonical(fields)
    _set(conn, cp.id, body)
    return a[0].subject, f"event {cp.id} "


def delete_chain(conn, ctx):
    b = ctx["b"]
    conn.execute(text("DELETE FROM audit_event WHERE subject_type = 'proposal' AND subject_id = :i"),
                 {"i": b[0].subject_id})
    return b[0].subject, "#2"


def delete_checkpoints(conn, ctx):
    conn.execute(text(f"DELETE FROM audit_event WHERE subject_type || ':' || subject_id = '{CHECKPOINT_CHAIN}'"))
    return CHECKPOINT_CHAIN, "#1"


def _forge_next(conn, ctx):
    """A well-linked 'approve_funding' at #6 of A, and the row moved to match it."""
    a = ctx["a"]
    forged = _insert(conn, {**_body(a[4]), "seq": 6, "prev_hash": a[4].hash, "action": "approve_funding",
                            "from_state": "returned", "to_state": "funded", "actor_id": "intruder"})
    conn.execute(text("UPDATE proposal SET wf_state = 'funded', wf_version = 6 WHERE id = :i"),
                 {"i": int(a[0].subject_id)})
    return forged


def forged_append(conn, ctx):
    forged = _forge_next(conn, ctx)
    return ctx["a"][0].subject, f"event {forged} "


def forged_append_and_checkpoint(conn, ctx):
    """...and a checkpoint covering it, signed with a key of the intruder's own."""
    forged = _forge_next(conn, ctx)
    head = conn.execute(text("SELECT hash FROM audit_event WHERE id = :i"), {"i": forged}).scalar_one()
    cp = conn.execute(text("SELECT body, hash FROM audit_event WHERE subject_type = 'audit' ORDER BY seq")).one()
    heads = {k: tuple(v) for k, v in json.loads(cp.body)["diff"]["heads"].items()}
    heads[ctx["a"][0].subject] = (6, head)
    diff = {"heads": {ctx["a"][0].subject: [6, head]}, "digest": head_digest(heads)}
    diff.update(seal.signer(seal.Ed25519PrivateKey.generate())(diff["digest"]))
    fields = {**json.loads(cp.body), "seq": 2, "prev_hash": cp.hash, "diff": diff}
    return ctx["a"][0].subject, f"event {_insert(conn, fields)} "


def data_behind_the_trail(conn, ctx):
    a = ctx["a"]
    conn.execute(text("UPDATE proposal SET wf_state = 'funded', total_cost = total_cost * 10 "
                      "WHERE id = :i"), {"i": int(a[0].subject_id)})
    return a[0].subject, f"event {a[4].id} "


MATRIX = [edit, rehash, column_only, delete, insert, insert_without_columns, reorder, truncate_tail, rewrite_middle, rewrite_middle_and_checkpoints,
          delete_chain, delete_checkpoints, forged_append, forged_append_and_checkpoint, data_behind_the_trail]


@pytest.mark.parametrize("tamper", MATRIX, ids=lambda f: f.__name__)
def test_tamper_matrix(engine, sealed, tamper, database_url, capsys):
    drop_triggers(engine)
    with engine.begin() as conn:
        subject, event = tamper(conn, sealed)
    result = _verify(engine, sealed)
    assert not result.ok
    report = [str(b) for b in result.problems]
    assert any(subject in line and event in line for line in report), report
    assert main(["audit", "verify", "--db", database_url, "--workers", "1", "--public-key", str(sealed["public"]),
                 "--published", str(sealed["published"]), "--require-sealed"]) == 1
    out = capsys.readouterr().out
    assert subject in out and event in out


def test_data_checks_name_state_and_amount(engine, sealed):
    drop_triggers(engine)
    with engine.begin() as conn:
        data_behind_the_trail(conn, sealed)
    problems = [str(b) for b in _verify(engine, sealed).problems if b.kind == "data"]
    assert any("'funded'" in p and "'returned'" in p for p in problems), problems
    assert any("total_cost" in p and "is 3000000000," in p and "recorded 300000000 " in p
               for p in problems), problems


def test_standalone_verifier_is_chaincheck_byte_for_byte():
    assert (ROOT / "tools" / "verify_audit_export.py").read_bytes() == (ROOT / "workflow" / "chaincheck.py").read_bytes()


@pytest.mark.parametrize("body", [
    '{"a":1,"a":2}',  # a key twice: jsonb and json.loads kept the last, the offline verifier disagreed
    '{"b":1,"a":2}', '{"a": 1}', '{"a":{"y":1,"x":2}}', '[1,2]',
], ids=["duplicate_key", "unsorted", "spaced", "nested_unsorted", "not_an_object"])
def test_non_canonical_bodies_are_rejected_on_insert(engine, body):
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="canonical"), engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_event (body, hash) VALUES (:b, :h)"), {"b": body, "h": digest(body)})


def test_the_shipped_schedule_runs_a_signed_checkpoint(engine, sealed, make_proposal, database_url):
    """The cron line and the systemd unit call the real command line; run it as they would."""
    make_proposal()
    env = {"DATABASE_URL": database_url, "AUDIT_SIGNING_KEY_FILE": str(sealed["private"]),
           "PUBLISHED_DIGESTS": str(sealed["published"])}
    cron = (ROOT / "deploy" / "cron" / "grantflow-audit-checkpoint").read_text().splitlines()[-1]
    unit = (ROOT / "deploy" / "systemd" / "grantflow-audit-checkpoint.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    for command in (cron.split("python ", 1)[1].split(" >>")[0], exec_start.split("python ", 1)[1]):
        for name, value in env.items():
            command = command.replace(f'"${name}"', value).replace(f"${{{name}}}", value)
        args = command.split()
        assert args[:2] == ["-m", "workflow"]
        assert main(args[2:]) == 0
    assert len(sealed["published"].read_text().splitlines()) == 2  # the second run had nothing new to seal
    assert _verify(engine, sealed).ok
