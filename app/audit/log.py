"""Reading the audit trail: the filters of the global log, and CSV export of any selection of events."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, Text, case, cast, func, select, text
from sqlalchemy.orm import Session, defer

from app.audit.readable import ReadableEvent, load_names, readable
from app.formatting import LOCAL_TZ, local
from app.models import Proposal, User
from workflow import seal
from workflow.audit import OUTCOMES, AuditEvent, format_time
from workflow.storage import read_only

log = logging.getLogger(__name__)
PER_PAGE = 50
MAX_PAGE = 1_000_000  # keeps the offset within what the database can take


class BadFilter(ValueError):
    """A filter value that cannot be understood; the message is in the user's language."""


def _parse_date(value: str) -> dt.date:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise BadFilter(_("Invalid date \"%(value)s\": use dd/mm/yyyy.", value=value))


def _local_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.UTC)


@dataclass(frozen=True)
class LogFilter:
    """The global log's filters. Dates are whole days in Vietnam time, both ends included."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    proposal: str = ""
    page: int = 1
    before: int | None = None  # keyset: the page starts below this event id (deep pages cost as page 1)
    after: int | None = None  # keyset backwards: the page ends just above this event id

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> LogFilter:
        def arg(name: str) -> str:
            value = (args.get(name) or "").strip()[:100]
            if "\x00" in value:  # PostgreSQL cannot compare text with NUL
                raise BadFilter(_("Invalid character in a filter."))
            return value

        outcome = arg("outcome")
        if outcome and outcome not in OUTCOMES:
            raise BadFilter(_("Unknown outcome \"%(value)s\".", value=outcome))
        page = arg("page") or "1"
        if not re.fullmatch(r"[0-9]{1,7}", page) or not 1 <= int(page) <= MAX_PAGE:
            raise BadFilter(_("Invalid page number."))
        before, after = arg("before"), arg("after")
        if any(c and not re.fullmatch(r"[0-9]{1,18}", c) for c in (before, after)):
            raise BadFilter(_("Invalid page number."))
        date_from = _parse_date(arg("date_from")) if arg("date_from") else None
        date_to = _parse_date(arg("date_to")) if arg("date_to") else None
        if date_from and date_to and date_from > date_to:
            raise BadFilter(_("The start date is after the end date."))
        return cls(arg("actor"), arg("action"), outcome, date_from, date_to, arg("proposal"), int(page),
                   int(before) if before else None, int(after) if after else None)

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for pagination and export links)."""
        out = {"actor": self.actor, "action": self.action, "outcome": self.outcome, "proposal": self.proposal,
               "date_from": self.date_from.strftime("%d/%m/%Y") if self.date_from else "",
               "date_to": self.date_to.strftime("%d/%m/%Y") if self.date_to else ""}
        return {k: v for k, v in out.items() if v}

    def statement(self, session: Session) -> Select[AuditEvent]:
        stmt = select(AuditEvent)
        if self.actor:
            ids = [str(i) for i in session.scalars(select(User.id).where(User.username == self.actor))]
            stmt = stmt.where(AuditEvent.actor_id.in_(ids or [self.actor]))
        if self.action:
            stmt = stmt.where(AuditEvent.action == self.action)
        if self.outcome:
            stmt = stmt.where(AuditEvent.outcome == self.outcome)
        if self.date_from:
            stmt = stmt.where(AuditEvent.occurred_at >= _local_midnight_utc(self.date_from))
        if self.date_to:
            stmt = stmt.where(AuditEvent.occurred_at < _local_midnight_utc(self.date_to + dt.timedelta(days=1)))
        if self.proposal:
            by_code = session.scalar(select(Proposal.id).where(Proposal.code == self.proposal))
            subject_id = str(by_code) if by_code is not None else self.proposal
            stmt = stmt.where(AuditEvent.subject_type == Proposal.wf_type(), AuditEvent.subject_id == subject_id)
        return stmt.order_by(AuditEvent.id.desc())

    def page_of(self, session: Session) -> tuple[list[AuditEvent], int | None]:
        """This page's events, newest first, and the ``before`` cursor of the next page (None on the last). With
        a cursor the page is read straight off an index next to it; ``page`` alone falls back to an offset."""
        stmt = self.statement(session)
        if self.after is not None:
            older = stmt.where(AuditEvent.id > self.after).order_by(None).order_by(AuditEvent.id)
            return list(reversed(_with_previews(session, older.limit(PER_PAGE)))), self.after + 1
        if self.before is not None:
            stmt = stmt.where(AuditEvent.id < self.before)
        else:
            stmt = stmt.offset((self.page - 1) * PER_PAGE)
        events = _with_previews(session, stmt.limit(PER_PAGE + 1))
        return events[:PER_PAGE], events[PER_PAGE - 1].id if len(events) > PER_PAGE else None


DIFF_PREVIEW = 2000  # characters of an event's changes a page shows (a checkpoint's can be megabytes)


