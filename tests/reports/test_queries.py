"""Every aggregate of the reports on the hand-checked data set (see conftest), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import PROVINCE

from app.reports import queries
from app.reports.queries import Filters, parse_filters
from workflow.errors import InvalidInput

M = 1_000_000  # the sample's amounts are in millions of VND (see conftest)
ON = dt.date(2026, 12, 1)  # the reports' "today", as in conftest


def board(db: Any, user: Any, **filters: Any) -> queries.Dashboard:
    return queries.dashboard(db, user, Filters(**filters), on=ON)


def test_counts_by_every_key(db: Any, sample: Any, make_user: Any) -> None:
    centre = make_user("ttkc_bc", "centre_officer", PROVINCE)
    d = board(db, centre)
    as_dict = {key: {c.key: c.count for c in rows} for key, rows in d.counts.items()}
    assert as_dict["state"] == {"evaluated": 1, "implementing": 1, "settled": 1, "terminated": 1,
                                "provincial_appraisal": 1, "local_review": 2, "rejected": 1}
    assert as_dict["district"] == {"171": 5, "173": 3}
    assert as_dict["commune"] == {"05761": 3, "05785": 2, "05908": 3}
    assert as_dict["category"] == {"machinery": 5, "training": 1, "demonstration": 1, "craft_village": 1}
    assert as_dict["year"] == {2018: 1, 2019: 2, 2020: 3, 2026: 2}
    assert as_dict["fund"] == {"local": 8}
    machinery = next(c for c in d.counts["category"] if c.key == "machinery")
    assert (machinery.requested, machinery.approved) == (570 * M, 450 * M)
    assert (d.totals.count, d.totals.requested, d.totals.approved, d.totals.counterpart) == (
        8, 810 * M, 540 * M, 810 * M)


def test_budget_per_envelope(db: Any, sample: Any, make_user: Any) -> None:
    centre = make_user("ttkc_bc", "centre_officer", PROVINCE)
    d = board(db, centre)
    rows = {r.year: r for r in d.budget}
    a, b, c = rows[2019], rows[2020], rows[2026]
    assert (a.projects, a.allocated, a.approved, a.advanced, a.disbursed, a.settled, a.refunded,
            a.counterpart) == (2, 500 * M, 330 * M, 210 * M, 230 * M, 170 * M, 0, 500 * M)
    assert (b.projects, b.allocated, b.approved, b.advanced, b.disbursed, b.settled, b.refunded,
            b.counterpart) == (2, 400 * M, 210 * M, 120 * M, 110 * M, 80 * M, 10 * M, 150 * M)
    assert (c.projects, c.allocated, c.approved, c.disbursed) == (0, 300 * M, 0, 0)
    assert d.budget_total["allocated"] == 1200 * M and d.budget_total["approved"] == 540 * M
    # a year filter keeps only that year's envelope
    assert [r.year for r in board(db, centre, year_from=2020, year_to=2020).budget] == [2020]


def test_carried_out_funnel_and_durations(db: Any, sample: Any, make_user: Any) -> None:
    centre = make_user("ttkc_bc", "centre_officer", PROVINCE)
    d = board(db, centre)
    assert (d.carried_out.projects, d.carried_out.units, d.carried_out.machinery) == (3, 2, 2)
    assert d.carried_out.approved == 420 * M
    assert [(key, n) for key, _, n in d.funnel] == [
        ("created", 8), ("submitted", 8), ("appraisal", 5), ("shortlisted", 4), ("funded", 4),
        ("implementing", 4), ("implemented", 2), ("settled", 2), ("evaluated", 1)]
    assert d.durations == {"draft": (7.0, 8), "district_review": (10.0, 6), "provincial_appraisal": (15.0, 4),
                           "shortlisted": (10.0, 4), "funded": (10.0, 4), "implementing": (143.0, 3),
                           "implemented": (30.5, 2), "settled": (61.0, 1)}


def test_overdue_with_working_day_ages(db: Any, sample: Any, make_user: Any) -> None:
    centre = make_user("ttkc_bc", "centre_officer", PROVINCE)
    d = board(db, centre)
    assert d.overdue.by_state == {"provincial_appraisal": 1, "local_review": 1}
    late = {item.code: item for item in d.overdue.oldest}
    assert list(late) == ["KC-2020-0005", "KC-2026-0007"]  # oldest first
    p7 = late["KC-2026-0007"]
    # entered Thu 15/10/2026; 10 working days -> due Thu 29/10; on Tue 1/12: 33 weekdays in the state, less
    # Tue 24/11 (Vietnam Cultural Day, a holiday in the holidays package) = 32; 23 - 1 = 22 past the due date
    assert (str(p7.entered), str(p7.due), p7.age_working_days, p7.late_working_days) == (
        "2026-10-15", "2026-10-29", 32, 22)


def test_district_and_commune_officers_see_only_their_units(db: Any, sample: Any, make_user: Any) -> None:
    district = make_user("pkt_daitu_bc", "district_officer", "171")
    d = board(db, district)
    assert d.totals.count == 5 and {c.key for c in d.counts["district"]} == {"171"}
    assert {r.year: r.projects for r in d.budget if r.projects} == {2019: 2}
    assert [(k, n) for k, _, n in d.funnel][:3] == [("created", 5), ("submitted", 5), ("appraisal", 3)]
    assert d.overdue.by_state == {"provincial_appraisal": 1}
    commune = make_user("xa_huongson_bc", "commune_officer", "05908")
    c = board(db, commune)
    assert c.totals.count == 3 and c.carried_out.projects == 1
    assert {r.year: r.approved for r in c.budget if r.projects} == {2020: 210 * M}
    nobody = make_user("khong_vai_tro", None)
    assert board(db, nobody).totals.count == 0


def test_filters_narrow_every_figure(db: Any, sample: Any, make_user: Any) -> None:
    centre = make_user("ttkc_bc", "centre_officer", PROVINCE)
    d = board(db, centre, year_from=2016, year_to=2020, category="machinery")
    assert d.totals.count == 3 and d.carried_out.projects == 2
    assert board(db, centre, unit="05908").totals.count == 3
    assert board(db, centre, fund="national").totals.count == 0


@pytest.mark.parametrize(("args", "field"), [
    ({"colour": "red"}, "colour"), ({"year": "1999"}, "year"), ({"year_from": "20x0"}, "year_from"),
    ({"year_from": "2021", "year_to": "2020"}, "year_to"), ({"category": "spaceships"}, "category"),
    ({"state": "flying"}, "state"), ({"unit": "17'1"}, "unit"), ({"fund": "private"}, "fund"),
])
def test_bad_filters_are_refused_with_a_message(args: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filters(args)
    assert field in caught.value.errors and caught.value.errors[field]["vi"]


def test_year_sets_both_bounds() -> None:
    assert parse_filters({"year": "2019", "unit": "171"}) == Filters(year_from=2019, year_to=2019, unit="171")


def test_working_days_between_inverts_add_working_days() -> None:
    import random

    from app.deadlines import add_working_days, working_days_between

    rng = random.Random(45)
    for _ in range(300):
        start = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 8000))
        days = rng.randint(0, 400)
        assert working_days_between(start, add_working_days(start, days)) == days
    assert working_days_between(dt.date(2026, 12, 1), dt.date(2026, 11, 1)) == 0


def test_last_start_overdue_is_the_last_entry_whose_due_date_has_passed() -> None:
    """Its definition, checked by walking due dates: entered on it, due before ``on``; a day later, not."""
    import random

    from app.deadlines import add_working_days, last_start_overdue

    rng = random.Random(46)
    for _ in range(300):
        on = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 8000))
        deadline = SimpleNamespace(working_days=rng.randint(1, 60), days=None)
        last = last_start_overdue(deadline, on)
        assert last is not None
        assert add_working_days(last, deadline.working_days) < on <= add_working_days(
            last + dt.timedelta(days=1), deadline.working_days)
    # National Day 2026: Aug 31 - Sep 2 off; entered Aug 28 (Fri) it is due Sep 3 (Thu), entered Aug 27 due Aug 28
    assert last_start_overdue(SimpleNamespace(working_days=1, days=None), dt.date(2026, 9, 3)) == dt.date(2026, 8, 27)
