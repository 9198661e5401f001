"""Old files imported with their historical dates (issue 9, item 5): every event goes through the engine with
``effective_at`` beside the real recording time, both hashed; bad rows are refused as FILE:LINE with nothing
written; deadlines, overdue flags, durations and the funnel follow the historical dates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import _hash, lift_trail_guards, login
from openpyxl import Workbook
from sqlalchemy import func, select

from app.api.tokens import issue_token
from app.legacy import LegacyImportError, import_file, parse_date, read_csv_text
from app.models import Proposal, RoleGrant, User
from app.models.stages import Funding
from app.reports import queries
from workflow import audit
from workflow.audit import AuditEvent
from workflow.chaincheck import verify_export

HEADER = ("ref,event,date,year,title,category,sector,commune_code,organisation_tax_code,organisation_name,"
          "organisation_kind,total_cost,requested_support,amount,number,note\n")
# xã Thịnh Đức (05497), abolished on 1 July 2025, former Thành phố Thái Nguyên (164)
CREATED = ("HS-01,created,15/09/2015,2016,Ứng dụng máy sao chè liên hoàn,machinery,agro_processing,05497,"
           "4600999001,Hợp tác xã chè Thịnh Đức,cooperative,400000000,180000000,,,\n")
STORY = (CREATED
         + "HS-01,submitted,2015-09-20,,,,,,,,,,,,,\n"
         + "HS-01,reviewed,05/10/2015,,,,,,,,,,,,,Hồ sơ đầy đủ\n"
         + "HS-01,appraised,2016-01-10,,,,,,,,,,,,,\n"
         + "HS-01,funded,20/03/2016,,,,,,,,,,,170.000.000,12/QĐ-SCT,\n"
         + "HS-01,contracted,2016-04-10,,,,,,,,,,,,05/2016/HĐ-TTKC,\n"
         + "HS-01,accepted,15/11/2016,,,,,,,,,,,,,Hoàn thành đúng hợp đồng\n"
         # a second file, left in district review since 2019: overdue for years
         + "HS-02,created,2019-03-01,2019,Đào tạo nghề mây tre đan,training,handicrafts,05497,4600999001,,,"
           "90000000,30000000,,,\n"
         + "HS-02,submitted,2019-03-04,,,,,,,,,,,,,\n")


def _add_user(app: Any, username: str, *roles: str) -> int:
    with app.extensions["db_sessionmaker"]() as session:
        user = User(username=username, full_name=username, password_hash=_hash("mat-khau-rat-dai-1"))
        user.grants = [RoleGrant(role=role, unit_code="19") for role in roles]
        session.add(user)
        session.commit()
        return user.id


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def admin(any_app: Any) -> int:
    return _add_user(any_app, "quantri", "admin")


def _import(app: Any, tmp_path: Path, text: str, admin_id: int) -> Any:
    path = tmp_path / "ho_so_cu.csv"
    path.write_text(text, encoding="utf-8")
    with app.extensions["db_sessionmaker"]() as session:
        summary = import_file(session, path, session.get(User, admin_id), province_code="19")
        session.commit()
    return summary, path


def test_imported_events_verify_and_keep_their_historical_dates(any_app: Any, admin: int, tmp_path: Path) -> None:
    summary, path = _import(any_app, tmp_path, HEADER + STORY, admin)
    assert (summary.proposals, summary.events) == (2, 7)
    with any_app.extensions["db_sessionmaker"]() as session:
        first = session.scalars(select(Proposal).order_by(Proposal.id)).first()
        assert first.wf_state == "implemented" and first.wf_workflow_version == 1  # filed in 2015: v1
        assert first.district_code == "164" and first.commune_code == "05497"
        events = audit.events_for(session, "proposal", first.id)
        assert [e.action for e in events] == ["create", "submit", "forward", "shortlist", "approve_funding",
                                              "sign_contract", "accept"]
        assert [e.effective_at.date() for e in events if e.effective_at] == [  # local midnight, in UTC
            dt.date(2015, 9, 14), dt.date(2015, 9, 19), dt.date(2015, 10, 4), dt.date(2016, 1, 9),
            dt.date(2016, 3, 19), dt.date(2016, 4, 9), dt.date(2016, 11, 14)]
        assert all(e.occurred_at.year == dt.date.today().year or e.occurred_at > e.effective_at for e in events)
        bodies = [json.loads(e.body) for e in events]
        assert all(b["imported"] is True and b["effective_at"].startswith("201") for b in bodies)
        assert bodies[1]["inputs"]["source"] == f"{path}:3"
        # the settlement deadline runs from the 2016 acceptance, not from the day of the import
        assert first.wf_entered_at.astimezone(dt.UTC).date() == dt.date(2016, 11, 14)
        funding = session.scalar(select(Funding).where(Funding.proposal_id == first.id))
        assert (funding.approved_amount, funding.decision_number, funding.accepted_on) == (
            170_000_000, "12/QĐ-SCT", dt.date(2016, 11, 15))
    result = audit.verify_chain(any_app.extensions["db_engine"])
    assert result.ok, result.problems
    lines: list[str] = []
    audit.export(any_app.extensions["db_engine"], _Lines(lines))
    assert verify_export(lines).ok  # the offline verifier accepts the optional fields too


class _Lines:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        self.into.append(text)

    def writelines(self, texts: Any) -> None:
        self.into.extend(texts)


def test_the_pages_and_reports_use_the_historical_dates(app: Any, tmp_path: Path) -> None:
    admin_id = _add_user(app, "giamdoc", "admin", "director")
    _import(app, tmp_path, HEADER + STORY, admin_id)
    client = app.test_client()
    assert login(client, "giamdoc", "mat-khau-rat-dai-1").status_code == 302
    with app.extensions["db_sessionmaker"]() as session:
        first, second = session.scalars(select(Proposal).order_by(Proposal.id)).all()
        html = client.get(f"/proposals/{first.id}").get_data(as_text=True)
        assert 'id="settlement-due">30/11/2016' in html  # 15 days after the 2016 acceptance
        history = html.split('id="timeline"')[1]
        assert "15/11/2016" in history and "nhập từ hồ sơ cũ" in history
        assert "xã Thịnh Đức (cũ), nay là" in html  # named as it was when filed
        bearer = {"Authorization": f"Bearer {issue_token(session, session.get(User, admin_id), 'tests')}"}
        session.commit()
        api = client.get(f"/api/v1/proposals/{first.id}/history", headers=bearer).get_json()["items"]
        assert api[-1]["action"] == "accept" and api[-1]["effective_at"].startswith("2016-11-14T17:00:00")
        assert api[-1]["occurred_at"] > api[-1]["effective_at"]  # recorded now, happened then
        cond = Proposal.id.in_([first.id, second.id])
        overdue = queries.overdue(session, cond, on=dt.date(2026, 12, 7))
        # accepted in November 2016 and never settled; in district review since March 2019
        assert overdue.by_state == {"implemented": 1, "district_review": 1}
        assert [(o.state, o.entered, o.due) for o in overdue.oldest] == [
            ("implemented", dt.date(2016, 11, 15), dt.date(2016, 11, 30)),
            ("district_review", dt.date(2019, 3, 4), dt.date(2019, 3, 18))]
        durations = queries.median_durations(session, cond)
        assert durations["district_review"] == (15.0, 1)  # 20/09 to 05/10/2015
        funnel = dict((k, n) for k, _t, n in queries.funnel(session, cond, (dt.date(2016, 1, 1),
                                                                             dt.date(2017, 1, 1))))
        assert funnel["funded"] == 1 and funnel["implemented"] == 1 and funnel["submitted"] == 0
        recorded_today = dict((k, n) for k, _t, n in queries.funnel(
            session, cond, (dt.date(2026, 1, 1), dt.date(2027, 1, 1))))
        assert recorded_today["funded"] == 0  # counted when it happened, not when it was typed in


BAD_ROWS = [
    # (row replacing the 'reviewed' line, the line number and the words the message must hold)
    ("HS-01,reviewed,01/09/2015,,,,,,,,,,,,,", 4, "trước sự kiện trước đó"),
    ("HS-01,reviewed,2031-01-01,,,,,,,,,,,,,", 4, "ở tương lai"),
    ("HS-01,reviewed,31/02/2016,,,,,,,,,,,,,", 4, "không phải ngày có thật"),
    ("HS-01,reviewed,2016.01.05,,,,,,,,,,,,,", 4, "không phải ngày"),
    ("HS-01,evaluated,2015-10-06,,,,,,,,,,,,,", 4, "không thể tiếp sau trạng thái district_review"),
    ("HS-09,reviewed,2015-10-06,,,,,,,,,,,,,", 4, "chưa có dòng 'created'"),
]


@pytest.mark.parametrize(("row", "line", "words"), BAD_ROWS)
def test_a_bad_row_is_refused_with_file_and_line_and_nothing_is_written(
        app: Any, tmp_path: Path, row: str, line: int, words: str) -> None:
    _add_user(app, "quantri", "admin")
    with app.extensions["db_sessionmaker"]() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    text = HEADER + STORY.replace("HS-01,reviewed,05/10/2015,,,,,,,,,,,,,Hồ sơ đầy đủ", row)
    path = tmp_path / "sai.csv"
    path.write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-legacy", str(path), "--as", "quantri"])
    assert result.exit_code != 0
    assert f"{path}:{line}: " in result.output and words in result.output, result.output
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(Proposal)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_command_imports_a_whole_file_and_an_xlsx_reads_the_same(app: Any, tmp_path: Path) -> None:
    _add_user(app, "quantri", "admin")
    book = Workbook()
    sheet = book.active
    rows = [line.split(",") for line in (HEADER + STORY).splitlines()]
    for row in rows:
        sheet.append([dt.date(2015, 9, 15) if cell == "15/09/2015" else cell for cell in row])
    xlsx = tmp_path / "ho_so_cu.xlsx"
    book.save(xlsx)
    result = app.test_cli_runner().invoke(args=["import-legacy", str(xlsx), "--as", "quantri"])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 2 hồ sơ, 7 sự kiện" in result.output
    with app.extensions["db_sessionmaker"]() as session:
        created = session.scalars(select(AuditEvent.effective_at).where(
            AuditEvent.action == "create", AuditEvent.subject_type == "proposal")).all()
        assert sorted(c.date() for c in created) == [dt.date(2015, 9, 14), dt.date(2019, 2, 28)]
    assert read_csv_text(HEADER + STORY)[-1].line == 10  # lines count from the header, line 1


def test_dates_iso_and_vietnamese_are_local_days() -> None:
    assert parse_date("15/11/2016") == parse_date("2016-11-15") == dt.datetime(2016, 11, 14, 17, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="không phải ngày"):
        parse_date("11/2016")


def test_only_an_administrator_imports(app: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(HEADER + CREATED, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-legacy", str(path), "--as", "khong_co"])
    assert result.exit_code != 0 and "no user" in result.output
    with pytest.raises(LegacyImportError, match="dòng tiêu đề thiếu cột"):
        read_csv_text("ref,date\nHS-01,2016-01-01\n", "x.csv")


def test_a_historical_date_changed_in_the_table_is_named_by_verify(any_app: Any, admin: int, tmp_path: Path) -> None:
    from sqlalchemy import text

    _import(any_app, tmp_path, HEADER + STORY, admin)
    engine = any_app.extensions["db_engine"]
    with engine.begin() as conn:
        target = conn.execute(text("SELECT id FROM audit_event WHERE action = 'accept'")).scalar_one()
        # past the append-only guard: its trigger dropped (PostgreSQL), the table copied without it (SQLite)
        if conn.dialect.name == "postgresql":
            lift_trail_guards(conn, triggers=("audit_event_no_update",))
        else:
            conn.execute(text("CREATE TABLE audit_copy AS SELECT * FROM audit_event"))
            conn.execute(text("DROP TABLE audit_event"))
            conn.execute(text("ALTER TABLE audit_copy RENAME TO audit_event"))
        conn.execute(text("UPDATE audit_event SET effective_at = :d WHERE id = :i"),
                     {"d": dt.datetime(2016, 6, 1, tzinfo=dt.UTC), "i": target})
    result = audit.verify_chain(engine)
    assert not result.ok and "effective_at" in result.altered_columns
    assert [(p.event_id, p.kind) for p in result.problems] == [(target, "changed")]  # only the backdated one


def test_the_engine_refuses_a_historical_date_before_a_subject_s_last_event(app: Any, db: Any, make_user: Any,
                                                                           make_proposal: Any) -> None:
    from workflow import operations
    from workflow.errors import InvalidInput

    admin = make_user("quantri", "admin", "19")
    proposal = make_proposal(make_user("coso", "applicant"))  # created today, live
    before = len(audit.events_for(db, "proposal", proposal.id))
    for when, words in ((dt.datetime(2016, 5, 1, tzinfo=dt.UTC), "2016-05-01 00:00 UTC trước sự kiện trước đó"),
                        (dt.datetime.now(dt.UTC) + dt.timedelta(days=2), "ở tương lai")):
        with pytest.raises(InvalidInput) as refused:
            operations.import_event(db, proposal, admin.actor(), "submit", effective_at=when)
        assert words in refused.value.errors["effective_at"]["vi"]
        db.rollback()
    with pytest.raises(InvalidInput, match="No step 'evaluate'"):
        operations.import_event(db, proposal, admin.actor(), "evaluate", effective_at=dt.datetime.now(dt.UTC))
    db.rollback()
    assert len(audit.events_for(db, "proposal", proposal.id)) == before  # a refused import records nothing
