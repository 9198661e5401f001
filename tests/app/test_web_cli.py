"""The Flask CLI and the demo data: init-db, demo, create-user, create-token, audit-verify."""

from __future__ import annotations

from collections import Counter
from typing import Any

from conftest import login
from sqlalchemy import String, cast, func, select

from app.formatting import local
from app.models import Proposal, User
from app.models.stages import Funding
from app.models.units import UnitHistory
from workflow.audit import AuditEvent
from workflow.migrate import migrate
from workflow.registry import default_registry


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
    # the seed article's figures: 188 carried out (reached implementing or later, not terminated), 146 machinery
    carried_out = [p for p in historical if p.wf_state in {"implementing", "implemented", "settled", "evaluated"}]
    assert len(carried_out) == 188
    assert sum(p.category == "machinery" for p in carried_out) == 146
    assert len({p.district_code for p in carried_out}) == 9
    assert {p.wf_workflow_version for p in historical} == {1}
    v1 = default_registry().get("khuyen-cong-local", 1)
    assert {p.wf_state for p in historical} <= v1.finals  # the 2016–2020 files are closed
    recent = db.scalars(select(Proposal).where(Proposal.year >= 2025)).all()
    after_reform = [p for p in recent if p.wf_workflow_version >= 2]
    assert after_reform and all(p.created_at.year >= 2025 for p in after_reform)
    history = UnitHistory.load(db)
    assert {p.commune_code for p in after_reform} <= history.valid_now  # filed on post-reform communes
    assert "02086" in {p.commune_code for p in after_reform}  # xã Chợ Mới, in the former Bắc Kạn
    # the old files came in through the legacy import with their own dates: accepted in their plan year, so the
    # settlement deadline (15 days on) falls in that year or the next, not on the day the demo was loaded
    accepted = db.execute(select(Proposal.year, Funding.accepted_on, AuditEvent.effective_at)
                          .join(Funding, Funding.proposal_id == Proposal.id)
                          .join(AuditEvent, (AuditEvent.subject_type == "proposal")
                                & (AuditEvent.subject_id == cast(Proposal.id, String))
                                & (AuditEvent.action == "accept"))
                          .where(Proposal.year.between(2016, 2020))).all()
    assert len(accepted) == 188
    assert all(on.year == year and stamp is not None and local(stamp).date() == on for year, on, stamp in accepted)
    states = Counter(p.wf_state for p in historical + recent)
    assert {"draft", "district_review", "local_review", "returned", "provincial_appraisal", "rejected",
            "withdrawn"} <= set(states)

    db.rollback()  # end the read transaction: on SQLite every transaction holds the write lock

    # the pre-reform open files move to v2, re-homed on post-reform communes, each with someone who can act
    live_v1 = {p.id for p in recent if p.wf_workflow_version == 1}
    db.rollback()
    moved, stranded = migrate(app.extensions["db_engine"], default_registry().get("khuyen-cong-local", 2))
    assert stranded == [] and {m.identity[0] for m in moved} == live_v1 and live_v1
    assert all(m.who for m in moved)
    db.expire_all()
    assert {db.get(Proposal, pid).commune_code for pid in live_v1} <= history.valid_now
    assert {p.wf_workflow_version for p in db.scalars(select(Proposal).where(Proposal.year <= 2020))} == {1}
    db.rollback()

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
