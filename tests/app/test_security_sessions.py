"""Issue 14 part A: revocable sessions, API tokens, the security log, passwords, login, headers, request ids.

Each test here fails on the code before issue 14 (a captured cookie outlived logout, tokens never expired, …).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, World, _make_app, csrf_token, login, token
from sqlalchemy import select
from werkzeug import security as werkzeug_security

from app.api.tokens import token_digest
from app.models import ApiToken
from workflow.audit import AuditEvent

STRONG = "hoa-sen-no-giua-dong-2026"


def _session_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app: Any, cookie: str) -> Any:
    """A fresh client presenting a captured session cookie (what an attacker who copied it would do)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/my-work")


def _log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


@pytest.fixture
def logged(sqlite_url: str, tmp_path: Path) -> Any:
    app = _make_app(sqlite_url, tmp_path, SECURITY_LOG=str(tmp_path / "security.log"))
    yield app
    app.extensions["db_engine"].dispose()


# --- finding 4: sessions ------------------------------------------------------------------------------------

def test_a_captured_cookie_dies_with_logout(world: World) -> None:
    client = world.client("centre")
    cookie = _session_cookie(client)
    assert _replay(world.app, cookie).status_code == 200  # the copy works while the session lives
    assert client.post("/logout", data={"csrf_token": token(client)}).status_code == 302
    assert _replay(world.app, cookie).status_code == 302  # and not after logout


def test_password_reset_and_deactivation_end_sessions(world: World) -> None:
    victim = world.client("district_own")
    cookie = _session_cookie(victim)
    admin = world.client("admin")
    user_id = world.users["district_own"].id
    page = f"/admin/users/{user_id}"
    response = admin.post(f"{page}/password", data={"password": STRONG, "confirm": STRONG,
                                                    "csrf_token": csrf_token(admin, page)})
    assert response.status_code == 303
    assert _replay(world.app, cookie).status_code == 302
    assert victim.get("/my-work").status_code == 302

    other = world.client("district_other")
    response = admin.post(f"/admin/users/{world.users['district_other'].id}/active",
                          data={"active": "0", "csrf_token": token(admin)})
    assert response.status_code == 303
    assert other.get("/my-work").status_code == 302


def test_sessions_expire_when_idle_and_after_their_lifetime(world: World) -> None:
    assert world.app.permanent_session_lifetime <= dt.timedelta(hours=12)
    for clock in ("seen", "login_at"):
        client = world.client("centre")
        assert client.get("/my-work").status_code == 200
        with client.session_transaction() as session:
            session[clock] = int(time.time()) - 13 * 3600
        assert client.get("/my-work").status_code == 302, clock


def test_a_session_moved_to_another_browser_is_dropped(world: World) -> None:
    client = world.client("centre")
    cookie = _session_cookie(client)
    thief = world.app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/my-work", headers={"User-Agent": "curl/8.0"}).status_code == 302


def test_changing_my_password_ends_my_other_sessions_but_not_this_one(world: World) -> None:
    here, elsewhere = world.client("auditor"), world.client("auditor")
    page = "/account/password"
    weak = here.post(page, data={"current": PASSWORD, "password": "a", "confirm": "a",
                                 "csrf_token": csrf_token(here, page)})
    assert weak.status_code == 422 and "ít nhất 12 ký tự" in weak.get_data(as_text=True)
    wrong = here.post(page, data={"current": "sai", "password": STRONG, "confirm": STRONG,
                                  "csrf_token": csrf_token(here, page)})
    assert wrong.status_code == 422
    done = here.post(page, data={"current": PASSWORD, "password": STRONG, "confirm": STRONG,
                                 "csrf_token": csrf_token(here, page)})
    assert done.status_code == 303
    assert here.get("/my-work").status_code == 200
    assert elsewhere.get("/my-work").status_code == 302
    fresh = world.app.test_client()
    assert login(fresh, "thanhtra", STRONG).status_code == 302


# --- finding 5: API tokens ----------------------------------------------------------------------------------

def _issue(app: Any, username: str, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["create-token", username, *args])
    assert result.exit_code == 0 and result.output.startswith("gf_"), result.output
    return result.output.strip()


def _token_row(app: Any, token_value: str) -> ApiToken:
    with app.extensions["db_sessionmaker"]() as session:
        return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token_value)))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def test_tokens_are_hashed_expire_record_use_and_are_revoked_on_password_reset(world: World) -> None:
    app, user = world.app, world.users["centre"]
    live, expired = _issue(app, user.username, "--days", "7"), _issue(app, user.username, "--days", "1")
    with app.extensions["db_sessionmaker"]() as session:
        session.execute(ApiToken.__table__.update().where(ApiToken.token_hash == token_digest(expired))
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        session.commit()
        stored = session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id)).all()
    assert live not in stored and token_digest(live) in stored  # only the digest is kept
    api = app.test_client()
    assert api.get("/api/v1/proposals", headers={"Authorization": f"Bearer {live}"}).status_code == 200
    assert api.get("/api/v1/proposals", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    row = _token_row(app, live)
    assert row.last_used_at is not None
    assert dt.timedelta(days=6) < _aware(row.expires_at) - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)

    admin = world.client("admin")
    page = f"/admin/users/{user.id}"
    assert admin.post(f"{page}/password", data={"password": STRONG, "confirm": STRONG,
                                                "csrf_token": csrf_token(admin, page)}).status_code == 303
    assert api.get("/api/v1/proposals", headers={"Authorization": f"Bearer {live}"}).status_code == 401
    with app.extensions["db_sessionmaker"]() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "api_token",
                                                                  AuditEvent.subject_id == str(row.id))
                                  .order_by(AuditEvent.seq)).all()
    assert actions == ["token.issue", "token.revoke"]


