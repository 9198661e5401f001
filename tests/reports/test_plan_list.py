"""The round's plan list (danh mục kế hoạch) as a report: the round page's own list, as HTML and XLSX, scoped."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from conftest import PROVINCE, login
from openpyxl import load_workbook

from app.models.rounds import PlanRound
from workflow.registry import default_registry

M = 1_000_000


def _round_with_two_planned(db: Any, sample: Any) -> None:
    """The 2020 local round; P4 (173, machinery, 120M) and P5 (171, demonstration, 80M) passed appraisal."""
    plan_round = PlanRound(province_code=PROVINCE, fund="local", plan_year=2020, opens_on=dt.date(2020, 1, 1),
                           closes_on=dt.date(2020, 1, 31))
    plan_round.wf_pin(default_registry().latest("plan-round"))
    db.add(plan_round)
    db.flush()
    for n in (4, 5):
        proposal = sample.proposals[n - 1]
        proposal.round_id, proposal.wf_state = plan_round.id, "shortlisted"
    db.commit()


def _client(app: Any, make_user: Any, username: str, role: str, unit: str) -> Any:
    make_user(username, role, unit)
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_plan_list_html_and_xlsx(app: Any, db: Any, sample: Any, make_user: Any) -> None:
    _round_with_two_planned(db, sample)
    client = _client(app, make_user, "ttkc_plan", "centre_officer", PROVINCE)
    html = client.get("/reports/plan?year=2020&fund=local").get_data(as_text=True)
    assert "DANH MỤC KẾ HOẠCH KHUYẾN CÔNG" in html
    # Ranked by id when no priority nor score differs: P4 first; grouped by activity (machinery first).
    assert html.index("KC-2020-0004") < html.index("KC-2020-0005")
    assert "Tổng cộng: 2 đề án" in html and "200.000.000" in html
    data = client.get("/reports/plan?year=2020&fund=local&format=xlsx").get_data()
    rows = [r for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True) if any(r)]
    lines = {r[1]: (r[0], r[5]) for r in rows if isinstance(r[1], str) and r[1].startswith("KC-")}
    assert lines == {"KC-2020-0004": (1, 120 * M), "KC-2020-0005": (2, 80 * M)}
    assert rows[-1][0] == "Tổng cộng: 2 đề án" and rows[-1][5] == 200 * M
    assert [r[5] for r in rows if r[0] == "Cộng nhóm"] == [120 * M, 80 * M]


def test_plan_list_is_scoped_and_checks_its_input(app: Any, db: Any, sample: Any, make_user: Any) -> None:
    _round_with_two_planned(db, sample)
    district = _client(app, make_user, "huyen_plan", "district_officer", "171")
    html = district.get("/reports/plan?year=2020").get_data(as_text=True)
    assert "KC-2020-0005" in html and "KC-2020-0004" not in html and "Tổng cộng: 1 đề án" in html
    missing = district.get("/reports/plan?year=2019")
    assert missing.status_code == 422 and "Chưa có đợt kế hoạch" in missing.get_data(as_text=True)
    assert district.get("/reports/plan?year=2020&unit=171").status_code == 422
    from app.api.tokens import issue_token
    from app.models import User

    user = db.query(User).filter_by(username="huyen_plan").one()
    token = issue_token(db, user, "plan list test")
    db.commit()
    api = district.get("/api/v1/reports/plan?year=2020", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert [r[1] for r in api.get_json()["tables"][0]["rows"] if str(r[1]).startswith("KC-")] == ["KC-2020-0005"]


def test_plan_list_reads_council_results_in_a_fixed_number_of_queries(app: Any, db: Any, sample: Any) -> None:
    """No query per proposal: four planned proposals cost as many statements as two."""
    from sqlalchemy import event, select

    from app.rounds.services import plan_list

    _round_with_two_planned(db, sample)
    plan_round = db.scalar(select(PlanRound))
    statements: list[str] = []

    def count(*args: Any) -> None:
        if args[2].startswith("SELECT"):  # not the transaction's BEGIN
            statements.append(args[2])

    def measured() -> tuple[int, int]:
        statements.clear()
        db.expire_all()
        event.listen(app.extensions["db_engine"], "before_cursor_execute", count)
        try:
            plan = plan_list(db, plan_round)
        finally:
            event.remove(app.extensions["db_engine"], "before_cursor_execute", count)
        return plan.count, len(statements)

    planned_two, with_two = measured()
    for n in (1, 2):
        sample.proposals[n - 1].round_id, sample.proposals[n - 1].wf_state = plan_round.id, "shortlisted"
    db.commit()
    planned_four, with_four = measured()
    assert (planned_two, planned_four) == (2, 4)
    assert with_four == with_two, statements
