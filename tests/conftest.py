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
    return os.environ[PG_ENV]


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


# =====================================================================================================
# App fixtures (issue 4). Real app, real database, real HTTP through Flask's test client.
#
# - ``app``: create_app() on a fresh migrated SQLite file (``pg_app``: same on PostgreSQL), CSRF enabled,
#   uploads in a temp dir, the Thái Nguyên units loaded.
# - ``client``: app.test_client().
# - ``db``: a SQLAlchemy session on the app's database (no app context needed). Helpers commit, so what
#   they create is visible to requests. On SQLite every transaction takes the write lock (BEGIN IMMEDIATE):
#   after reading with ``db``, call db.commit()/db.rollback() before making a request.
# - ``make_user(username, role, unit_code=None, organisation=None, password=PASSWORD)`` -> User; ``role``
#   may be None (no grant) or a list of (role, unit_code) pairs. Applicants with no organisation get one.
# - ``make_org(name=..., kind="cooperative", tax_code=None, commune_code="05830")`` -> Organisation.
# - ``make_proposal(owner, commune_code=None, version=None, **fields)`` -> Proposal (a draft through
#   workflow.operations.create; owner is an applicant User or an Organisation; version pins v1 or v2,
#   default by year: before 2025 v1 district review, else v2 commune review).
# - ``login(client, username, password=PASSWORD)`` -> response; fetches the CSRF token from the login form.
# - ``csrf_token(client, url)`` -> the token in the form on that page (for form posts).
#   ``login`` and ``csrf_token`` are plain functions: ``from conftest import login, csrf_token``.
# - ``seed_units(db)``: loads the units (already done by ``app``).
# - ``world``: users of every role (ROLES) in Đại Từ and Phú Bình, a v1 draft in each (``world.own`` belongs
#   to ``applicant_own``), one attachment on ``world.own``; ``world.client(role)`` is a logged-in client.
#   Helpers: ``token(client)`` (the session's CSRF token), ``attach(app, db, proposal, user, kinds)``,
#   ``tiny_pdf(text)``.
# - ``DISTRICT``/``OTHER_DISTRICT``, ``COMMUNE``/``OTHER_COMMUNE``: Đại Từ (171; post-reform xã Đại Từ 05830) and Phú Bình
#   (173, Hương Sơn 05908).
# =====================================================================================================

import io  # noqa: E402
import itertools  # noqa: E402
import re  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import lru_cache  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import select  # noqa: E402

PASSWORD = "matkhau-demo"
PROVINCE = "19"
DISTRICT, OTHER_DISTRICT = "171", "173"
COMMUNE, OTHER_COMMUNE = "05830", "05908"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@lru_cache(maxsize=8)
def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)  # hashed once per password: scrypt is slow on purpose


