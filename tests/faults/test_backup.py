"""backup → more work → restore: the database and the files are back as they were, and the trail verifies."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from api.world import BOTH_DATABASES
from conftest import tiny_pdf
from sqlalchemy import func, select

from app.models import Attachment, Proposal
from faults.test_creates import NEW
from workflow.audit import AuditEvent, verify_chain

pytestmark = [pytest.mark.faults, BOTH_DATABASES]


def _counts(db) -> tuple[int, int]:
    counts = (db.scalar(select(func.count()).select_from(Proposal)),
              db.scalar(select(func.count()).select_from(AuditEvent)))
    db.rollback()
    return counts


def test_backup_then_restore_brings_back_the_database_and_the_files(app, client, world, db, tmp_path):
    h = world.headers("applicant_a")
    upload = client.post(f"/api/v1/proposals/{world.pa.id}/attachments", headers=h, content_type="multipart/form-data",
                         data={"kind": "quotes", "file": (io.BytesIO(tiny_pdf("bao gia")), "bao-gia.pdf")})
    assert upload.status_code == 201, upload.get_json()
    stored = db.scalar(select(Attachment.stored_name).where(Attachment.original_name == "bao-gia.pdf"))
    before = _counts(db)
    uploads = Path(app.config["UPLOAD_DIR"])
    original = (uploads / stored).read_bytes()

    runner = app.test_cli_runner()
    made = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    target = Path(made.output.strip().rsplit(" ", 1)[-1])
    manifest = json.loads((target / "manifest.json").read_text())
    assert stored in manifest["uploads"]

    assert client.post("/api/v1/proposals", headers=h, json=NEW).status_code == 201  # work after the backup
    (uploads / stored).unlink()  # and a lost file
    assert _counts(db) != before
    db.close()

    done = runner.invoke(args=["restore", str(target), "--yes"])
    assert done.exit_code == 0, done.output
    assert "OK" in done.output
    assert _counts(db) == before
    assert (uploads / stored).read_bytes() == original
    assert verify_chain(app.extensions["db_engine"]).ok


def test_a_damaged_backup_is_refused_before_anything_changes(app, client, world, db, tmp_path):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    target = Path(made.output.strip().rsplit(" ", 1)[-1])
    database = next(p for p in target.iterdir() if p.name.startswith("database."))
    database.write_bytes(database.read_bytes()[:-10])
    before = _counts(db)
    done = runner.invoke(args=["restore", str(target), "--yes"])
    assert done.exit_code != 0 and "sha256" in done.output
    assert _counts(db) == before
