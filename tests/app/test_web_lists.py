"""The proposal list (filters, diacritics-insensitive search, pagination) and My work."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import COMMUNE, World, attach
from sqlalchemy import select


def submit(world: World, db: Any, *proposals: Any) -> None:
    """Complete the dossier and submit as the proposal's applicant: a draft is its organisation's alone, the
    officers' lists and search only see proposals once submitted (docs/privacy.md)."""
    from app.models import Proposal, User
    from workflow import operations

    for proposal in proposals:
        row = db.get(Proposal, proposal.id)
        applicant = db.scalar(select(User).where(User.organisation_id == row.organisation_id))
        attach(world.app, db, row, applicant)
        operations.fire(db, row, "submit", applicant.actor())
    db.commit()


def test_search_ignores_vietnamese_diacritics(world: World, db: Any) -> None:
    submit(world, db, world.own, world.other)
    client = world.client("centre")
    for query in ("dai tu", "ĐẠI TỪ", "may sao che", "la bang"):
        body = client.get("/proposals", query_string={"q": query}).get_data(as_text=True)
        assert world.own.code in body, query
        assert world.other.code not in body, query
    body = client.get("/proposals", query_string={"q": "phu binh"}).get_data(as_text=True)
    assert world.other.code in body and world.own.code not in body


def test_search_with_like_wildcards_matches_literally(world: World) -> None:
    body = world.client("centre").get("/proposals", query_string={"q": "%"}).get_data(as_text=True)
    assert world.own.code not in body


def test_filters_by_state_unit_category_and_year(world: World, db: Any, make_proposal: Any) -> None:
    training = make_proposal(world.users["applicant_own"], version=1, year=2019, category="training",
                             title="Đào tạo nghề chè")
    submit(world, db, world.own, world.other, training)
    client = world.client("centre")

    def codes(**args: str) -> set[str]:
        body = client.get("/proposals", query_string=args).get_data(as_text=True)
        return {p.code for p in (world.own, world.other, training) if p.code in body}

    assert codes(unit="171") == {world.own.code, training.code}
    assert codes(unit=COMMUNE) == {world.own.code, training.code}
    assert codes(category="training") == {training.code}
    assert codes(year="2019") == {training.code}
    assert codes(state="district_review") == {world.own.code, world.other.code, training.code}
    assert codes(state="provincial_appraisal") == set()


def test_pagination(world: World, db: Any, make_proposal: Any) -> None:
    made = [make_proposal(world.users["applicant_other"], version=1, year=2018, title=f"Đề án số {n}")
            for n in range(22)]
    submit(world, db, world.own, world.other, *made)
    client = world.client("director")
    first = client.get("/proposals").get_data(as_text=True)
    assert "Trang 1 / 2" in first and 'id="next-page"' in first
    second = client.get("/proposals", query_string={"page": 2}).get_data(as_text=True)
    assert "Trang 2 / 2" in second
    assert second.count('<tr id="proposal-') == 24 - 20
    assert client.get("/proposals", query_string={"page": 99}).status_code == 200  # clamped, not an error


def test_my_work_lists_what_the_user_can_act_on_oldest_first_with_overdue_flag(world: World, db: Any,
                                                                               make_proposal: Any) -> None:
    from app.models import Proposal
    from workflow import operations

    newer = make_proposal(world.users["applicant_own"], version=1, year=2020, title="Đề án mới hơn")
    for proposal, days_ago in ((world.own, 40), (newer, 1)):
        row = db.get(Proposal, proposal.id)
        attach(world.app, db, row, world.users["applicant_own"])
        operations.fire(db, row, "submit", world.users["applicant_own"].actor())
        row.wf_entered_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)  # test set-up: an old case
    db.commit()
    body = world.client("district_own").get("/my-work").get_data(as_text=True)
    assert body.index(world.own.code) < body.index(newer.code)  # oldest first
    own_row = body[body.index(f'id="work-{world.own.id}"'):body.index(f'id="work-{newer.id}"')]
    assert "Quá hạn" in own_row
    assert f'href="/proposals/{world.own.id}/actions/forward"' in own_row
    assert "Quá hạn" not in body[body.index(f'id="work-{newer.id}"'):]
    # the other district's officer has nothing to do here; the applicant's drafts are now with the district
    assert world.own.code not in world.client("district_other").get("/my-work").get_data(as_text=True)
    assert "Không có việc nào" in world.client("auditor").get("/my-work").get_data(as_text=True)


def test_my_work_offers_the_applicant_their_editable_drafts(world: World) -> None:
    body = world.client("applicant_own").get("/my-work").get_data(as_text=True)
    assert world.own.code in body and world.other.code not in body
    # the row's next step for a draft being prepared: complete the dossier (on the proposal's panel), then submit
    own_row = body[body.index(f'id="work-{world.own.id}"'):]
    assert f'href="/proposals/{world.own.id}#next-step"' in own_row and "Hoàn thiện hồ sơ rồi nộp" in own_row


def test_a_search_over_more_than_a_page_keeps_the_lists_order_and_total(world: World, db: Any,
                                                                         make_proposal: Any) -> None:
    """The page's rows are the matches in the list's order (year, then code, newest first) whichever way the
    database finds them (SQLite probes the matches along the list's index), and the count is every match."""
    import re

    made = [make_proposal(world.users["applicant_other"], version=1, year=2016 + n % 5, title=f"Lò sấy chè {n}")
            for n in range(23)]
    others = [make_proposal(world.users["applicant_other"], version=1, year=2018, title=f"Đào tạo {n}")
              for n in range(3)]
    submit(world, db, *made, *others)
    client = world.client("centre")
    expected = [p.code for p in sorted(made, key=lambda p: (p.year, p.code), reverse=True)]
    shown = []
    for page in (1, 2):
        body = client.get("/proposals", query_string={"q": "lo say", "page": page}).get_data(as_text=True)
        shown += re.findall(r'<tr id="proposal-\d+">\s*<td><a [^>]*>([^<]+)</a>', body)
        assert f"Trang {page} / 2" in body
    assert shown == expected


def test_the_lists_totals_sum_every_matching_proposal_with_or_without_a_search(world: World, db: Any,
                                                                                 make_proposal: Any) -> None:
    """A search counts its matches and sums their support in one pass; the plain list counts first: both give
    the same figures for the same rows."""
    from app.formatting import vnd

    made = [make_proposal(world.users["applicant_other"], version=1, year=2018, title=f"Lò sấy chè {n}")
            for n in range(3)]
    submit(world, db, world.own, *made)
    client = world.client("centre")
    for args, rows in (({"q": "lo say"}, made), ({}, [world.own, *made]), ({"q": "khong co"}, [])):
        body = client.get("/proposals", query_string=args).get_data(as_text=True)
        assert f"Tổng cộng (mọi trang): {len(rows)}</th>" in body, args
        assert f'<td class="num" id="total-requested">{vnd(sum(p.requested_support for p in rows))}</td>' in body
