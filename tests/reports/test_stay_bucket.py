"""report_stay_bucket (migration 0020_stay_median): the finished stays per (stage, whole day, dimensions), kept
by triggers on report_stay_days, and the exact medians read through it. Hand-checked on the sample of
conftest.py (trails in whole days) and on stays written with chosen fractional days. SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import datetime as dt
from types import SimpleNamespace
from typing import Any

from alembic import command
from sqlalchemy import delete, func, inspect, select, update

from app.models import Proposal
from app.reports import cube, queries
from app.reports.cube import ReportStayBucket, ReportStayDays
from app.schema import alembic_config
from workflow import audit

CENTRE = SimpleNamespace(id=0, organisation_id=None, grants=[SimpleNamespace(role="centre_officer", unit_code="19")])
DISTRICT_171 = SimpleNamespace(id=0, organisation_id=None,
                               grants=[SimpleNamespace(role="district_officer", unit_code="171")])


def _at(day: str) -> dt.datetime:
    """09:00 in Hà Nội on that day, in UTC (as the sample's trails)."""
    return dt.datetime.fromisoformat(day).replace(hour=2, tzinfo=dt.UTC)


def _per_day(db: Any, stage: str) -> dict[int, int]:
    rows = db.execute(select(ReportStayBucket.bucket, func.sum(ReportStayBucket.n))
                      .where(ReportStayBucket.stay_state == stage).group_by(ReportStayBucket.bucket))
    return {bucket: int(n) for bucket, n in rows if n}


def _per_district(db: Any, stage: str) -> dict[str, int]:
    rows = db.execute(select(ReportStayBucket.district_code, func.sum(ReportStayBucket.n))
                      .where(ReportStayBucket.stay_state == stage).group_by(ReportStayBucket.district_code))
    return {district: int(n) for district, n in rows if n}


def test_the_sample_stays_are_counted_per_whole_day(sample: Any, db: Any) -> None:
    # district_review lasted 10 (P1), 6 (P2), 14 (P3), 10 (P4), 10 (P5), 10 (P8) days; P6, P7 never entered it
    assert _per_day(db, "district_review") == {6: 1, 10: 4, 14: 1}
    # P1 Mar 1 - Sep 1 2019, P3 Mar 11 - Aug 1 2020, P4 Feb 12 - May 1 2020 (leap year)
    assert _per_day(db, "implementing") == {184: 1, 143: 1, 79: 1}
    assert _per_day(db, "evaluated") == {}  # P1 is still there: not finished
    assert cube.bucket_differences(db) == []


def test_the_triggers_move_the_counts_with_the_proposal_and_its_stays(sample: Any, db: Any) -> None:
    _, p2, _, p4, *_, p8 = sample.proposals
    assert _per_district(db, "district_review") == {"171": 4, "173": 2}

    db.execute(update(Proposal).where(Proposal.id == p4.id).values(district_code="171", commune_code="05761"))
    db.commit()
    assert _per_district(db, "district_review") == {"171": 5, "173": 1}  # a dimension change moves its stays

    # P2 leaves implementing after 212 days (Feb 10 - Sep 10 2019): its stay closes and its state changes
    audit.append(db, subject_type="proposal", subject_id=str(p2.id), action="to_implemented", outcome="applied",
                 from_state="implementing", to_state="implemented", workflow="khuyen-cong-local",
                 workflow_version=1, occurred_at=_at("2019-09-10"))
    db.execute(update(Proposal).where(Proposal.id == p2.id).values(wf_state="implemented"))
    db.commit()
    assert _per_day(db, "implementing") == {184: 1, 143: 1, 79: 1, 212: 1}
    in_state = db.execute(select(ReportStayBucket.state, func.sum(ReportStayBucket.n))
                          .where(ReportStayBucket.n > 0, ReportStayBucket.year == 2019,
                                 ReportStayBucket.district_code == "171", ReportStayBucket.commune_code == "05785")
                          .group_by(ReportStayBucket.state)).all()
    assert in_state == [("implemented", 6)]  # P2's six finished stays, all under its new state

    db.execute(delete(Proposal).where(Proposal.id == p8.id))  # its stays leave the report tables
    db.commit()
    assert _per_day(db, "district_review") == {6: 1, 10: 3, 14: 1}
    assert _per_day(db, "draft")[4] == 1  # P2's and P8's drafts lasted 4 days
    assert cube.bucket_differences(db) == []


def test_a_write_of_report_stay_days_moves_its_bucket(sample: Any, db: Any) -> None:
    """Insert, update (close, change of days, change of dimension) and delete of a row: each trigger."""
    before = _per_day(db, "returned")
    row = ReportStayDays(stay_id=10**6, proposal_id=sample.proposals[0].id, stay_state="returned",
                         entered_at=_at("2020-01-01"), days=None, province_code="19", district_code="171",
                         commune_code="05761", state="evaluated", category="machinery", fund="local", year=2019)
    db.add(row)
    db.commit()
    assert _per_day(db, "returned") == before == {}  # open: not counted
    db.execute(update(ReportStayDays).where(ReportStayDays.stay_id == 10**6).values(days=3.75))
    db.commit()
    assert _per_day(db, "returned") == {3: 1}
    db.execute(update(ReportStayDays).where(ReportStayDays.stay_id == 10**6).values(days=4.0))
    db.commit()
    assert _per_day(db, "returned") == {4: 1}
    db.execute(update(ReportStayDays).where(ReportStayDays.stay_id == 10**6).values(district_code="173"))
    db.commit()
    assert _per_district(db, "returned") == {"173": 1}
    db.execute(delete(ReportStayDays).where(ReportStayDays.stay_id == 10**6))
    db.commit()
    assert _per_day(db, "returned") == {}


def test_check_cube_reports_a_drifted_bucket(app: Any, sample: Any, db: Any) -> None:
    db.execute(update(ReportStayBucket).where(ReportStayBucket.stay_state == "district_review",
                                              ReportStayBucket.bucket == 6).values(n=2))
    db.commit()
    key = ("district_review", 6, "19", "171", "05785", "implementing", "machinery", "local", 2019)
    assert [(d.key, d.expected, d.found) for d in cube.bucket_differences(db)] == [(key, 1, 2)]
    db.rollback()  # end the read: SQLite's transactions take the write lock (BEGIN IMMEDIATE)
    result = app.test_cli_runner().invoke(args=["reports", "check-cube"])
    assert result.exit_code == 1, result.exception
    assert result.output == f"stay bucket {key}: expected 1, found 2\n"


def _stays(db: Any, days: dict[str, list[tuple[float, str]]]) -> None:
    """report_stay_days rows (stage -> (days, district)) of one evaluated 2019 machinery proposal."""
    ids = iter(range(10**6, 10**7))
    for stage, values in days.items():
        db.add_all(ReportStayDays(stay_id=next(ids), proposal_id=1, stay_state=stage, entered_at=_at("2019-01-01"),
                                  days=value, province_code="19", district_code=district, commune_code="",
                                  state="evaluated", category="machinery", fund="local", year=2019)
                   for value, district in values)
    db.commit()


def test_the_median_reads_the_middle_day_exactly(app: Any, db: Any) -> None:
    _stays(db, {
        # odd: the middle row (1.5) is inside day 1, read from its start
        "draft": [(0.25, "171"), (1.5, "171"), (1.25, "171"), (1.75, "171"), (3.5, "171")],
        # even, the two middle rows on different days: 2.5 + 0.5 * (4.5 - 2.5)
        "district_review": [(2.0, "171"), (7.75, "171"), (4.5, "171"), (2.5, "171")],
        # even, both middle rows (5.5, 5.75) in day 5, read from its end
        "shortlisted": [(5.0, "171"), (5.25, "171"), (5.5, "171"), (5.75, "171"), (5.875, "171"), (6.5, "171")],
        # the ends of the middle day round alike (7.0): the median (7.02) does too
        "implemented": [(7.03, "171"), (7.01, "171"), (7.02, "171")],
        # another district's stays count for the province only
        "funded": [(1.0, "171"), (9.0, "173"), (11.0, "173")],
    })
    assert cube.median_durations(db, CENTRE, queries.Filters()) == {
        "draft": (1.5, 5), "district_review": (3.5, 4), "shortlisted": (5.6, 6), "implemented": (7.0, 3),
        "funded": (9.0, 3)}
    assert cube.median_durations(db, DISTRICT_171, queries.Filters(category="machinery")) == {
        "draft": (1.5, 5), "district_review": (3.5, 4), "shortlisted": (5.6, 6), "implemented": (7.0, 3),
        "funded": (1.0, 1)}
    assert cube.median_durations(db, CENTRE, queries.Filters(year_from=2020)) == {}


def test_middle_reads_walk_at_most_half_a_day() -> None:
    """(day, offset, limit, descending) for the rows (n-1)//2 and n//2 of the stays counted per day."""
    assert cube._middle_reads([(0, 2), (3, 1), (5, 3)]) == [(3, 0, 1, False), (5, 0, 1, False)]
    assert cube._middle_reads([(1, 10)]) == [(1, 4, 2, False)]
    assert cube._middle_reads([(0, 1), (1, 10)]) == [(1, 4, 1, False)]
    assert cube._middle_reads([(1, 3), (2, 1)]) == [(1, 0, 2, True)]
    assert cube._middle_reads([(0, 1), (1, 9), (2, 4)]) == [(1, 2, 2, True)]


def test_downgrade_drops_the_counts_and_upgrade_rebuilds_them(app: Any, sample: Any, db: Any) -> None:
    url = app.extensions["db_engine"].url.render_as_string(hide_password=False)
    db.close()
    forced = alembic_config(url)
    forced.cmd_opts = argparse.Namespace(x=["force=1"])  # the table holds (derived) rows
    command.downgrade(forced, "0019_repin")
    assert "report_stay_bucket" not in inspect(app.extensions["db_engine"]).get_table_names()
    p2 = sample.proposals[1]
    audit.append(db, subject_type="proposal", subject_id=str(p2.id), action="to_implemented", outcome="applied",
                 from_state="implementing", to_state="implemented", workflow="khuyen-cong-local",
                 workflow_version=1, occurred_at=_at("2019-09-10"))  # no trigger left behind to fail
    db.commit()
    db.close()
    command.upgrade(alembic_config(url), "head")  # the backfill counts the stays as they are now
    assert _per_day(db, "implementing") == {184: 1, 143: 1, 79: 1, 212: 1}
    assert cube.bucket_differences(db) == []
