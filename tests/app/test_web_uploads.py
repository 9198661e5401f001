"""Uploads: size limit, type by content, server-side names with a checksum, scoped downloads."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from typing import Any

import pytest
from conftest import World, tiny_pdf, token
from sqlalchemy import select

from app.models import Attachment


def post_file(world: World, client: Any, content: bytes, name: str, kind: str = "quotes") -> Any:
    return client.post(f"/proposals/{world.own.id}/attachments", content_type="multipart/form-data",
                       data={"kind": kind, "file": (io.BytesIO(content), name), "csrf_token": token(client)})


def attachments(world: World) -> list[Attachment]:
    with world.app.extensions["db_sessionmaker"]() as session:
        return list(session.scalars(select(Attachment).where(Attachment.proposal_id == world.own.id)
                                    .order_by(Attachment.id)))


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_oversize_upload_is_413_and_stores_nothing(world: World) -> None:
    world.app.config["MAX_CONTENT_LENGTH"] = 4096
    client = world.client("applicant_own")
    before = len(attachments(world))
    response = post_file(world, client, tiny_pdf() + b"0" * 10_000, "big.pdf")
    assert response.status_code == 413
    assert "vượt quá dung lượng" in response.get_data(as_text=True)
    assert len(attachments(world)) == before


@pytest.mark.parametrize(("content", "name"), [
    (b"#!/bin/sh\necho pwned\n", "bao-gia.pdf"),  # a script dressed as a PDF
    (b"<html><script>alert(1)</script></html>", "anh.png"),
    (b"MZ\x90\x00" + b"\x00" * 200, "hop-dong.docx"),  # a Windows executable
])
def test_a_disguised_type_is_refused(world: World, content: bytes, name: str) -> None:
    client = world.client("applicant_own")
    before = len(attachments(world))
    response = post_file(world, client, content, name)
    assert response.status_code == 422
    assert "kiểm tra theo nội dung" in response.get_data(as_text=True)
    assert len(attachments(world)) == before


def test_a_traversal_name_is_harmless(world: World, tmp_path: Any) -> None:
    client = world.client("applicant_own")
    response = post_file(world, client, tiny_pdf("traversal"), "../../../../etc/passwd.pdf")
    assert response.status_code == 303
    saved = attachments(world)[-1]
    assert saved.original_name == "passwd.pdf"
    assert "/" not in saved.stored_name and ".." not in saved.stored_name
    upload_dir = world.app.config["UPLOAD_DIR"]
    assert os.path.exists(os.path.join(upload_dir, saved.stored_name))
    assert not os.path.exists("/etc/passwd.pdf")
    download = client.get(f"/proposals/{world.own.id}/attachments/{saved.id}")
    assert download.status_code == 200
    assert 'filename=passwd.pdf' in download.headers["Content-Disposition"]


def test_upload_keeps_a_checksum_and_downloads_the_same_bytes(world: World) -> None:
    client = world.client("applicant_own")
    content = docx_bytes()
    assert post_file(world, client, content, "cam-ket.docx", kind="non_duplication").status_code == 303
    saved = attachments(world)[-1]
    assert saved.sha256 == hashlib.sha256(content).hexdigest()
    assert saved.content_type.endswith("wordprocessingml.document")
    download = client.get(f"/proposals/{world.own.id}/attachments/{saved.id}")
    assert download.data == content
    page = client.get(f"/proposals/{world.own.id}").get_data(as_text=True)
    assert "cam-ket.docx" in page and "Bổ sung tài liệu" in page  # listed, and in the audited history


def test_download_out_of_scope_is_404(world: World) -> None:
    for role in ("applicant_other", "district_other"):
        response = world.client(role).get(f"/proposals/{world.own.id}/attachments/{world.attachment_id}")
        assert response.status_code == 404
        assert b"%PDF" not in response.data


def test_no_upload_once_the_proposal_left_the_applicant(world: World, db: Any) -> None:
    from workflow import operations

    client = world.client("applicant_own")
    for kind in ("business_registration", "non_duplication"):
        assert post_file(world, client, tiny_pdf(kind), f"{kind}.pdf", kind=kind).status_code == 303
    proposal = db.merge(world.own)
    db.refresh(proposal)
    operations.fire(db, proposal, "submit", world.users["applicant_own"].actor())
    db.commit()
    response = post_file(world, client, tiny_pdf("late"), "late.pdf")
    assert response.status_code == 409  # the applicant's role is right, the state is not
    assert "trạng thái hiện tại" in response.get_data(as_text=True)
