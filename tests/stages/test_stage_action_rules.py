"""One verdict per payload, whichever front end: the same stage-action payloads through the web forms and the
JSON API give the same answer, and who-and-when (403 role, 409 state) comes before the inputs (422)."""

from __future__ import annotations

from typing import Any

from conftest import csrf_token, login

from app.api.tokens import issue_token

# (who, endpoint, web form, API body, verdict): run in this order on one proposal per front end.
CASES: list[tuple[str, str, dict[str, str], dict[str, Any], str]] = [
    ("director", "progress", {}, {}, "403"),  # no role: refused before the missing percent is noticed
    ("applicant", "progress", {}, {}, "422"),
    ("applicant", "progress", {"percent": "150"}, {"percent": 150}, "422"),
    ("applicant", "progress", {"percent": "40", "period": "2026-03"}, {"percent": 40, "period": "2026-03"}, "ok"),
    ("applicant", "progress", {"percent": "50", "period": "2026-03"}, {"percent": 50, "period": "2026-03"}, "422"),
    ("applicant", "advances", {}, {}, "403"),
    ("officer", "advances", {}, {}, "422"),
    ("director", "changes", {"kind": "nonsense"}, {"kind": "nonsense"}, "403"),
    ("applicant", "changes", {"kind": "content", "value": "Thêm 2 lớp", "reason": "Nhu cầu tăng"},
     {"kind": "content", "value": "Thêm 2 lớp", "reason": "Nhu cầu tăng"}, "ok"),
    ("applicant", "indicators", {}, {}, "403"),
    ("officer", "priority", {}, {}, "409"),  # confirm_priority is not taken while implementing
]
OK = {200, 303}


def _verdict(status: int) -> str:
    return "ok" if status in OK else str(status)


def test_web_and_api_give_the_same_verdicts(app, db, people, walk, make_proposal):
    by_web, by_api = (walk.to_implementing(make_proposal(people.applicant)) for _ in range(2))
    users = {"applicant": people.applicant, "officer": people.officer, "director": people.director}
    web_clients: dict[str, Any] = {}
    tokens = {who: issue_token(db, user, "tests") for who, user in users.items()}
    db.commit()

    def web(who: str, endpoint: str, form: dict[str, str]) -> str:
        if who not in web_clients:
            web_clients[who] = app.test_client()
            login(web_clients[who], users[who].username)
        client = web_clients[who]
        token = csrf_token(client, f"/proposals/{by_web.id}")
        return _verdict(client.post(f"/implementation/{by_web.id}/{endpoint}",
                                    data={**form, "csrf_token": token}).status_code)

    def api(who: str, endpoint: str, body: dict[str, Any]) -> str:
        answer = app.test_client().post(f"/api/v1/proposals/{by_api.id}/{endpoint}", json=body,
                                        headers={"Authorization": f"Bearer {tokens[who]}"})
        return _verdict(answer.status_code)

    web_verdicts = [web(who, endpoint, form) for who, endpoint, form, _body, _v in CASES]
    api_verdicts = [api(who, endpoint, body) for who, endpoint, _form, body, _v in CASES]
    expected = [verdict for *_rest, verdict in CASES]
    assert web_verdicts == api_verdicts == expected
