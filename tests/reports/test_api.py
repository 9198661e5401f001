"""The reports API: same aggregates as the dashboard, scoped, documented; bad parameters are 422s."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PROVINCE

M = 1_000_000  # the sample's amounts are in millions of VND (see conftest)


@pytest.fixture
def bearer(app: Any, db: Any, make_user: Any) -> Any:
    from app.api.tokens import issue_token

    def make(username: str, role: str, unit: str = PROVINCE) -> dict[str, str]:
        user = make_user(username, role, unit)
        token = issue_token(db, user, "reports test")
        db.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


def test_dashboard_json_matches_the_hand_checked_figures(client: Any, sample: Any, bearer: Any) -> None:
    headers = bearer("ttkc_api", "centre_officer")
    body = client.get("/api/v1/reports/dashboard", headers=headers).get_json()
    assert body["totals"] == {"count": 8, "requested": 810 * M, "approved": 540 * M, "counterpart": 810 * M}
    assert {c["key"]: c["count"] for c in body["counts"]["district"]} == {"171": 5, "173": 3}
    assert body["carried_out"] == {"projects": 3, "units": 2, "machinery": 2, "approved": 420 * M}
    overdue = body["overdue"]  # against the real date: P5 (2020) is late whenever the test runs
    assert overdue["by_state"]["provincial_appraisal"] == 1 and overdue["total"] == sum(overdue["by_state"].values())
    assert [s["proposals"] for s in body["funnel"]] == [8, 8, 5, 4, 4, 4, 2, 2, 1]
    scoped = client.get("/api/v1/reports/dashboard?year_from=2016&year_to=2020",
                        headers=bearer("pkt_api", "district_officer", "171")).get_json()
    assert scoped["totals"]["count"] == 4 and scoped["carried_out"]["projects"] == 2


def test_report_json_has_the_report_tables(client: Any, sample: Any, bearer: Any) -> None:
    body = client.get("/api/v1/reports/period?period=2016-2020", headers=bearer("ttkc_api", "centre_officer"),
                      ).get_json()
    tables = {t["key"]: t for t in body["tables"]}
    assert tables["category"]["total"] == ["Tổng cộng", 6, 710 * M, 540 * M]
    assert body["start"] == "2016-01-01" and body["end"] == "2020-12-31"


@pytest.mark.parametrize("url", ["/api/v1/reports/dashboard?year=1850", "/api/v1/reports/dashboard?colour=red",
                                 "/api/v1/reports/dashboard?category=x", "/api/v1/reports/annual?year=abc",
                                 "/api/v1/reports/quarterly?quarter=9", "/api/v1/reports/period?period=1990-1995",
                                 "/api/v1/reports/annual?colour=red"])
def test_bad_parameters_are_422_with_reasons(client: Any, sample: Any, bearer: Any, url: str) -> None:
    response = client.get(url, headers={**bearer("ttkc_api", "centre_officer"), "Accept-Language": "en"})
    assert response.status_code == 422
    assert response.get_json()["reasons"][0]["message"]


def test_applicants_are_refused_and_the_spec_documents_the_routes(client: Any, sample: Any, bearer: Any) -> None:
    assert client.get("/api/v1/reports/dashboard", headers=bearer("ung_vien_api", "applicant", "05761"),
                      ).status_code == 403
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/reports/dashboard" in spec["paths"] and "/reports/{kind}" in spec["paths"]
    names = {p["name"] for p in spec["paths"]["/reports/dashboard"]["get"]["parameters"]}
    assert {"year_from", "year_to", "unit", "category", "fund"} <= names
