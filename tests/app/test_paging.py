"""Issue 15 (one of each): every list pages through app.paging. A page number past what the database takes (or
not a number at all) is clamped, never a 500."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import World

from app.api.tokens import issue_token
from app.paging import MAX_PAGE, page_number

HUGE = "99999999999999999999"


@pytest.mark.parametrize(("raw", "page"), [(None, 1), ("", 1), ("abc", 1), ("0", 1), ("-3", 1), ("7", 7),
                                           (" 2 ", 2), (HUGE, MAX_PAGE), ("9" * 5000, 1), ("1e3", 1)])
def test_page_number(raw, page):
    assert page_number(raw) == page


@pytest.mark.parametrize(("role", "url"), [("centre", "/notifications/"), ("admin", "/notifications/outbox"),
                                           ("centre", "/rounds/"), ("centre", "/proposals")])
def test_a_huge_page_is_clamped_on_every_web_list(world: World, role: str, url: str):
    client = world.client(role)
    assert client.get(f"{url}?page=1").status_code == 200
    for page in (HUGE, "-1", "x"):
        assert client.get(f"{url}?page={page}").status_code == 200, page


def test_a_huge_page_is_clamped_on_the_api(world: World, db):
    headers = {"Authorization": f"Bearer {issue_token(db, world.users['centre'], 'tests')}"}
    db.commit()
    client = world.app.test_client()
    for url in ("/api/v1/rounds", "/api/v1/proposals"):
        response = client.get(f"{url}?page={HUGE}", headers=headers)
        assert response.status_code in (200, 422), url  # the proposals list validates its query (422)
        assert response.is_json


APP = Path(__file__).resolve().parents[2] / "app"
KEYSET = {APP / "audit" / "log.py",  # the audit log pages by id cursor; an offset is only its fallback
          APP / "reports" / "queries.py",  # an offset to the middle row of an index (the median), not a page
          APP / "reports" / "cube.py"}  # an offset to the middle row(s) within one day of stays (the median)


def test_no_list_pages_by_hand():
    """One pagination helper: ``.offset(`` is written only in app/paging.py (and the audit log's fallback)."""
    found = []
    for path in APP.rglob("*.py"):
        if path.name == "paging.py" or path in KEYSET:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "offset":
                found.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert not found, found