def _make_app(url: str, tmp_path: Path, **overrides: Any) -> Any:
    from app import create_app
    from app.units_data import seed_units as _seed

    config = {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
              "UPLOAD_DIR": str(tmp_path / "uploads"), "WTF_CSRF_ENABLED": True, **overrides}
    application = create_app(config)
    with application.extensions["db_sessionmaker"]() as session:
        _seed(session)
        session.commit()
    return application


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[Any]:
    application = _make_app(sqlite_url, tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[Any]:
    application = _make_app(postgres_url, tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    with app.extensions["db_sessionmaker"]() as session:
        yield session


@pytest.fixture
def seed_units() -> Callable[[Any], int]:
    from app.units_data import seed_units as _seed

    def run(session: Any) -> int:
        added = _seed(session)
        session.commit()
        return added

    return run


@pytest.fixture
def make_org(db: Any) -> Callable[..., Any]:
    from app.models import Organisation

    counter = itertools.count(1)

    def make(name: str | None = None, kind: str = "cooperative", tax_code: str | None = None,
             commune_code: str = COMMUNE) -> Any:
        n = next(counter)
        org = Organisation(name=name or f"Hợp tác xã chè thử nghiệm {n}", kind=kind,
                           tax_code=tax_code or f"46000{n:05d}", commune_code=commune_code)
        db.add(org)
        db.commit()
        return org

    return make


@pytest.fixture
def make_user(db: Any, make_org: Callable[..., Any]) -> Callable[..., Any]:
    from app.models import RoleGrant, User

    def make(username: str, role: str | list[tuple[str, str | None]] | None = None,
             unit_code: str | None = None, organisation: Any = None, password: str = PASSWORD,
             language: str = "vi") -> Any:
        grants = role if isinstance(role, list) else ([(role, unit_code)] if role else [])
        if any(r == "applicant" for r, _ in grants) and organisation is None:
            organisation = make_org(commune_code=unit_code or COMMUNE)
        user = User(username=username, full_name=username.replace("_", " ").title(), password_hash=_hash(password),
                    organisation_id=organisation.id if organisation is not None else None, language=language)
        user.grants = [RoleGrant(role=r, unit_code=None if r == "applicant" else u) for r, u in grants]
        db.add(user)
        db.commit()
        return user

    return make


@pytest.fixture
def make_proposal(db: Any, make_user: Callable[..., Any]) -> Callable[..., Any]:
    from app.models import Organisation, User
    from app.proposals.services import create_proposal
    from workflow.registry import default_registry

    counter = itertools.count(1)

    def make(owner: Any, commune_code: str | None = None, version: int | None = None, **fields: Any) -> Any:
        if isinstance(owner, Organisation):
            user = db.scalar(select(User).where(User.organisation_id == owner.id)) or make_user(
                f"applicant_org{owner.id}", "applicant", organisation=owner)
        else:
            user = db.get(User, owner.id)
        n = next(counter)
        values = {"title": f"Đầu tư máy sao chè thử nghiệm {n}", "category": "machinery",
                  "sector": "agro_processing", "year": 2026, "total_cost": 400_000_000,
                  "requested_support": 190_000_000, "counterpart_funds": 210_000_000,
                  "duration_months": 12, "objectives": "Nâng cao năng suất chế biến chè",
                  "expected_results": "Tăng sản lượng 30 %", "expected_jobs": 5, **fields}
        values["commune_code"] = commune_code or user.organisation.commune_code
        if "counterpart_funds" not in fields:  # support + counterpart = total (the service's rule)
            values["counterpart_funds"] = values["total_cost"] - values["requested_support"]
        # a version is asked for by its first day: the lifecycle follows the creation date
        created_on = default_registry().get("khuyen-cong-local", version).definition.effective_from if version else None
        proposal = create_proposal(db, user, values, province_code=PROVINCE, created_on=created_on)
        db.commit()
        return proposal

    return make


def csrf_token(client: Any, url: str) -> str:
    page = client.get(url)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in the form at {url} (status {page.status_code})"
    return match.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


APPEND_ONLY = ("audit_event_no_update", "audit_event_no_delete")


def lift_trail_guards(conn: Any, triggers: tuple[str, ...] = APPEND_ONLY) -> None:
    """What an attacker with the table owner's rights does to change rows behind their bodies: drop the
    append-only triggers and, on PostgreSQL, the row check (0022), so verify goes back to checking each row."""
    from workflow.audit import ROW_CHECK

    postgres = conn.dialect.name == "postgresql"
    for name in triggers:
        conn.execute(text(f"DROP TRIGGER {name}{' ON audit_event' if postgres else ''}"))
    if postgres:
        conn.execute(text(f"ALTER TABLE audit_event DROP CONSTRAINT {ROW_CHECK}"))


def verified_through_api(client: Any, headers: dict[str, str], timeout: float = 30.0) -> dict[str, Any]:
    """Start a verification run through the API (202 and a status URL), then follow it until it has ended."""
    import time

    started = client.post("/api/v1/audit/verify", headers=headers)
    assert started.status_code == 202, started.get_json()
    status_url = started.headers["Location"]
    assert status_url == started.get_json()["status_url"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(status_url, headers=headers).get_json()
        if body["finished"]:
            assert not body["running"] and body["error"] is None, body
            return body
        time.sleep(0.05)
    raise AssertionError(f"the verification run at {status_url} did not end within {timeout} s")


DOSSIER = ("business_registration", "quotes", "non_duplication")
ROLES = ("anonymous", "applicant_own", "applicant_other", "district_own", "district_other", "centre", "council",
         "director", "auditor", "admin")


def tiny_pdf(text: str = "GrantFlow") -> bytes:
    from app.demo import demo_pdf

    return demo_pdf(text)


def token(client: Any) -> str:
    """The session's CSRF token, read from a page with a form (every page has the language form)."""
    page = client.get("/login", follow_redirects=True)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def attach(app: Any, db: Any, proposal: Any, user: Any, kinds: tuple[str, ...] = DOSSIER) -> None:
    """Store real PDF files and attach them through the audited path (as the upload page does)."""
    from app.models import Attachment
    from app.proposals.services import add_attachment
    from app.uploads import store

    actor = user.actor()
    for kind in kinds:
        with app.app_context():
            stored, mime, size, digest = store(io.BytesIO(tiny_pdf(kind)))
        attachment = Attachment(kind=kind, original_name=f"{kind}.pdf", stored_name=stored, content_type=mime,
                                size=size, sha256=digest)
        add_attachment(db, proposal, actor, attachment)
    db.commit()


@dataclass
class World:
    app: Any
    users: dict[str, Any]
    own: Any  # v1 draft in Đại Từ, owned by applicant_own's organisation
    other: Any  # v1 draft in Phú Bình, owned by applicant_other's organisation
    attachment_id: int

    def client(self, role: str) -> Any:
        client = self.app.test_client()
        if role != "anonymous":
            response = login(client, self.users[role].username)
            assert response.status_code == 302, response.get_data(as_text=True)
        return client


@pytest.fixture
def world(app: Any, db: Any, make_user: Any, make_org: Any, make_proposal: Any) -> World:
    users = {
        "applicant_own": make_user("chu_co_so", "applicant", COMMUNE,
                                   organisation=make_org("Hợp tác xã chè La Bằng", commune_code=COMMUNE)),
        "applicant_other": make_user("co_so_khac", "applicant", OTHER_COMMUNE,
                                     organisation=make_org("Cơ sở cơ khí Đào Xá", commune_code=OTHER_COMMUNE)),
        "district_own": make_user("pkt_daitu", "district_officer", DISTRICT),
        "district_other": make_user("pkt_phubinh", "district_officer", OTHER_DISTRICT),
        "centre": make_user("ttkc", "centre_officer", PROVINCE),
        "council": make_user("hoidong", "council_member", PROVINCE),
        "director": make_user("giamdoc", "director", PROVINCE),
        "auditor": make_user("thanhtra", "auditor", PROVINCE),
        "admin": make_user("quantri", "admin", PROVINCE),
    }
    own = make_proposal(users["applicant_own"], version=1, year=2020, title="Máy sao chè Đại Từ")
    other = make_proposal(users["applicant_other"], version=1, year=2020, title="Máy tiện CNC Phú Bình")
    attach(app, db, own, users["applicant_own"], ("quotes",))
    attachment_id = own.attachments[0].id
    return World(app, users, own, other, attachment_id)
