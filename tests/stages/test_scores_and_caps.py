"""Score arithmetic on generated sheets, and the support caps per category."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.stages import caps
from app.stages.council import average_score, bonus_points, sheet_score
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
        exact = Fraction(sum(sum(s.values()) for s in sheets) * 100, top * len(sheets)) + bonus
        expected = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert average_score(council, sheets, bonus) == expected
        for s in sheets:  # each sheet is within 0..100 once scaled
            assert 0 <= sheet_score(council, s) <= 100


def test_shipped_weights_sum_to_100_so_points_are_the_score():
    assert sheet_score(SHIPPED, {"fit_priority": 20, "necessity_effect": 25, "cost_counterpart": 20,
                                 "capacity": 20, "links": 5, "dossier": 10}) == 100
    assert average_score(SHIPPED, [{"fit_priority": 14}, {"fit_priority": 15}], 0) == Decimal("14.50")
    assert average_score(SHIPPED, [], 8) is None


ON = dt.date(2026, 1, 1)


@pytest.mark.parametrize(("category", "cost", "priority", "cap"), [
    ("machinery", 400_000_000, False, 200_000_000),      # 50 % = 200 m, at the VND maximum
    ("machinery", 300_000_000, False, 150_000_000),      # 50 % of the cost
    ("machinery", 1_000_000_000, True, 300_000_000),     # priority: 1.5 x 200 m
    ("machinery", 300_000_000, True, 225_000_000),       # priority: 75 % of the cost
    ("demonstration", 2_000_000_000, False, 500_000_000),
    ("demonstration", 1_000_000_000, False, 300_000_000),
    ("typical_product", 100_000_000, False, 35_000_000),
    ("cluster_planning", 800_000_000, False, 400_000_000),
    ("cleaner_production", 2_000_000_000, False, 300_000_000),
    ("cleaner_production", 500_000_000, True, 225_000_000),
    ("training", 500_000_000, False, None),              # no cap configured
])
def test_caps_per_category(category, cost, priority, cap):
    assert caps.cap_amount(province="19", category=category, total_cost=cost, priority=priority, on=ON) == cap


def test_share_never_exceeds_the_whole_cost(tmp_path, monkeypatch):
    (tmp_path / "default.yaml").write_text(
        "province: default\nversions:\n  - {version: 1, effective_from: 2020-01-01, priority_percent: 300,\n"
        "     categories: {machinery: {share_percent: 50, max_vnd: 900000000}}}\n")
    monkeypatch.setenv("GRANTFLOW_CAPS_DIR", str(tmp_path))
    caps.caps_for_province.cache_clear()
    try:
        assert caps.cap_amount(province="01", category="machinery", total_cost=100_000_000, priority=True,
                               on=ON) == 100_000_000
        assert caps.cap_amount(province="01", category="machinery", total_cost=100, priority=False,
                               on=dt.date(2019, 1, 1)) is None  # no version in force yet
    finally:
        caps.caps_for_province.cache_clear()


def test_versions_apply_from_their_effective_date(tmp_path, monkeypatch):
    (tmp_path / "19.yaml").write_text(
        "province: '19'\nversions:\n"
        "  - {version: 1, effective_from: 2014-03-01, categories: {machinery: {share_percent: 50, max_vnd: 200000000}}}\n"
        "  - {version: 2, effective_from: 2025-01-01, categories: {machinery: {share_percent: 50, max_vnd: 300000000}}}\n")
    monkeypatch.setenv("GRANTFLOW_CAPS_DIR", str(tmp_path))
    caps.caps_for_province.cache_clear()
    try:
        args = {"province": "19", "category": "machinery", "total_cost": 1_000_000_000, "priority": False}
        assert caps.cap_amount(**args, on=dt.date(2024, 12, 31)) == 200_000_000
        assert caps.cap_amount(**args, on=dt.date(2025, 1, 1)) == 300_000_000
    finally:
        caps.caps_for_province.cache_clear()


@pytest.mark.parametrize(("text", "needle"), [
    ("province: x\nversions: []\n", "versions"),
    ("province: x\nversions:\n  - {version: 1, effective_from: 2014-01-01, categories: {robots: "
     "{share_percent: 50, max_vnd: 1}}}\n", "unknown categories ['robots']"),
    ("province: x\nversions:\n  - {version: 1, effective_from: 2014-01-01, categories: {machinery: "
     "{share_percent: 150, max_vnd: 1}}}\n", "share_percent"),
    ("province: x\nversions:\n  - {version: 1, effective_from: 2014-01-01, categories: {machinery: "
     "{share_percent: 50, max_vnd: 1.5}}}\n", "max_vnd"),
    ("province: x\nversions:\n  - {version: 2, effective_from: 2014-01-01, categories: {}}\n"
     "  - {version: 1, effective_from: 2015-01-01, categories: {}}\n", "increasing"),
    ("province: [x\n", "cannot read caps"),
])
def test_bad_caps_files_say_what_is_wrong(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(caps.CapsError) as error:
        caps.load_caps(path)
    assert str(path) in str(error.value) and needle in str(error.value)


def test_the_shipped_caps_files_load():
    for path in caps.CAPS_DIR.glob("*.yaml"):
        assert caps.load_caps(path).versions
