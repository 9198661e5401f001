"""Score arithmetic on generated sheets, and the support caps per category."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.common import caps
from app.council.services import average_score, bonus_points, sheet_score
from workflow.definitions import Bonus, Council, Criterion, Text
from workflow.registry import default_registry

SHIPPED = default_registry().get("khuyen-cong-local", 2).states["provincial_appraisal"].council
ODD = Council(criteria=[Criterion(key="a", title=Text(vi="A"), max_points=7),
                        Criterion(key="b", title=Text(vi="B"), max_points=13)],
              bonuses=[Bonus(flag="priority_region", points=5), Bonus(flag="priority_sector", points=3)])


def sheets_for(council: Council) -> st.SearchStrategy[list[dict[str, int]]]:
    one = st.fixed_dictionaries({c.key: st.integers(0, c.max_points) for c in council.criteria})
    return st.lists(one, min_size=1, max_size=9)


@given(data=st.data(), region=st.booleans(), sector=st.booleans())
def test_average_is_the_mean_of_scaled_sheets_plus_bonuses(data, region, sector):
    for council in (SHIPPED, ODD):
        sheets = data.draw(sheets_for(council))
        proposal = SimpleNamespace(priority_region=region, priority_sector=sector)
        bonus = bonus_points(council, proposal)
        assert bonus == 5 * region + 3 * sector
        top = sum(c.max_points for c in council.criteria)
        exact = min(Fraction(sum(sum(s.values()) for s in sheets) * 100, top * len(sheets)) + bonus, 100)
        expected = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert average_score(council, sheets, bonus) == expected
        for s in sheets:  # each sheet is within 0..100 once scaled
            assert 0 <= sheet_score(council, s) <= 100


SHIPPED_COUNCILS = [s.council for c in default_registry() for s in c.states.values() if s.council is not None]


@given(data=st.data(), region=st.booleans(), sector=st.booleans())
def test_council_averages_stay_within_0_and_100(data, region, sector):
    for council in (*SHIPPED_COUNCILS, ODD):
        sheets = data.draw(sheets_for(council))
        bonus = bonus_points(council, SimpleNamespace(priority_region=region, priority_sector=sector))
        assert 0 <= average_score(council, sheets, bonus) <= 100


def test_priority_is_no_longer_score_points():
    for key in (("khuyen-cong-local", 3), ("khuyen-cong-national", 1)):
        assert default_registry().get(*key).states["provincial_appraisal"].council.bonuses == []


def test_shipped_weights_sum_to_100_so_points_are_the_score():
    assert sheet_score(SHIPPED, {"fit_priority": 20, "necessity_effect": 25, "cost_counterpart": 20,
                                 "capacity": 20, "links": 5, "dossier": 10}) == 100
    assert average_score(SHIPPED, [{"fit_priority": 14}, {"fit_priority": 15}], 0) == Decimal("14.50")
    assert average_score(SHIPPED, [], 8) is None


ON = dt.date(2026, 1, 1)
OLD = dt.date(2015, 6, 1)  # filed under Joint Circular 26/2014


@pytest.mark.parametrize(("category", "cost", "priority", "on", "cap"), [
    ("machinery", 1_000_000_000, False, ON, 300_000_000),   # Circular 28/2018 art. 8 cl. 4: 300 m per facility
    ("machinery", 1_000_000_000, False, OLD, 200_000_000),  # the 2015 case keeps the 2014 level
    ("machinery", 300_000_000, False, ON, 150_000_000),     # 50 % of the cost
    ("machinery", 1_000_000_000, True, OLD, 300_000_000),   # priority: 1.5 x 200 m
    ("machinery", 300_000_000, True, ON, 225_000_000),      # priority: 75 % of the cost
    ("demonstration", 2_000_000_000, False, ON, 500_000_000),
    ("brand_registration", 100_000_000, False, ON, 35_000_000),
    ("consulting", 50_000_000, False, ON, 25_000_000),
    ("pollution_treatment", 2_000_000_000, False, ON, 300_000_000),
    ("startup_support", 80_000_000, False, ON, 10_000_000),  # a VND maximum alone
    ("trade_fair", 40_000_000, False, ON, 40_000_000),       # a share alone
    ("cluster_planning", 800_000_000, False, ON, 400_000_000),
    ("typical_product", 100_000_000, False, ON, None),      # a contest: the 35 m level is brand/consulting
    ("cleaner_production", 2_000_000_000, False, ON, None),  # the 30 %/300 m level is pollution treatment
    ("training", 500_000_000, False, ON, None),
])
def test_caps_per_category(category, cost, priority, on, cap):
    assert caps.cap_amount(province="19", category=category, total_cost=cost, priority=priority, on=on) == cap


def test_a_cap_refusal_names_the_rule_and_its_source():
    proposal = SimpleNamespace(province_code="19", category="machinery", total_cost=1_000_000_000,
                               priority_region=False, priority_sector=False,
                               created_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    assert caps.cap_problem(proposal, 300_000_000) is None  # 30 % of the cost, at the 2018 maximum
    problem = caps.cap_problem(proposal, 300_000_001)
    assert problem is not None and "Thông tư 28/2018/TT-BTC, Điều 8 khoản 4" in problem["vi"]
    old = SimpleNamespace(**{**vars(proposal), "created_at": dt.datetime(2015, 6, 1, tzinfo=dt.UTC)})
    problem = caps.cap_problem(old, 300_000_000)
    assert problem is not None and "200.000.000" in problem["vi"] and "26/2014/TTLT-BTC-BCT" in problem["vi"]


def test_unconfirmed_figures_are_marked():
    shipped = caps.load_caps(caps.CAPS_DIR / "default.yaml")
    v2018 = shipped.in_force(ON)
    assert v2018 is not None and v2018.source == "Thông tư 28/2018/TT-BTC" and not v2018.verified
    assert v2018.is_verified("machinery") and not v2018.is_verified("demonstration")
    assert shipped.in_force(OLD).is_verified("demonstration")


def test_share_never_exceeds_the_whole_cost(tmp_path, monkeypatch):
    (tmp_path / "default.yaml").write_text(
        "province: default\nversions:\n  - {version: 1, effective_from: 2020-01-01, priority_percent: 300,\n"
        "     source: x, verified: true,\n"
        "     categories: {machinery: {share_percent: 50, max_vnd: 900000000, rule: r}}}\n")
    monkeypatch.setenv("GRANTFLOW_CAPS_DIR", str(tmp_path))
    caps.caps_for_province.cache_clear()
    try:
        assert caps.cap_amount(province="01", category="machinery", total_cost=100_000_000, priority=True,
                               on=ON) == 100_000_000
        assert caps.cap_amount(province="01", category="machinery", total_cost=100, priority=False,
                               on=dt.date(2019, 1, 1)) is None  # no version in force yet
    finally:
        caps.caps_for_province.cache_clear()


def test_a_province_resolution_is_a_later_version(tmp_path, monkeypatch):
    (tmp_path / "19.yaml").write_text(
        "province: '19'\nversions:\n"
        "  - {version: 1, effective_from: 2014-04-08, effective_until: 2025-12-31, source: a, verified: true,\n"
        "     categories: {machinery: {share_percent: 50, max_vnd: 200000000, rule: r}}}\n"
        "  - {version: 2, effective_from: 2026-01-01, source: 'Nghị quyết HĐND tỉnh', verified: false,\n"
        "     categories: {machinery: {share_percent: 50, max_vnd: 400000000, rule: r}}}\n")
    monkeypatch.setenv("GRANTFLOW_CAPS_DIR", str(tmp_path))
    caps.caps_for_province.cache_clear()
    try:
        args = {"province": "19", "category": "machinery", "total_cost": 1_000_000_000, "priority": False}
        assert caps.cap_amount(**args, on=dt.date(2025, 12, 31)) == 200_000_000
        assert caps.cap_amount(**args, on=dt.date(2026, 1, 1)) == 400_000_000
    finally:
        caps.caps_for_province.cache_clear()


V1 = "  - {version: 1, effective_from: 2014-01-01, source: s, verified: true, categories: {}}\n"


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("province: x\nversions: []\n", 2, "versions"),
    ("province: x\nversions:\n  - version: 1\n    effective_from: 2014-01-01\n    source: s\n"
     "    verified: true\n    categories:\n      machinery: {share_percent: 50, rule: r}\n"
     "      robots: {share_percent: 50, max_vnd: 1, rule: r}\n", 9, "unknown category 'robots'"),
    ("province: x\nversions:\n  - {version: 1, effective_from: 2014-01-01, source: s, verified: true,\n"
     "     categories: {machinery: {share_percent: 150, max_vnd: 1, rule: r}}}\n", 4, "share_percent"),
    ("province: x\nversions:\n  - {version: 1, effective_from: 2014-01-01, source: s, verified: true,\n"
     "     categories: {machinery: {share_percent: 50, max_vnd: 1.5, rule: r}}}\n", 4, "max_vnd"),
    ("province: x\nversions:\n" + V1 + "  - {version: 2, effective_from: 2014-01-01, source: s, verified: true,"
     " categories: {}}\n", 4, "overlaps version 1"),
    ("province: x\nversions:\n  - {version: 1, effective_from: 2014-01-01, effective_until: 2016-01-01,"
     " source: s, verified: true, categories: {}}\n"
     "  - {version: 2, effective_from: 2015-06-01, source: s, verified: true, categories: {}}\n",
     4, "overlaps version 1"),
    ("province: x\nversions:\n" + V1 + "  - {version: 1, effective_from: 2015-01-01, source: s, verified: true,"
     " categories: {}}\n", 4, "must be above"),
    ("province: x\nversions:\n" + V1.replace("source: s, ", ""), 3, "source"),
    ("province: [x\n", 2, "cannot read caps"),
])
def test_bad_caps_files_say_file_line_and_what(tmp_path, text, line, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(caps.CapsError) as error:
        caps.load_caps(path)
    assert str(error.value).startswith(f"{path}:{line}: ") and needle in str(error.value)


def test_the_shipped_caps_files_load():
    for path in caps.CAPS_DIR.glob("*.yaml"):
        assert caps.load_caps(path).versions
