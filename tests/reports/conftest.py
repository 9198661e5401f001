"""A small, hand-checked data set for the reports: eight proposals in Đại Từ (171) and Phú Bình (173), three
budget envelopes, fundings, advances and a dated audit trail for each proposal.

The rows are written directly (a read-only area needs facts, not the write path); every expected figure in
the tests is worked out by hand from the table below, never computed by the code under test.

| P | district/commune | category      | year | state                | requested | counterpart | envelope: approved, advances, settled total, refund |
| 1 | 171/05761        | machinery     | 2019 | evaluated            | 200M      | 300M        | A: 180M, 100M+50M, 170M, 0   |
| 2 | 171/05785        | machinery     | 2019 | implementing         | 150M      | 200M        | A: 150M, 60M                 |
| 3 | 173/05908        | training      | 2020 | settled              | 100M      | 50M         | B: 90M, 90M, 80M, 10M        |
| 4 | 173/05908        | machinery     | 2020 | terminated           | 120M      | 100M        | B: 120M, 30M                 |
| 5 | 171/05761        | demonstration | 2020 | provincial_appraisal | 80M       | 40M         |                              |
| 6 | 171/05761        | machinery     | 2026 | local_review (v2)    | 50M       | 50M         |                              |
| 7 | 173/05908        | machinery     | 2026 | local_review (v2)    | 50M       | 50M         |                              |
| 8 | 171/05785        | craft_village | 2018 | rejected             | 60M       | 20M         |                              |
Envelopes: A 2019 500M, B 2020 400M, C 2026 300M (unused).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import PROVINCE, _make_app

from app.models import Organisation, Proposal
from app.models.stages import Advance, BudgetEnvelope, Funding
from workflow import audit
from workflow.registry import default_registry

M = 1_000_000
ON = dt.date(2026, 12, 1)  # the reports' "today"
FUND = "Kinh phí khuyến công địa phương"

# (district, commune, category, year, state, requested, counterpart, trail of (state, local date))
ROWS: list[tuple[str, str, str, int, str, int, int, list[tuple[str, str]]]] = [
    ("171", "05761", "machinery", 2019, "evaluated", 200, 300, [
        ("draft", "2019-01-01"), ("district_review", "2019-01-09"), ("provincial_appraisal", "2019-01-19"),
        ("shortlisted", "2019-02-08"), ("funded", "2019-02-18"), ("implementing", "2019-03-01"),
        ("implemented", "2019-09-01"), ("settled", "2019-10-01"), ("evaluated", "2019-12-01")]),
    ("171", "05785", "machinery", 2019, "implementing", 150, 200, [
        ("draft", "2019-01-01"), ("district_review", "2019-01-05"), ("provincial_appraisal", "2019-01-11"),
        ("shortlisted", "2019-01-21"), ("funded", "2019-01-31"), ("implementing", "2019-02-10")]),
    ("173", "05908", "training", 2020, "settled", 100, 50, [
        ("draft", "2020-01-01"), ("district_review", "2020-01-07"), ("provincial_appraisal", "2020-01-21"),
        ("shortlisted", "2020-02-20"), ("funded", "2020-03-01"), ("implementing", "2020-03-11"),
        ("implemented", "2020-08-01"), ("settled", "2020-09-01")]),
    ("173", "05908", "machinery", 2020, "terminated", 120, 100, [
        ("draft", "2020-01-01"), ("district_review", "2020-01-03"), ("provincial_appraisal", "2020-01-13"),
        ("shortlisted", "2020-01-23"), ("funded", "2020-02-02"), ("implementing", "2020-02-12"),
        ("terminated", "2020-05-01")]),
    ("171", "05761", "demonstration", 2020, "provincial_appraisal", 80, 40, [
        ("draft", "2020-01-01"), ("district_review", "2020-01-11"), ("provincial_appraisal", "2020-01-21")]),
    ("171", "05761", "machinery", 2026, "local_review", 50, 50, [
        ("draft", "2026-11-01"), ("local_review", "2026-11-28")]),
    ("173", "05908", "machinery", 2026, "local_review", 50, 50, [
        ("draft", "2026-10-01"), ("local_review", "2026-10-15")]),
    ("171", "05785", "craft_village", 2018, "rejected", 60, 20, [
        ("draft", "2018-01-01"), ("district_review", "2018-01-05"), ("rejected", "2018-01-15")]),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """Every reports test runs on SQLite and on PostgreSQL (the SQL differs: medians, day arithmetic)."""
    application = _make_app(request.getfixturevalue(f"{request.param}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


def _at(day: str) -> dt.datetime:
    """09:00 in Hà Nội (UTC+7, no daylight saving) on that day, in UTC."""
    return dt.datetime.fromisoformat(day).replace(hour=2, tzinfo=dt.UTC)


@pytest.fixture
def sample(db: Any) -> SimpleNamespace:
    return load_sample(db)


def load_sample(db: Any) -> SimpleNamespace:
    """Write the sample in ``db`` and commit (also used by the browser test)."""
    registry = default_registry()
    org = Organisation(name="Hợp tác xã thử nghiệm báo cáo", kind="cooperative", tax_code="4600099999",
                       commune_code="05761")
    db.add(org)
    db.flush()
    envelopes = [BudgetEnvelope(province_code=PROVINCE, fund=FUND, year=y, amount=a * M, committed=0)
                 for y, a in ((2019, 500), (2020, 400), (2026, 300))]
    db.add_all(envelopes)
    db.flush()
    proposals = []
    for n, (district, commune, category, year, state, requested, counterpart, trail) in enumerate(ROWS, 1):
        compiled = registry.get("khuyen-cong-local", 2 if year >= 2025 else 1)
        p = Proposal(code=f"KC-{year}-{n:04d}", title=f"Đề án mẫu {n}", organisation_id=org.id,
                     commune_code=commune, district_code=district, province_code=PROVINCE, category=category,
                     sector="agro_processing", year=year, total_cost=(requested + counterpart) * M,
                     requested_support=requested * M, counterpart_funds=counterpart * M,
                     wf_workflow=compiled.workflow, wf_workflow_version=compiled.version,
                     wf_sha256=compiled.sha256, wf_state=state, wf_version=len(trail), wf_fired_by={},
                     wf_entered_at=_at(trail[-1][1]))
        db.add(p)
        db.flush()
        previous = None
        for to_state, day in trail:
            audit.append(db, subject_type="proposal", subject_id=str(p.id), action="create" if previous is None
                         else f"to_{to_state}", outcome="created" if previous is None else "applied",
                         from_state=previous, to_state=to_state, workflow=compiled.workflow,
                         workflow_version=compiled.version, occurred_at=_at(day))
            previous = to_state
        proposals.append(p)
    a, b, _ = envelopes
    money = {1: (a, 180, [100, 50], 170, 0), 2: (a, 150, [60], None, None),
             3: (b, 90, [90], 80, 10), 4: (b, 120, [30], None, None)}
    for n, (envelope, approved, advances, settled, refund) in money.items():
        p = proposals[n - 1]
        db.add(Funding(proposal_id=p.id, envelope_id=envelope.id, approved_amount=approved * M,
                       decision_number=f"QĐ {n}/QĐ-SCT", decision_date=dt.date(p.year, 2, 1),
                       disbursed_total=None if settled is None else settled * M,
                       refund_amount=None if refund is None else refund * M))
        db.add_all(Advance(proposal_id=p.id, amount=x * M, paid_on=dt.date(p.year, 6, 1)) for x in advances)
    db.commit()
    return SimpleNamespace(proposals=proposals, envelopes=envelopes)
