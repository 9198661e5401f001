"""The API doing real work: create, list and search, edit, upload, act, and read the history."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from sqlalchemy import select

from api.world import BOTH_DATABASES, add_dossier
from app.models import Attachment

pytestmark = BOTH_DATABASES

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NEW = {"title": "Máy đóng gói chè hút chân không", "category": "machinery", "sector": "agro_processing",
       "year": 2026, "total_cost": 403_000_000, "requested_support": 197_000_000,
       "counterpart_funds": 206_000_000, "expected_jobs": 8}


def test_create_returns_201_with_location_and_an_audited_draft(client, world):
    h = world.headers("applicant_a")
    r = client.post("/api/v1/proposals", headers=h, json=NEW)
    assert r.status_code == 201
    body = r.get_json()
    assert r.headers["Location"].endswith(f"/api/v1/proposals/{body['id']}")
    assert (body["state"], body["version"], body["workflow"]) == ("draft", 1, "khuyen-cong-local")
    assert body["requested_support"] == 197_000_000 and body["commune_code"] == "05830"
    assert body["organisation"]["name"] == "Hợp tác xã chè Hùng Sơn"
    assert {a["trigger"] for a in body["allowed_actions"]} == {"withdraw"}  # submit waits for the dossier
    assert body["editable"] is True
    fetched = client.get(r.headers["Location"], headers=h).get_json()
    assert fetched["code"] == body["code"]
    history = client.get(f"{r.headers['Location']}/history", headers=h).get_json()["items"]
    assert [(e["action"], e["outcome"]) for e in history] == [("create", "created")]


def test_allowed_actions_depend_on_the_caller(client, world):
    h = world.headers
    path = f"/api/v1/proposals/{world.pa.id}"
    assert client.post(f"{path}/actions/submit", headers=h("applicant_a")).status_code == 200
    district = client.get(path, headers=h("district_own")).get_json()["allowed_actions"]
    assert {a["trigger"]: a["requires"] for a in district} == {
        "forward": ["comment"], "return_for_revision": ["comment"], "not_recommend": ["reason"]}
    assert {a["target"] for a in district} == {"provincial_appraisal", "returned", "rejected"}
    assert client.get(path, headers=h("auditor")).get_json()["allowed_actions"] == []
    assert client.get(path, headers=h("centre")).get_json()["allowed_actions"] == []


def test_list_filters_search_and_pagination(client, world, db, make_proposal):
    made = []
    for i in range(3):
        proposal = make_proposal(world.users["applicant_a"], version=1, year=2023, category="training",
                                 title=f"Đào tạo nghề đan lát {i}")
        add_dossier(db, proposal)  # complete, so its applicant can submit it
        made.append(proposal.id)
    # submitted, so the centre sees them (drafts are their organisation's alone)
    for who, pid in [("applicant_a", world.pa.id), ("applicant_b", world.pb.id)] + [("applicant_a", i) for i in made]:
        r = client.post(f"/api/v1/proposals/{pid}/actions/submit", headers=world.headers(who), json={})
        assert r.status_code == 200, r.get_json()
    h = world.headers("centre")

    def ids(**args):
        body = client.get("/api/v1/proposals", headers=h, query_string=args).get_json()
        return body["total"], [i["id"] for i in body["items"]]

    assert ids()[0] == 5
    assert ids(q="may sao che")[1] == [world.pa.id]      # diacritics ignored: "Máy sao chè"
    assert ids(q="dai tu")[0] == 4                         # "Đại Từ": the district of org A's four
    assert ids(q="MÁY CHẺ TRE")[1] == [world.pb.id]
    assert ids(q="phu binh")[1] == [world.pb.id]            # the district's name is searchable too
    assert ids(unit="173")[1] == [world.pb.id]
    assert ids(unit="05830")[0] == 4
    assert ids(category="training")[0] == 3 and ids(year=2023)[0] == 3
    assert ids(state="district_review")[0] == 5 and ids(state="draft")[0] == 0 and ids(state="funded")[0] == 0
    assert ids(q="100%_")[0] == 0                            # LIKE wildcards are plain text
    page = client.get("/api/v1/proposals", headers=h, query_string={"per_page": 2, "page": 3}).get_json()
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (5, 3, 3, 1)
    summary = page["items"][0]
    assert set(summary) >= {"id", "code", "title", "organisation", "state", "state_title", "version"}


def test_patch_edits_and_records_a_diff(client, world):
    h = world.headers("applicant_a")
    path = f"/api/v1/proposals/{world.pa.id}"
    # support + counterpart must still equal the total (the service's rule, the same as the web form's)
    r = client.patch(path, headers=h, json={"requested_support": 180_000_000, "counterpart_funds": 220_000_000,
                                            "commune_code": "05851", "expected_version": 1})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["requested_support"], body["commune_code"], body["district_code"], body["version"]) == (
        180_000_000, "05851", "171", 2)
    last = client.get(f"{path}/history", headers=h).get_json()["items"][-1]
    assert last["action"] == "edit" and last["diff"]["requested_support"] == [190_000_000, 180_000_000]
    assert last["request_id"]


def test_upload_stores_the_file_with_its_checksum(client, world, db, app):
    h = {**world.headers("applicant_a"), "X-Request-Id": "req-upload-1"}
    r = client.post(f"/api/v1/proposals/{world.pa.id}/attachments", headers=h,
                    data={"kind": "quotes", "file": (io.BytesIO(PDF), "../../etc/báo giá.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest() and body["size"] == len(PDF)
    assert body["original_name"] == "báo giá.pdf" and body["content_type"] == "application/pdf"
    stored = db.scalar(select(Attachment).where(Attachment.id == body["id"]))
    db.commit()  # end the read: on SQLite every transaction holds the write lock
    assert "/" not in stored.stored_name and stored.stored_name.endswith(".pdf")
    assert (Path(app.config["UPLOAD_DIR"]) / stored.stored_name).read_bytes() == PDF
    history = client.get(f"/api/v1/proposals/{world.pa.id}/history", headers=h).get_json()["items"]
    assert (history[-1]["action"], history[-1]["request_id"]) == ("attach", "req-upload-1")


def test_upload_needs_a_known_kind_and_a_file(client, world):
    h = world.headers("applicant_a")
    path = f"/api/v1/proposals/{world.pa.id}/attachments"
    r = client.post(path, headers=h, data={"kind": "selfie", "file": (io.BytesIO(PDF), "a.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "kind"
    r = client.post(path, headers=h, data={"kind": "quotes"}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "file"


def test_a_lifecycle_step_by_step_with_versions(client, world):
    path = f"/api/v1/proposals/{world.pa.id}"
    h = world.headers
    r = client.post(f"{path}/actions/submit", headers=h("applicant_a"), json={"expected_version": 1})
    assert r.get_json()["state"] == "district_review" and r.get_json()["version"] == 2
    r = client.post(f"{path}/actions/return_for_revision", headers=h("district_own"),
                    json={"comment": "Bổ sung báo giá thứ ba", "expected_version": 2})
    assert r.status_code == 200 and r.get_json()["state"] == "returned"
    assert client.patch(path, headers=h("applicant_a"), json={"title": "Máy sao chè (sửa)",
                                                               "expected_version": 3}).status_code == 200
    assert client.post(f"{path}/actions/submit", headers=h("applicant_a"),
                       json={"expected_version": 4}).status_code == 200
    r = client.post(f"{path}/actions/forward", headers=h("district_own"),
                    json={"comment": "Đạt yêu cầu", "expected_version": 5})
    assert r.get_json()["state"] == "provincial_appraisal"
    events = client.get(f"{path}/history", headers=h("auditor")).get_json()["items"]
    assert [e["action"] for e in events] == ["create", "submit", "return_for_revision", "edit", "submit", "forward"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[2]["comment"] == "Bổ sung báo giá thứ ba" and events[2]["actor_role"] == "district_officer"
    assert all(e["occurred_at"].endswith("Z") for e in events)


def test_a_client_request_id_is_kept_in_safe_characters(client, world):
    h = {**world.headers("applicant_a"), "X-Request-Id": "batch 7 <nightly>/ü"}
    assert client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=h).status_code == 200
    events = client.get(f"/api/v1/proposals/{world.pa.id}/history", headers=h).get_json()["items"]
    assert events[-1]["request_id"] == "batch7nightly"
