"""/healthz tells a load balancer the truth; files stored by a request whose commit fails are swept."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import tiny_pdf
from sqlalchemy import create_engine, func, select, text

from app.models import Attachment
from faults.conftest import ON_POSTGRES

pytestmark = pytest.mark.faults


def test_healthz_is_200_when_the_database_is_current(client):
    r = client.get("/healthz")
    body = r.get_json()
    assert r.status_code == 200 and (body["database"], body["migrations"]) == ("ok", "current")
    assert body["worker"]["pid"] > 0


def test_healthz_is_503_when_migrations_are_behind(app, client):
    engine = app.extensions["db_engine"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0003_stages'"))
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["migrations"].startswith("not current")


@ON_POSTGRES
def test_a_file_stored_before_a_failed_commit_is_swept(app, client, world, db):
    """The upload's connection is killed just before the request commits: 503, no row and no file left."""
    from app.extensions import db_session

    pid = world.pa.id
    admin = create_engine(app.config["DATABASE_URL"], isolation_level="AUTOCOMMIT")

    @app.after_request
    def _kill_the_connection(response):  # runs before the commit (after_request runs in reverse order)
        backend = db_session().scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
        return response

    uploads = Path(app.config["UPLOAD_DIR"])
    r = client.post(f"/api/v1/proposals/{pid}/attachments", headers=world.headers("applicant_a"),
                    content_type="multipart/form-data",
                    data={"kind": "quotes", "file": (io.BytesIO(tiny_pdf("bao gia")), "bao-gia.pdf")})
    admin.dispose()
    assert r.status_code == 503, r.get_data(as_text=True)
    assert not uploads.exists() or not [p for p in uploads.iterdir() if p.is_file()]
    assert db.scalar(select(func.count()).select_from(Attachment).where(Attachment.original_name == "bao-gia.pdf")) == 0