def test_admin_page_and_command_line_revoke_tokens(world: World) -> None:
    app, user = world.app, world.users["director"]
    first, second = _issue(app, user.username), _issue(app, user.username)
    first_id = _token_row(app, first).id
    admin = world.client("admin")
    page = f"/admin/users/{user.id}"
    assert f'id="revoke-token-{first_id}"' in admin.get(page).get_data(as_text=True)
    assert admin.post(f"{page}/tokens/{first_id}/revoke",
                      data={"csrf_token": csrf_token(admin, page)}).status_code == 303
    api = app.test_client()
    assert api.get("/api/v1/proposals", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert api.get("/api/v1/proposals", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    result = app.test_cli_runner().invoke(args=["revoke-token", user.username, "--all"])
    assert result.exit_code == 0 and "Revoked 1 token" in result.output, result.output
    assert api.get("/api/v1/proposals", headers={"Authorization": f"Bearer {second}"}).status_code == 401


# --- finding 6 (part): the security log ---------------------------------------------------------------------

def test_authentication_events_and_denied_object_loads_are_logged(logged: Any, tmp_path: Path,
                                                                   make_user: Any, make_proposal: Any) -> None:
    owner = make_user("chu_co_so", "applicant", "05761")
    make_user("co_so_khac", "applicant", "05908")
    proposal = make_proposal(owner, version=1, year=2020)
    client = logged.test_client()
    assert login(client, "khong_co_ai", "sai-mat-khau").status_code == 401
    assert login(client, "co_so_khac", "sai-mat-khau").status_code == 401
    assert login(client, "co_so_khac").status_code == 302
    assert client.get(f"/proposals/{proposal.id}").status_code == 404
    assert client.post("/logout", data={"csrf_token": token(client)}).status_code == 302
    assert logged.test_client().get("/api/v1/proposals", headers={"Authorization": "Bearer gf_forged"}
                                    ).status_code == 401
    lines = _log_lines(tmp_path / "security.log")
    events = [(e["event"], e.get("username")) for e in lines]
    assert ("login_failed", "khong_co_ai") in events and ("login_failed", "co_so_khac") in events
    assert ("login", "co_so_khac") in events and ("logout", "co_so_khac") in events
    denied = next(e for e in lines if e["event"] == "access_denied")
    assert denied["status"] == 404 and denied["object"] == {"pid": proposal.id}
    assert denied["username"] == "co_so_khac" and denied["ip"] == "127.0.0.1" and denied["request_id"]
    assert any(e["event"] == "token_rejected" for e in lines)
    assert "sai-mat-khau" not in (tmp_path / "security.log").read_text(encoding="utf-8")


# --- finding 8: passwords, login timing, throttling -----------------------------------------------------------

def test_the_command_line_refuses_weak_passwords(app: Any) -> None:
    runner = app.test_cli_runner()
    for weak in ("a", "password1234", "qwertyuiop12"):
        result = runner.invoke(args=["create-user", "yeu", "--role", "auditor", "--unit", "19", "--password", weak])
        assert result.exit_code != 0 and "password" in result.output.lower(), (weak, result.output)
    ok = runner.invoke(args=["create-user", "manh", "--role", "auditor", "--unit", "19", "--password", STRONG])
    assert ok.exit_code == 0, ok.output


def test_admin_cannot_set_a_weak_password(world: World) -> None:
    admin = world.client("admin")
    page = f"/admin/users/{world.users['centre'].id}"
    response = admin.post(f"{page}/password", data={"password": "ttkc-ttkc-ttkc", "confirm": "ttkc-ttkc-ttkc",
                                                    "csrf_token": csrf_token(admin, page)})
    assert response.status_code == 422 and "quá dễ đoán" in response.get_data(as_text=True)


def test_unknown_and_known_users_cost_the_same_hash_computations(client: Any, make_user: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("can_bo", "centre_officer", "19")
    inactive = make_user("nghi_viec", "centre_officer", "19")
    calls: list[str] = []
    real = werkzeug_security.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr("app.models.users.check_password_hash", counting)
    from app.models.users import _dummy_hash
    _dummy_hash()  # made once per process, before anything is counted
    counts = {}
    for username in ("can_bo", "khong_ton_tai", "nghi_viec"):
        if username == "nghi_viec":
            inactive.is_active = False
        calls.clear()
        assert login(client, username, "sai-mat-khau-123").status_code == 401
        counts[username] = len(calls)
    assert counts == {"can_bo": 1, "khong_ton_tai": 1, "nghi_viec": 1}


def test_throttling_is_per_username_and_address(sqlite_url: str, tmp_path: Path, make_user: Any) -> None:
    app = _make_app(sqlite_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    target = f"u{uuid.uuid4().hex[:8]}"
    assert [login(client, target, "wrong").status_code for _ in range(4)] == [401, 401, 401, 429]
    assert login(client, f"x{target}", "wrong").status_code == 401  # another username is not locked out
    app.extensions["db_engine"].dispose()


def test_throttling_counts_are_shared_through_redis(sqlite_url: str, tmp_path: Path) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at 127.0.0.1:6379: {exc}")
    target = f"r{uuid.uuid4().hex[:8]}"
    settings = {"LOGIN_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    worker_a = _make_app(sqlite_url, tmp_path, **settings)
    assert [login(worker_a.test_client(), target, "wrong").status_code for _ in range(3)] == [401] * 3
    worker_b = _make_app(sqlite_url, tmp_path, **settings)  # a second worker: its own limiter storage, same Redis
    assert login(worker_b.test_client(), target, "wrong").status_code == 429
    keys = redis.Redis.from_url("redis://127.0.0.1:6379/0").keys(f"*{target}*")
    assert keys, "the counter lives in Redis"
    for app in (worker_a, worker_b):
        app.extensions["db_engine"].dispose()


def test_cr_lf_in_next_is_safe(client: Any, make_user: Any) -> None:
    make_user("can_bo", "centre_officer", "19")
    for target in ("/proposals\r\nSet-Cookie: x=1", "/\\evil.example", "/ok\n"):
        response = client.post("/login", data={"username": "can_bo", "password": PASSWORD, "next": target,
                                               "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 302 and response.headers["Location"] == "/my-work", target
        client.post("/logout", data={"csrf_token": token(client)})


# --- finding 8: headers, cookies, request ids ---------------------------------------------------------------

def test_pages_api_and_attachments_carry_csp_and_no_store(world: World) -> None:
    client = world.client("applicant_own")
    api = world.app.test_client()
    urls = [(client, "/my-work"), (client, f"/proposals/{world.own.id}"),
            (client, f"/proposals/{world.own.id}/attachments/{world.attachment_id}"), (api, "/api/v1/openapi.json"),
            (api, "/login")]
    for who, url in urls:
        response = who.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert "Server" not in response.headers
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        assert "<script>" not in body and " onclick=" not in body and "javascript:" not in body


def test_cookies_are_secure_by_default_outside_debug_and_testing(sqlite_url: str, tmp_path: Path,
                                                                 make_user: Any) -> None:
    make_user("can_bo", "centre_officer", "19")
    app = _make_app(sqlite_url, tmp_path, TESTING=False)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    response = client.get("/login", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["db_engine"].dispose()


def test_request_ids_are_sanitized_the_same_way_on_pages_and_api(world: World) -> None:
    hostile = "abc\u202edef<script>; DROP" + "x" * 100
    page = world.client("centre").get("/my-work", headers={"X-Request-Id": hostile})
    api = world.app.test_client().get("/api/v1/openapi.json", headers={"X-Request-Id": hostile})
    assert page.headers["X-Request-Id"] == api.headers["X-Request-Id"]
    assert page.headers["X-Request-Id"].startswith("abcdefscriptDROPx") and len(page.headers["X-Request-Id"]) == 64


def test_proxy_fix_is_off_by_default_and_configurable(sqlite_url: str, tmp_path: Path, make_user: Any) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    plain = _make_app(sqlite_url, tmp_path)
    behind = _make_app(sqlite_url, tmp_path, TRUSTED_PROXIES=1)
    assert not isinstance(plain.wsgi_app, ProxyFix) and isinstance(behind.wsgi_app, ProxyFix)
    for app in (plain, behind):
        app.extensions["db_engine"].dispose()


@pytest.mark.postgres
def test_the_app_warns_or_refuses_when_its_role_owns_the_audit_table(postgres_url: str, tmp_path: Path) -> None:
    # The test role (postgres) owns every table it migrated: exactly the layout docs/audit.md warns against.
    from app.models import RoleGrant, User

    warned = _make_app(postgres_url, tmp_path)
    assert "audit_event" in warned.config["DATABASE_ROLE_WARNING"]
    with warned.extensions["db_sessionmaker"]() as session:
        admin = User(username="quantri", full_name="Quản trị", grants=[RoleGrant(role="admin", unit_code="19")])
        admin.set_password(PASSWORD)
        session.add(admin)
        session.commit()
    client = warned.test_client()
    assert login(client, "quantri").status_code == 302
    assert 'id="database-role-warning"' in client.get("/admin/users").get_data(as_text=True)
    warned.extensions["db_engine"].dispose()
    with pytest.raises(RuntimeError, match="Refusing to start"):
        _make_app(postgres_url, tmp_path, AUDIT_OWNER_CHECK="refuse")
