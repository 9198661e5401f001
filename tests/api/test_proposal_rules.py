"""One validation per thing: the same proposal payloads through the web form and the API get the same verdict
(created, or 422 naming the same fields), because both hand them to create_proposal, which checks them
(app.proposals.fields)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import login, token

GOOD = {"title": "Lò sấy chè", "category": "machinery", "sector": "agro_processing", "year": 2026,
        "total_cost": 400_000_000, "requested_support": 190_000_000, "counterpart_funds": 210_000_000,
        "duration_months": 12, "expected_jobs": 5}

# (case, changes to GOOD, the fields a refusal names; empty = created)
TABLE: list[tuple[str, dict[str, Any], set[str]]] = [
    ("good", {}, set()),
    ("good at the limits", {"year": 2100, "duration_months": 60, "expected_jobs": 100_000,
                            "total_cost": 10**13, "requested_support": 10**13, "counterpart_funds": 0}, set()),
    ("support above the total", {"total_cost": 100_000_000, "requested_support": 190_000_000,
                                 "counterpart_funds": 0}, {"requested_support"}),
    ("support + counterpart != total", {"counterpart_funds": 100_000_000}, {"counterpart_funds"}),
    ("year 2005", {"year": 2005}, {"year"}),
    ("duration 100 months", {"duration_months": 100}, {"duration_months"}),
    ("5·10¹⁴ VND", {"total_cost": 5 * 10**14, "requested_support": 190_000_000,
                    "counterpart_funds": 5 * 10**14 - 190_000_000}, {"total_cost", "counterpart_funds"}),
    ("200 000 jobs", {"expected_jobs": 200_000}, {"expected_jobs"}),
    ("blank title", {"title": "   "}, {"title"}),
]
FIELD_ERROR = re.compile(r'<p class="field-error" id="([a-z_]+)-error"')  # the message beside a field (_forms.html)


def _form(values: dict[str, Any], commune: str, csrf: str) -> dict[str, str]:
    return {**{k: str(v) for k, v in values.items()}, "commune_code": commune, "csrf_token": csrf}


@pytest.mark.parametrize(("case", "changes", "fields"), TABLE, ids=[row[0] for row in TABLE])
def test_web_and_api_give_the_same_verdict(app, world, case, changes, fields):
    payload = {**GOOD, **changes}
    user = world.users["applicant_a"]

    api = app.test_client().post("/api/v1/proposals", json=payload, headers=world.headers("applicant_a", "en"))
    api_fields = {r["subject"] for r in api.get_json()["reasons"]} if api.status_code == 422 else set()

    web = app.test_client()
    assert login(web, user.username).status_code == 302
    page = web.post("/proposals/new", data=_form(payload, user.organisation.commune_code, token(web)))
    web_fields = set(FIELD_ERROR.findall(page.get_data(as_text=True))) if page.status_code == 422 else set()

    expected = (422, 422) if fields else (201, 303)
    assert (api.status_code, page.status_code) == expected, (api.get_json(), web_fields)
    assert api_fields == web_fields == fields


def test_an_edit_is_held_to_the_same_rules(app, world):
    """PATCH with a support above the stored total: refused by the service, naming the field."""
    r = app.test_client().patch(f"/api/v1/proposals/{world.pa.id}", headers=world.headers("applicant_a", "en"),
                                json={"requested_support": world.pa.total_cost + 1})
    assert r.status_code == 422
    assert [(x["subject"], x["message"]) for x in r.get_json()["reasons"]] == [
        ("requested_support", "The requested support cannot exceed the total cost")]
