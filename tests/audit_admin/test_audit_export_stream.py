"""The whole-trail CSV export streams: memory flat in the number of events, a huge event still exported whole,
and the file is correct CSV (BOM, header, escaping, Vietnamese) however many batches it spans."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tracemalloc

import pytest
from api.world import BOTH_DATABASES
from conftest import login
from sqlalchemy import func, insert, select

from app.audit import log
from workflow import audit
from workflow.chaincheck import GENESIS

pytestmark = BOTH_DATABASES


def _add_events(db, count: int, first_subject: int, comment=lambda n: f"Ý kiến số {n}: đạt, \"đủ\" hồ sơ") -> None:
    """``count`` events on chains of their own (subject ids from ``first_subject``), bulk-inserted with the
    bodies and hashes the write path makes: fixtures, not the append path under test."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [audit.event_values(seq=1, prev_hash=GENESIS, subject_type="bench", subject_id=str(first_subject + n),
                               action="forward", outcome="applied", actor_id="1", actor_role="district_officer",
                               comment=comment(n), inputs={"comment": comment(n)},
                               occurred_at=start + dt.timedelta(seconds=n))
            for n in range(count)]
    conn = db.connection()
    for i in range(0, len(rows), 5_000):
        conn.execute(insert(audit.AuditEvent.__table__), rows[i:i + 5_000])
    db.commit()


def _streamed(client) -> tuple[int, int, bytes]:
    """(peak traced bytes, bytes sent, the first chunk) of a whole-trail export read chunk by chunk."""
    tracemalloc.start()  # before the request: the test client runs the response up to its first chunk
    first, size = b"", 0
    try:
        response = client.get("/audit/export.csv", buffered=False)
        with response:
            assert response.status_code == 200 and response.mimetype == "text/csv"
            for chunk in response.response:
                first, size = first or chunk, size + len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, size, first


def test_export_memory_is_flat_in_the_number_of_events(client, world, db):
    """Four times the events must not make the peak anywhere near four times: rows are read in batches of
    log.CSV_BATCH and sent as they are written (both sizes span several batches)."""
    n = 2 * log.CSV_BATCH
    _add_events(db, n, 1)
    login(client, "auditor")
    small_peak, small_size, _ = _streamed(client)
    _add_events(db, 3 * n, n + 1)
    large_peak, large_size, first = _streamed(client)
    assert large_size > 3.5 * small_size  # the second export really holds four times the events
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    assert first.startswith("\ufeff".encode()) and len(first) < 2 * small_size  # sent in chunks, not at the end


def test_a_huge_event_exports_whole(client, world, db):
    """One event with a 4 MB comment (and the same in its inputs) is exported whole, readable as CSV."""
    huge = "Biên bản thẩm định, \"trích\" dòng\n" * 120_000
    _add_events(db, 3, 10, comment=lambda n: huge if n == 1 else f"ngắn {n}")
    login(client, "auditor")
    body = client.get("/audit/export.csv", query_string={"actor": "1"}).get_data(as_text=True)
    limit = csv.field_size_limit()
    csv.field_size_limit(len(body))  # a reader's default limit (128 kB) is far below one such cell
    try:
        rows = [r for r in csv.DictReader(io.StringIO(body[1:])) if r["subject_type"] == "bench"]
    finally:
        csv.field_size_limit(limit)
    assert [r["comment"] for r in rows] == ["ngắn 2", huge, "ngắn 0"]  # newest first
    assert json.loads(rows[1]["inputs"]) == {"comment": huge}


@pytest.mark.parametrize("count", [1, 2 * log.CSV_BATCH + 1])
def test_export_is_one_correct_csv_across_batches(client, world, db, count):
    """One header, every event once, newest first, cells escaped (quotes, commas, formula starts), UTF-8 with a
    BOM for Vietnamese; batches join without a blank or repeated line."""
    _add_events(db, count, 1, comment=lambda n: f"=SUM(A{n}), \"trích\" Đạt yêu cầu" if n % 2 else f"Ổn {n}")
    login(client, "auditor")
    raw = client.get("/audit/export.csv").get_data()
    assert raw.startswith("\ufeff".encode()) and raw.count("\ufeffid,".encode()) == 1
    text = raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == list(log.CSV_COLUMNS)
    ours = [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[1] == "bench"]
    assert [int(r["subject_id"]) for r in ours] == list(range(count, 0, -1))
    total = db.scalar(select(func.count()).select_from(audit.AuditEvent))
    assert len(rows) - 1 == total
    for r in ours:
        n = int(r["subject_id"]) - 1
        expected = f"'=SUM(A{n}), \"trích\" Đạt yêu cầu" if n % 2 else f"Ổn {n}"
        assert r["comment"] == expected  # a formula start is neutralised, the rest kept as written


def test_a_checkpoint_reads_as_its_count_and_digest(client, world, db):
    """A checkpoint's readable details name how many chains it records and its digest (a bulk load's names
    100,000 heads: megabytes a person cannot read); its machine column still holds every head."""
    _add_events(db, 30, 1)
    checkpoint = audit.checkpoint(db)
    db.commit()
    heads = checkpoint.diff["heads"]
    login(client, "auditor")
    rows = csv.DictReader(io.StringIO(client.get("/audit/export.csv").get_data(as_text=True)[1:]))
    row = next(r for r in rows if r["outcome"] == "checkpoint")
    assert len(heads) >= 30 and json.loads(row["diff"])["heads"] == heads
    assert row["details_readable"] == f"Chuỗi được ghi nhận: {len(heads)}; Mã tổng hợp: {checkpoint.diff['digest']}"