def _with_previews(session: Session, stmt: Select[AuditEvent]) -> list[AuditEvent]:
    """The events without their body, their changes cut to DIFF_PREVIEW characters by the database (as
    ``diff_preview``), so a page costs the same whatever one event weighs."""
    preview = case((AuditEvent.outcome == "checkpoint", None),  # every head it names: not worth reading here
                   else_=func.substr(cast(AuditEvent.diff, Text), 1, DIFF_PREVIEW + 1))
    rows = session.execute(stmt.add_columns(preview).options(defer(AuditEvent.body), defer(AuditEvent.diff)))
    events = []
    for event, diff in rows:
        event.diff_preview = "" if diff in (None, "{}") else diff
        events.append(event)
    return events


def distinct_actions(session: Session) -> list[str]:
    """The actions present in the trail, by a skip scan of the (action, id) index: one probe per action."""
    rows = session.execute(text(
        "WITH RECURSIVE a(action) AS (SELECT min(action) FROM audit_event UNION ALL "
        "SELECT (SELECT min(action) FROM audit_event WHERE action > a.action) FROM a WHERE a.action IS NOT NULL) "
        "SELECT action FROM a WHERE action IS NOT NULL"))
    return [row[0] for row in rows]


def configured_public_key() -> Any:
    """The checkpoint-signing public key (AUDIT_PUBLIC_KEY_FILE), None when unset or unreadable (logged)."""
    key_file = current_app.config.get("AUDIT_PUBLIC_KEY_FILE")
    try:
        return seal.load_public_key(key_file) if key_file else None
    except seal.KeyFileError:
        log.exception("AUDIT_PUBLIC_KEY_FILE cannot be read: checkpoint signatures are not checked")
        return None


def usernames(session: Session, events: Iterable[AuditEvent]) -> dict[str, str]:
    """actor_id -> username, for showing and exporting events."""
    ids = {int(e.actor_id) for e in events if e.actor_id and e.actor_id.isdigit()}
    if not ids:
        return {}
    return {str(i): name for i, name in session.execute(select(User.id, User.username).where(User.id.in_(ids)))}


CSV_COLUMNS = (
    "id", "subject_type", "subject_id", "seq", "occurred_at_utc", "occurred_at_vn", "actor_id", "actor_username",
    "actor_role", "actor_unit", "action", "from_state", "to_state", "outcome", "comment", "inputs", "diff",
    "reasons", "workflow", "workflow_version", "workflow_sha256", "request_id", "prev_hash", "hash",
    # readable columns after the machine ones (app/audit/readable.py), in the exporting user's language
    "subject_code", "actor_name", "action_title", "states_title", "outcome_title", "details_readable",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    # A spreadsheet must never evaluate what a user typed into a comment.
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_BATCH = 2_000  # events per chunk of the response: memory stays flat in the number of events


def _csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text, written into a fresh StringIO: one reused after truncate() keeps 4 bytes a character
    (a checkpoint's 10 MB cell took 40 MB there), a fresh one appending keeps the text compact."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _csv_row(e: AuditEvent, r: ReadableEvent, names: dict[str, str]) -> list[str]:
    return [_cell(v) for v in (
        e.id, e.subject_type, e.subject_id, e.seq, format_time(e.occurred_at),
        local(e.occurred_at).strftime("%d/%m/%Y %H:%M:%S"), e.actor_id, names.get(e.actor_id or "", ""),
        e.actor_role, e.actor_unit, e.action, e.from_state, e.to_state, e.outcome, e.comment, e.inputs, e.diff,
        e.reasons, e.workflow, e.workflow_version, e.workflow_sha256, e.request_id, e.prev_hash, e.hash,
        r.subject, r.actor, r.title, r.states, r.outcome, " | ".join(filter(None, [r.comment, r.text()])))]


def csv_chunks(session: Session, stmt: Select[AuditEvent]) -> Iterator[str]:
    """The events of ``stmt`` as CSV, a chunk at a time: UTF-8 with a byte-order mark, so spreadsheet programs
    show Vietnamese correctly. Read on a read-only connection of its own (SQLite: no write lock held while the
    response streams); the request's transaction ends first."""
    engine = read_only(session.get_bind().engine)
    session.commit()  # nothing is pending in a read-only request

    def chunks() -> Iterator[str]:
        yield "\ufeff" + _csv_text([CSV_COLUMNS])
        names: dict[str, str] = {}
        with Session(engine) as reader:
            for batch in reader.scalars(stmt.options(defer(AuditEvent.body))
                                        .execution_options(yield_per=CSV_BATCH)).partitions():
                names.update(usernames(reader, [e for e in batch if (e.actor_id or "") not in names]))
                shown = load_names(reader, batch)  # names and codes of the batch: one query each
                # the session's identity map holds events weakly: they go with the batch
                yield _csv_text(_csv_row(e, readable(e, shown, with_raw=False), names) for e in batch)

    return chunks()
