"""Does the data still say what its trail says? Checked by ``audit verify``.

The trail vouches for itself (hashes, checkpoints, signatures); this vouches for the rows. Every workflow
subject row (a table with ``wf_state`` and ``wf_version``) must match its chain: its state is the ``to_state``
of its last non-refused event, its version counts those events (create is 1, each applied or migrated
event adds one), and the chain head it keeps (``wf_chain_seq``, ``wf_chain_hash``) is its last event. Amounts named in :data:`RECORDED` must equal the value the trail last recorded for them.
Everything is read with a few aggregate queries; only the events that record an amount are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from workflow.chaincheck import Break, chain_name


@dataclass(frozen=True)
class Recorded:
    """``table.column`` (the row whose ``key`` column holds the subject's id) is last recorded by an event of
    one of ``actions``, under ``inputs[field]`` or as the new value of ``diff[field] = [old, new]``."""

    subject_type: str
    table: str
    key: str
    column: str
    actions: tuple[tuple[str, str], ...]  # (action, "inputs" | "diff")
    field: str = ""

    @property
    def name(self) -> str:
        return self.field or self.column


# The amounts the trail records: a proposal's, its funding's, and each budget envelope's (on its own chain).
# A row whose trail has not recorded the amount (written before it was recorded) is not judged.
RECORDED = (
    Recorded("proposal", "proposal", "id", "requested_support", (("create", "inputs"), ("edit", "diff"))),
    Recorded("proposal", "proposal", "id", "total_cost", (("create", "inputs"), ("edit", "diff"))),
    Recorded("proposal", "funding", "proposal_id", "approved_amount",
             (("approve_funding", "inputs"), ("approve_change", "diff"))),
    Recorded("budget_envelope", "budget_envelope", "id", "amount", (("create", "inputs"),)),
    Recorded("budget_envelope", "budget_envelope", "id", "committed",
             (("create", "inputs"), ("commit", "diff"), ("release", "diff"))),
)


def subject_tables(conn: Connection) -> list[str]:
    found = []
    inspector = inspect(conn)
    for table in inspector.get_table_names():
        columns = {c["name"] for c in inspector.get_columns(table)}
        if {"id", "wf_state", "wf_version"} <= columns:
            found.append(table)
    return sorted(found)


def check(conn: Connection, recorded: tuple[Recorded, ...] = RECORDED) -> list[Break]:
    """Every disagreement between subject rows (and the amounts in ``recorded``) and their chains."""
    tables = subject_tables(conn)
    problems = [b for table in tables for b in _states(conn, table)]
    existing = set(inspect(conn).get_table_names())
    for rule in recorded:
        if rule.table in existing:
            problems += _amounts(conn, rule)
    return problems


def _states(conn: Connection, table: str) -> Iterator[Break]:
    # subject_type is the table name (WorkflowMixin.wf_type's default); ids are compared as text. One pass over
    # the table's events: the changes (count, last seq) and the chain's last event, refusals included (the head).
    rows = conn.exec_driver_sql(
        f"SELECT s.id, s.wf_state, s.wf_version, a.n, e.id, e.seq, e.to_state, s.wf_chain_seq, s.wf_chain_hash, "
        f"h.seq, h.hash FROM {table} s "
        "LEFT JOIN (SELECT subject_id, sum(CASE WHEN outcome <> 'refused' THEN 1 ELSE 0 END) AS n, "
        "  max(CASE WHEN outcome <> 'refused' THEN seq END) AS last, max(seq) AS top FROM audit_event "
        f"  WHERE subject_type = '{table}' GROUP BY subject_id) a "
        "  ON a.subject_id = CAST(s.id AS VARCHAR(64)) "
        f"LEFT JOIN audit_event e ON e.subject_type = '{table}' AND e.subject_id = a.subject_id "
        "  AND e.seq = a.last "
        f"LEFT JOIN audit_event h ON h.subject_type = '{table}' AND h.subject_id = a.subject_id "
        "  AND h.seq = a.top ORDER BY s.id")
    for subject_id, state, version, count, event_id, seq, head_state, *head in rows:
        name = chain_name(table, str(subject_id))
        if count is None:
            yield Break(0, name, 0, "data", f"{table} {subject_id} is '{state}' at version {version}, "
                                            "but it has no audit trail")
            continue
        if state != head_state or version != count:
            yield Break(event_id, name, seq, "data",
                        f"{table} {subject_id} is '{state}' at version {version}, but its trail ends at "
                        f"'{head_state}' after {count} recorded change(s)")
        yield from _head(table, subject_id, *head)
    orphans = conn.exec_driver_sql(
        f"SELECT subject_id, min(id) FROM audit_event WHERE subject_type = '{table}' AND subject_id NOT IN "
        f"(SELECT CAST(id AS VARCHAR(64)) FROM {table}) GROUP BY subject_id ORDER BY subject_id")
    for subject_id, first_id in orphans:
        yield Break(first_id, chain_name(table, subject_id), 1, "data",
                    f"{table} {subject_id} has an audit trail but its row is gone")


def _head(table: str, subject_id: Any, row_seq: int, row_hash: str, last_seq: int, last_hash: str
          ) -> Iterator[Break]:
    """The chain head the row keeps (0017) must be its chain's last event: the next event links to it."""
    if (row_seq, row_hash) != (last_seq, last_hash):
        yield Break(0, chain_name(table, str(subject_id)), last_seq, "data",
                    f"{table} {subject_id} names #{row_seq} ({row_hash[:12]}…) as the head of its trail, but "
                    f"the trail ends at #{last_seq} ({last_hash[:12]}…)")


def _last_recorded(conn: Connection, rule: Recorded) -> dict[str, tuple[int, int, Any]]:
    """subject id -> (event id, seq, value) of the last event that recorded the rule's value."""
    actions = dict(rule.actions)
    names = ", ".join(f"'{a}'" for a in actions)
    rows = conn.exec_driver_sql(
        f"SELECT subject_id, id, seq, action, body FROM audit_event WHERE subject_type = '{rule.subject_type}' "
        f"AND action IN ({names}) AND outcome IN ('applied', 'created') ORDER BY subject_id, seq")
    last: dict[str, tuple[int, int, Any]] = {}
    for subject_id, event_id, seq, action, body in rows:
        part = json.loads(body).get(actions[action]) or {}
        if rule.name not in part:
            continue
        value = part[rule.name]
        if actions[action] == "diff":
            if not (isinstance(value, list) and len(value) == 2):
                continue
            value = value[1]
        last[subject_id] = (event_id, seq, value)
    return last


def _amounts(conn: Connection, rule: Recorded) -> Iterator[Break]:
    last = _last_recorded(conn, rule)
    rows = conn.exec_driver_sql(f"SELECT {rule.key}, {rule.column} FROM {rule.table} ORDER BY {rule.key}")
    for subject_id, value in rows:
        recorded = last.get(str(subject_id))
        if recorded is None:
            continue
        event_id, seq, expected = recorded
        if _same(value, expected):
            continue
        yield Break(event_id, chain_name(rule.subject_type, str(subject_id)), seq, "data",
                    f"{rule.table}.{rule.column} of {rule.subject_type}:{subject_id} is {value}, but the trail "
                    f"last recorded {expected} (event {event_id}, #{seq})")


def _same(value: Any, expected: Any) -> bool:
    try:
        return int(value) == int(expected)
    except (TypeError, ValueError):
        return str(value) == str(expected)
