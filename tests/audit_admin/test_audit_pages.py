"""The audit area: every page as every role, the global log's filters, CSV export and chain verification."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest
from api.world import BOTH_DATABASES, ROLES
from conftest import lift_trail_guards, login, verified_through_api
from sqlalchemy import func, select, text

from app.formatting import LOCAL_TZ
from workflow.audit import AuditEvent, verify_chain

pytestmark = BOTH_DATABASES

PAGES = ["/audit/", "/audit/export.csv", "/audit/verify", "/audit/proposals/{pa}", "/audit/proposals/{pb}",
         "/audit/proposals/{pa}/history.csv"]


def _page(template, world):
    return template.format(pa=world.pa.id, pb=world.pb.id)


def _rows(response):
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # spreadsheet programs need the BOM for Vietnamese
    return list(csv.DictReader(io.StringIO(body[1:])))


def _act(client, world, who, proposal, trigger, **inputs):
    r = client.post(f"/api/v1/proposals/{proposal.id}/actions/{trigger}", headers=world.headers(who), json=inputs)
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", sorted(ROLES))
def test_audit_pages_are_for_auditors_only(client, world, who, page):
    for applicant, proposal in (("applicant_a", world.pa), ("applicant_b", world.pb)):
        _act(client, world, applicant, proposal, "submit")  # a draft is its organisation's alone (privacy.md)
    assert login(client, who).status_code == 302
    r = client.get(_page(page, world))
    assert r.status_code == (200 if who == "auditor" else 403), (who, page)
    if who != "auditor":
        assert world.pa.code not in r.get_data(as_text=True)


@pytest.mark.parametrize("page", PAGES)
def test_audit_pages_need_login(client, world, page):
    r = client.get(_page(page, world))
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_history_page_shows_every_event_read_only(client, world):
    _act(client, world, "applicant_a", world.pa, "submit")
    _act(client, world, "district_own", world.pa, "return_for_revision", comment="Bổ sung báo giá")
    login(client, "auditor")
    html = client.get(f"/audit/proposals/{world.pa.id}").get_data(as_text=True)
    names = world.users["district_own"].full_name  # people by name, not by username or id
    for needle in ("create", "submit", "return_for_revision", "Bổ sung báo giá", names, world.pa.code):
        assert needle in html
    main = html.split("<main", 1)[1].split("</main>", 1)[0]  # <main id="main" tabindex="-1">: the skip link's target
    assert 'method="post"' not in main  # nothing on the page writes


def test_out_of_range_proposal_is_404(client, world):
    login(client, "auditor")
    assert client.get("/audit/proposals/999999").status_code == 404
    assert client.get("/audit/proposals/999999/history.csv").status_code == 404


def test_history_csv_content(client, world, db):
    _act(client, world, "applicant_a", world.pa, "submit")
    _act(client, world, "district_own", world.pa, "forward", comment="Đề nghị tỉnh thẩm định")
    login(client, "auditor")
    r = client.get(f"/audit/proposals/{world.pa.id}/history.csv")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = _rows(r)
    events = db.scalars(select(AuditEvent).where(AuditEvent.subject_type == "proposal",
                                                AuditEvent.subject_id == str(world.pa.id))
                        .order_by(AuditEvent.seq)).all()
    assert [row["action"] for row in rows] == ["create", "submit", "forward"]
    assert [row["hash"] for row in rows] == [e.hash for e in events]
    forward = rows[2]
    assert forward["actor_username"] == "district_own" and forward["actor_role"] == "district_officer"
    assert (forward["from_state"], forward["to_state"]) == ("district_review", "provincial_appraisal")
    assert forward["comment"] == "Đề nghị tỉnh thẩm định"
    assert forward["occurred_at_utc"].endswith("Z") and forward["prev_hash"] == rows[1]["hash"]


def test_global_log_filters_and_csv(client, world):
    _act(client, world, "applicant_a", world.pa, "submit")
    _act(client, world, "applicant_b", world.pb, "withdraw", reason="=HYPERLINK(\"http://x\")")
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("auditor"),
                    json={"comment": "x"})
    assert r.status_code == 403  # a refused attempt, recorded
    login(client, "auditor")

    def export(**args):
        return _rows(client.get("/audit/export.csv", query_string=args))

    assert {r["action"] for r in export(action="submit")} == {"submit"}
    assert [r["subject_id"] for r in export(action="submit", outcome="applied")] == [str(world.pa.id)]
    refused = export(outcome="refused")
    assert [(r["actor_username"], r["action"]) for r in refused] == [("auditor", "forward")]
    assert {r["actor_username"] for r in export(actor="applicant_b")} == {"applicant_b"}
    assert {r["subject_id"] for r in export(proposal=world.pb.code)} == {str(world.pb.id)}
    withdraw = export(action="withdraw")[0]
    assert withdraw["comment"].startswith("'=")  # a spreadsheet will not evaluate it
    today = dt.datetime.now(LOCAL_TZ).date()
    assert len(export(date_from=today.strftime("%d/%m/%Y"))) == len(export())
    assert export(date_to=(today - dt.timedelta(days=1)).strftime("%d/%m/%Y")) == []

    page = client.get("/audit/", query_string={"action": "withdraw"}).get_data(as_text=True)
    assert "withdraw" in page and "export.csv?action=withdraw" in page


@pytest.mark.parametrize("args", [{"date_from": "31/02/2026"}, {"outcome": "exploded"}, {"page": "0"},
                                  {"page": "9" * 40}, {"page": "²"},
                                  {"date_from": "02/01/2026", "date_to": "01/01/2026"}])
def test_bad_filters_are_400_with_a_message(client, world, args):
    login(client, "auditor")
    r = client.get("/audit/", query_string=args)
    assert r.status_code == 400
    assert "error-message" in r.get_data(as_text=True)
    assert client.get("/audit/export.csv", query_string=args).status_code == 400


def test_global_log_paginates(client, world, make_proposal, db):
    for _ in range(55):
        make_proposal(world.users["applicant_a"], version=1, year=2024)
    total = db.scalar(select(func.count()).select_from(AuditEvent))  # 2 world proposals + 55 new + token issues
    db.rollback()
    assert total >= 57
    login(client, "auditor")
    first = client.get("/audit/").get_data(as_text=True)
    assert 'id="next-page"' in first
    second = client.get("/audit/?page=2").get_data(as_text=True)
    assert second.count('<tr id="event-') == min(total - 50, 50)  # 50 a page


def _verified(client):
    """Start a verification run from the page, then follow the page until the run has finished."""
    from conftest import csrf_token

    started = client.post("/audit/verify", data={"csrf_token": csrf_token(client, "/audit/verify")})
    assert started.status_code == 303
    for _ in range(200):
        html = client.get("/audit/verify").get_data(as_text=True)
        if 'id="verify-progress"' not in html:
            return html
        time.sleep(0.05)
    raise AssertionError("the verification run did not finish")


def test_verify_runs_in_the_background_and_the_page_follows_it(client, world, db):
    login(client, "auditor")
    assert 'id="verify-result"' not in client.get("/audit/verify").get_data(as_text=True)  # no run yet
    html = _verified(client)
    assert 'data-ok="true"' in html and 'id="verify-progress"' not in html
    runs = db.execute(text("SELECT total, checked, ok FROM audit_verification")).all()
    db.rollback()
    assert len(runs) == 1 and runs[0][0] == runs[0][1] > 0 and runs[0][2]


def test_verify_page_shows_result_count_and_head_digest(client, world, db):
    _act(client, world, "applicant_a", world.pa, "submit")
    expected = verify_chain(db)
    db.rollback()
    login(client, "auditor")
    html = _verified(client)
    assert expected.ok and expected.head_digest
    assert f'<code id="head-digest">{expected.head_digest}</code>' in html
    assert f'<strong id="verify-count">{expected.count}</strong>' in html
    assert 'data-ok="true"' in html
    api = client.get("/api/v1/audit/verify", headers=world.headers("auditor")).get_json()  # the page's run
    assert (api["ok"], api["checked"], api["head_digest"]) == (True, expected.count, expected.head_digest)
    again = verified_through_api(client, world.headers("auditor"))  # a new run, started through the API
    assert again["id"] == api["id"] + 1
    assert (again["ok"], again["checked"], again["head_digest"]) == (True, expected.count, expected.head_digest)


def test_verify_page_reports_tampering(client, world, db):
    first_hash = db.scalar(select(AuditEvent.hash).where(AuditEvent.subject_type == "proposal",
                                                         AuditEvent.subject_id == str(world.pa.id),
                                                         AuditEvent.seq == 1))
    # The append-only triggers are lifted first, as an attacker with the database owner's rights could.
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        lift_trail_guards(db.connection(), triggers=())
    else:
        triggers = "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_event'"
        for (name,) in db.execute(text(triggers)).all():
            db.execute(text(f'DROP TRIGGER "{name}"'))
    # Every column is derived from the hashed body, so the body is what an attacker would rewrite.
    db.execute(text("UPDATE audit_event SET body = replace(body, '\"action\":\"create\"', "
                    "'\"action\":\"created\"') WHERE hash = :h"), {"h": first_hash})
    db.commit()
    login(client, "auditor")
    html = _verified(client)
    assert 'data-ok="false"' in html and 'id="verify-problems"' in html and "changed" in html
    assert client.get("/api/v1/audit/verify", headers=world.headers("auditor")).get_json()["ok"] is False
    assert verified_through_api(client, world.headers("auditor"))["ok"] is False


def test_verify_page_reports_a_column_changed_behind_the_body(client, world, db):
    """Body and hash untouched: only the column the log page filters and shows is rewritten (the columns are
    written by the engine, no longer derived by the database, so verify holds each row to its body)."""
    event_id = db.scalar(select(AuditEvent.id).where(AuditEvent.subject_type == "proposal",
                                                     AuditEvent.subject_id == str(world.pa.id), AuditEvent.seq == 1))
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        lift_trail_guards(db.connection(), triggers=())
    else:
        db.execute(text("DROP TRIGGER audit_event_no_update"))
    db.execute(text("UPDATE audit_event SET actor_id = 'intruder' WHERE id = :i"), {"i": event_id})
    db.commit()
    assert verify_chain(db).altered_columns == ["actor_id"]
    db.rollback()
    login(client, "auditor")
    html = _verified(client)
    assert 'data-ok="false"' in html and f"event {event_id} " in html and "changed" in html


def test_audit_and_admin_pages_in_both_languages(client, world):
    from babel.messages.pofile import read_po
    from conftest import csrf_token

    from app.i18n import TRANSLATIONS

    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        vi_catalogue = read_po(handle)
    intact = "The audit trail is intact."
    login(client, "auditor")
    vi = _verified(client)
    assert vi_catalogue[intact].string and vi_catalogue[intact].string in vi and intact not in vi
    assert vi_catalogue["Head digest"].string in vi
    client.post("/language", data={"lang": "en", "next": "/audit/verify",
                                   "csrf_token": csrf_token(client, "/audit/verify")})
    en = client.get("/audit/verify").get_data(as_text=True)
    assert "Verify the chain" in en and intact in en
    assert "Audit log" in client.get("/audit/").get_data(as_text=True)


def test_nul_in_a_filter_is_400(client, world):
    login(client, "auditor")
    assert client.get("/audit/", query_string={"actor": "a\x00"}).status_code == 400
