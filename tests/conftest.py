"""Shared fixtures: fresh, fully migrated databases on SQLite (always) and PostgreSQL (when reachable).

- ``sqlite_url``: a fresh migrated SQLite file for this test (copied from a template migrated once).
- ``postgres_url``: a fresh migrated PostgreSQL database for this test (CREATE DATABASE ... TEMPLATE).
  Skipped, with the reason shown, when TEST_POSTGRES_URL is unset or unreachable; with REQUIRE_POSTGRES=1
  (as .ci/run sets) that is a failure instead.
- ``database_url``: parametrized over both.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.schema import upgrade

PG_ENV = "TEST_POSTGRES_URL"


def _postgres_unavailable() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return f"{PG_ENV} is not set: PostgreSQL tests skipped"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[str]:
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield os.environ[PG_ENV]


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _postgres_template(_postgres_admin: str) -> Iterator[str]:
    name = f"gf_tmpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_postgres_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_with_database(_postgres_admin, name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(_postgres_admin: str, _postgres_template: str) -> Iterator[str]:
    name = f"gf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_postgres_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template}"'))
    yield _with_database(_postgres_admin, name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "test.sqlite"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")
