"""Login, CSRF, throttling, session fixation and cookie flags."""

from __future__ import annotations

from typing import Any

from conftest import PASSWORD, World, _make_app, csrf_token, login, token


def test_login_with_a_wrong_password_is_refused_in_vietnamese(client: Any, make_user: Any) -> None:
    make_user("can_bo", "centre_officer", "19")
    response = login(client, "can_bo", "sai-mat-khau")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)
    assert client.get("/my-work").status_code == 302  # still anonymous


def test_passwords_are_stored_hashed(db: Any, make_user: Any) -> None:
    user = make_user("can_bo", "centre_officer", "19")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_a_form_post_without_a_csrf_token_is_refused(world: World) -> None:
    client = world.client("applicant_own")
    response = client.post(f"/proposals/{world.own.id}/actions/withdraw", data={"reason": "Không làm nữa"})
    assert response.status_code == 400
    assert "mã bảo mật" in response.get_data(as_text=True)
    assert client.get(f"/proposals/{world.own.id}").status_code == 200
    anonymous = world.app.test_client()
    assert anonymous.post("/login", data={"username": "chu_co_so", "password": PASSWORD}).status_code == 400


def test_a_forged_csrf_token_is_refused(world: World) -> None:
    client = world.client("applicant_own")
    response = client.post(f"/proposals/{world.own.id}/actions/withdraw",
                           data={"reason": "Không làm nữa", "csrf_token": "forged"})
    assert response.status_code == 400
    body = client.get(f"/proposals/{world.own.id}").get_data(as_text=True)
    assert 'data-state="draft"' in body


def test_login_is_throttled(sqlite_url: str, tmp_path: Any, make_user: Any) -> None:
    app = _make_app(sqlite_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [login(client, "nobody", "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = login(client, "nobody", "wrong")
    assert response.status_code == 429
    assert "Quá nhiều lần thử" in response.get_data(as_text=True)
    app.extensions["db_engine"].dispose()


def test_session_is_cleared_on_login_and_cookies_are_httponly_samesite(client: Any, make_user: Any) -> None:
    make_user("can_bo", "centre_officer", "19")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    token_value = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "can_bo", "password": PASSWORD, "csrf_token": token_value})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_logout_ends_the_session(world: World) -> None:
    client = world.client("centre")
    assert client.post("/logout", data={"csrf_token": token(client)}).status_code == 302
    assert client.get("/my-work").status_code == 302


def test_login_redirects_only_to_local_pages(client: Any, make_user: Any) -> None:
    make_user("can_bo", "centre_officer", "19")
    token_value = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "can_bo", "password": PASSWORD, "csrf_token": token_value,
                                           "next": "https://evil.example/"})
    assert response.headers["Location"] == "/my-work"


def test_unknown_page_is_a_friendly_404_and_api_paths_get_json(client: Any) -> None:
    page = client.get("/khong-ton-tai")
    assert page.status_code == 404 and "Không tìm thấy" in page.get_data(as_text=True)
    api = client.get("/api/khong-ton-tai")
    assert api.status_code in (401, 404)
    assert set(api.get_json()) >= {"error", "reasons"}


def test_wrong_method_is_405(client: Any) -> None:
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_bad_input_is_a_4xx_never_a_500(world: World) -> None:
    client = world.client("applicant_own")
    for url in ("/proposals?page=abc&year=x&state=%00", f"/proposals/{world.own.id}/actions/no_such_action",
                "/proposals/999999", f"/proposals/{world.own.id}/attachments/999999"):
        assert 400 <= client.get(url).status_code < 500, url
    response = client.post("/proposals/new", data={"title": "A\x00B", "csrf_token": token(client)})
    assert response.status_code == 400 and "ký tự không được phép" in response.get_data(as_text=True)
    huge = client.post("/proposals/new", data={
        "title": "Đề án", "commune_code": "05830", "category": "machinery", "sector": "agro_processing",
        "year": "2027", "total_cost": "9" * 30, "requested_support": "1", "counterpart_funds": "1",
        "duration_months": "12", "expected_jobs": "1", "csrf_token": token(client)})
    assert huge.status_code == 422 and "Không được lớn hơn 10000000000000" in huge.get_data(as_text=True)  # the service's limit
