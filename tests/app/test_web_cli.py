"""The Flask CLI and the demo data: init-db, demo, create-user, create-token, audit-verify."""

from __future__ import annotations

from collections import Counter
from typing import Any

from conftest import login
from sqlalchemy import func, select

from app.models import Proposal, User


def run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_init_db_is_idempotent(app: Any) -> None:
    first = run(app, "init-db")
    assert first.exit_code == 0, first.output
    assert "0 administrative units added" in first.output  # the app fixture already loaded them


def test_demo_loads_genuine_histories_and_prints_logins(app: Any, db: Any) -> None:
    result = run(app, "demo")
    assert result.exit_code == 0, result.output
    assert "pkt_daitu" in result.output and "matkhau-demo" in result.output and "giamdoc" in result.output

    historical = db.scalars(select(Proposal).where(Proposal.year.between(2016, 2020))).all()
    assert len(historical) == 188
    assert sum(p.category == "machinery" for p in historical) == 146
    assert {p.wf_workflow_version for p in historical} == {1}
    assert len({p.district_code for p in historical}) == 9
    recent = db.scalars(select(Proposal).where(Proposal.year >= 2025)).all()
    assert recent and {p.wf_workflow_version for p in recent} == {3}  # the latest local definition (2026 rules)
    states = Counter(p.wf_state for p in historical + recent)
    assert {"draft", "district_review", "local_review", "returned", "provincial_appraisal", "rejected",
            "withdrawn"} <= set(states)

    db.rollback()  # end the read transaction: on SQLite every transaction holds the write lock

    verify = run(app, "audit-verify")
    assert verify.exit_code == 0, verify.output
    assert verify.output.startswith("OK")

    # a demo login works over HTTP, and the district officer sees only their district
    client = app.test_client()
    assert login(client, "pkt_daitu").status_code == 302
    body = client.get("/proposals", query_string={"unit": "173"}).get_data(as_text=True)
    assert "Không có đề án phù hợp" in body

    again = run(app, "demo", "--if-empty")
    assert again.exit_code == 0 and "already present" in again.output
    assert db.scalar(select(func.count()).select_from(Proposal)) == len(historical) + len(recent)
    db.rollback()
    refused = run(app, "demo")
    assert refused.exit_code != 0 and "already has proposals" in refused.output


def test_create_user_and_token(app: Any, db: Any) -> None:
    from app.api.tokens import user_for_token

    result = run(app, "create-user", "can_bo_moi", "--role", "district_officer", "--unit", "171",
                 "--password", "mat-khau-rat-dai")
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User).where(User.username == "can_bo_moi"))
    assert [(g.role, g.unit_code) for g in user.grants] == [("district_officer", "171")]
    db.rollback()
    client = app.test_client()
    assert login(client, "can_bo_moi", "mat-khau-rat-dai").status_code == 302

    assert run(app, "create-user", "x", "--role", "king", "--unit", "171", "--password", "p").exit_code != 0
    assert run(app, "create-user", "y", "--role", "district_officer", "--unit", "999", "--password", "p").exit_code != 0
    assert run(app, "create-user", "can_bo_moi", "--role", "director", "--unit", "19",
               "--password", "p").exit_code != 0

    token_run = run(app, "create-token", "can_bo_moi")
    assert token_run.exit_code == 0, token_run.output
    token = token_run.output.strip().splitlines()[-1]
    db.expire_all()
    assert user_for_token(db, token).id == user.id
    db.rollback()
    assert run(app, "create-token", "khong_co").exit_code != 0
