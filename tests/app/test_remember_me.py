"""Issue 14: remember-me is disabled. A login lasts as long as its server-checked session; no remember cookie
is ever issued, and a ``remember_token`` cookie (garbage or validly signed) never logs anyone in."""

from __future__ import annotations

from typing import Any

from conftest import World, login, token
from flask_login.utils import encode_cookie


def _set_cookies(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_no_remember_cookie_is_ever_issued(world: World) -> None:
    assert not [k for k in world.app.config if k.startswith("REMEMBER_COOKIE")]
    client = world.app.test_client()
    seen = []
    response = login(client, world.users["centre"].username)
    assert response.status_code == 302
    seen += _set_cookies(response)
    # A form asking for it changes nothing: there is no remember-me.
    client2 = world.app.test_client()
    response = client2.post("/login", data={"username": world.users["admin"].username, "password": "x" * 20,
                                            "remember": "y", "csrf_token": token(client2)})
    seen += _set_cookies(response)
    seen += _set_cookies(client.get("/my-work"))
    seen += _set_cookies(client.post("/logout", data={"csrf_token": token(client)}))
    assert seen and not [c for c in seen if c.startswith("remember_token=") and "Expires=Thu, 01 Jan 1970" not in c]
    assert client.get_cookie("remember_token") is None


def test_a_signed_remember_cookie_does_not_log_anyone_in(world: World) -> None:
    user = world.users["centre"]
    with world.app.test_request_context():
        signed = encode_cookie(str(user.id))  # signed with the app's own secret: the strongest forgery
    for cookie in (signed, f"{user.id}|{'0' * 128}", "garbage"):
        thief = world.app.test_client()
        thief.set_cookie("remember_token", cookie)
        # Even with the session stamped with the user's current generation, the cookie is not a login.
        with thief.session_transaction() as sess:
            sess["gen"] = user.session_generation or 0
        response = thief.get("/my-work")
        assert response.status_code == 302 and "/login" in response.headers["Location"], cookie
        assert thief.get("/api/v1/proposals").status_code == 401
