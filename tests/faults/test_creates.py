"""Parallel and repeated creates: codes from the year's counter, one draft per idempotency key."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.models import Proposal
from faults.conftest import ON_POSTGRES

pytestmark = pytest.mark.faults
NEW = {"title": "Máy sấy chè", "category": "machinery", "sector": "agro_processing", "year": 2027,
       "total_cost": 400_000_000, "requested_support": 190_000_000, "counterpart_funds": 210_000_000,
       "duration_months": 12}
PARALLEL = 30


def _parallel_posts(app, headers_of, count: int) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(count)
    results: list[tuple[int, dict]] = []
    guard = threading.Lock()

    def worker(i: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        r = client.post("/api/v1/proposals", headers=headers_of(i), json=NEW)
        with guard:
            results.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@ON_POSTGRES
def test_thirty_parallel_creates_get_thirty_consecutive_codes(app, world, db):
    results = _parallel_posts(app, lambda _i: world.headers("applicant_a"), PARALLEL)
    assert [status for status, _ in results] == [201] * PARALLEL, results
    numbers = sorted(int(body["code"].removeprefix("KC-2027-")) for _, body in results)
    assert numbers == list(range(1, PARALLEL + 1))


@ON_POSTGRES
def test_the_same_idempotency_key_sent_in_parallel_creates_one_draft(app, world, db):
    results = _parallel_posts(app, lambda _i: {**world.headers("applicant_a"), "Idempotency-Key": "twice-1"}, 5)
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert db.scalar(select(func.count()).select_from(Proposal).where(Proposal.year == 2027)) == 1


def test_a_repeated_api_post_is_answered_from_the_first(client, world, db):
    h = {**world.headers("applicant_a"), "Idempotency-Key": "retry-42"}
    pid = world.pa.id
    first = client.post("/api/v1/proposals", headers=h, json=NEW)
    again = client.post("/api/v1/proposals", headers=h, json=NEW)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.scalar(select(func.count()).select_from(Proposal).where(Proposal.year == 2027)) == 1
    db.rollback()  # SQLite: release the write lock before the next request
    other_route = client.post(f"/api/v1/proposals/{pid}/actions/submit", headers=h, json={})
    assert other_route.status_code == 422 and other_route.get_json()["reasons"][0]["subject"] == "Idempotency-Key"
    bad = client.post("/api/v1/proposals", headers={**h, "Idempotency-Key": "x" * 200}, json=NEW)
    assert bad.status_code == 422


def test_a_failed_request_does_not_use_up_its_key(client, world, db):
    h = {**world.headers("applicant_a"), "Idempotency-Key": "fix-and-retry"}
    assert client.post("/api/v1/proposals", headers=h, json={**NEW, "year": "abc"}).status_code == 422
    assert client.post("/api/v1/proposals", headers=h, json=NEW).status_code == 201
