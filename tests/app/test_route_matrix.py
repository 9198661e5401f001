"""Authorization over every registered route (issue 14): role × route × own/other proposal, web and API, for
single-grant users and users holding several grants. Deny by default: a route's entry lists who gets through;
everyone else must be refused. The route list comes from ``app.url_map``, so a new route without an entry fails.

Verdicts: ``A`` got through (2xx, or a redirect other than to log in; never a 5xx), ``V`` reached the input checks
(400, 409, 413, 422: the probe sends empty forms), ``F`` refused (401, 403, or sent to log in), ``N`` not found
(404: out of scope, or the object is not theirs to know about). Each entry
maps a caller to two letters: on the own proposal (Đại Từ, owned by applicant_own) and on the other (Phú Bình).
Both are drafts, so only their own organisation reaches them (docs/privacy.md): officers' scope over submitted
files is held by tests/app/test_web_access.py and tests/api/test_api_access.py.
Routes without a proposal in them are probed once and carry one letter twice.
"""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from conftest import DISTRICT, OTHER_COMMUNE, OTHER_DISTRICT, PROVINCE, ROLES, World, login, tiny_pdf, token

from app.api.tokens import issue_token

# name -> (grants, organisation: "own", "other" or None)
MULTI: dict[str, tuple[list[tuple[str, str | None]], str | None]] = {
    "no_grants": ([], None),  # logged in, holding nothing: reaches only what every user may
    "applicant_other+district_own": ([("applicant", None), ("district_officer", DISTRICT)], "other"),
    "auditor+applicant_other": ([("auditor", PROVINCE), ("applicant", None)], "other"),
    "centre+council": ([("centre_officer", PROVINCE), ("council_member", PROVINCE)], None),
    "district_other+commune_other": ([("district_officer", OTHER_DISTRICT), ("commune_officer", OTHER_COMMUNE)],
                                     None),
}
CALLERS = [*ROLES, *MULTI]
PROPOSAL_ARGS = ("pid", "proposal_id")
ANY_ID = 1  # an object id for the other placeholders: most routes refuse before they look it up
FILL = {"aid": None, "user_id": None, "filename": "grantflow.css", "fmt": "csv", "kind": "quarterly",
        "trigger": "submit", "action": "close_registration"}  # submit: refused (the dossier is incomplete)


def _url(rule: Any, world: World, which: str) -> str:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        if arg in PROPOSAL_ARGS:
            values[arg] = (world.own if which == "own" else world.other).id
        elif arg == "aid":
            values[arg] = world.attachment_id
        elif arg == "user_id":
            values[arg] = world.users["applicant_own"].id
        elif arg == "kind" and "documents" in rule.rule:
            values[arg] = "contract"
        elif arg in FILL:
            values[arg] = FILL[arg]
        else:
            values[arg] = ANY_ID
    out = rule.rule
    for arg, value in values.items():
        out = __import__("re").sub(rf"<(?:[^:>]+:)?{arg}>", str(value), out)
    return out


def _verdict(response: Any) -> str:
    status, body = response.status_code, response.get_data(as_text=True)  # read: streamed CSV closes its context
    assert status < 500, (status, body[:300])
    location = response.headers.get("Location", "")
    if status in (401, 403) or (status == 302 and "/login" in location and "next=" in location):
        return "F"
    return {404: "N", 400: "V", 409: "V", 413: "V", 422: "V"}.get(status, "A")


def probe(world: World, client: Any, bearer: dict[str, str] | None, skip: frozenset[str] = frozenset()
          ) -> dict[str, str]:
    """caller's verdicts: endpoint -> two letters (own, other), for every route but those in ``skip``."""
    found: dict[str, str] = {}
    csrf = token(client)  # one per session: the probe logs out last
    rules = sorted(world.app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.endpoint))
    for rule in rules:
        if rule.endpoint in skip:
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        api = rule.rule.startswith("/api/")
        letters = ""
        for which in ("own", "other") if any(a in PROPOSAL_ARGS for a in rule.arguments) else ("own",):
            url = _url(rule, world, which)
            if api:
                headers = bearer or {}
                response = (client.get(url, headers=headers) if method == "GET"
                            else client.open(url, method=method, headers=headers, json={}))
            elif method == "GET":
                response = client.get(url)
            else:
                data = {"csrf_token": csrf}
                if rule.endpoint.endswith("upload"):
                    data.update(kind="quotes", file=(io.BytesIO(tiny_pdf()), "doc.pdf"))
                response = client.post(url, data=data, content_type="multipart/form-data")
            letters += _verdict(response)
        found[rule.endpoint] = letters if len(letters) == 2 else letters * 2
    return found


@pytest.fixture
def callers(world: World, make_user: Any, db: Any) -> dict[str, Any]:
    from app.models import Organisation

    users = dict(world.users)
    organisations = {"own": world.users["applicant_own"].organisation_id,
                     "other": world.users["applicant_other"].organisation_id}
    for index, (name, (grants, org)) in enumerate(MULTI.items()):
        users[name] = make_user(f"nhieu_quyen_{index}", grants,
                                organisation=db.get(Organisation, organisations[org]) if org else None)
    return users


def run_matrix(world: World, callers: dict[str, Any], db: Any, who: str) -> dict[str, str]:
    client = world.app.test_client()
    bearer = None
    if who != "anonymous":
        assert login(client, callers[who].username).status_code == 302
        bearer = {"Authorization": f"Bearer {issue_token(db, callers[who], 'matrix')}"}
        db.commit()
    # Public routes (static files, the schema document, health, login, language) answer everyone alike: probed
    # as anonymous and as a user without grants, not again for every role (the schema alone costs a dozen pages).
    skip = frozenset() if who in ("anonymous", "no_grants") else public_endpoints(world.app) - {"auth.logout"}
    return probe(world, client, bearer, skip)


def public_endpoints(app: Any) -> frozenset[str]:
    return frozenset(r.endpoint for r in app.url_map.iter_rules()
                     if getattr(app.view_functions[r.endpoint], "_access", None) == "public")


# endpoint -> {caller: verdicts on (own, other)}; a caller not named gets FF (deny by default).
EXPECTED: dict[str, dict[str, str]] = {
    "admin.add_grant": {"admin": "VV"},
    "admin.caps": {"admin": "AA"},
    "admin.correct_successor": {"admin": "VV"},
    "admin.index": {"admin": "AA"},
    "admin.reform": {"admin": "AA"},
    "admin.remove_grant": {"admin": "AA"},
    "admin.reset_password": {"admin": "VV"},
    "admin.revoke_token": {"admin": "NN"},
    "admin.set_active": {"admin": "VV"},
    "admin.units": {"admin": "AA"},
    "admin.user": {"admin": "AA"},
    "api.act": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "council": "NN", "applicant_other+district_own": "NV", "auditor+applicant_other": "NV",
        "district_other+commune_other": "NN", "no_grants": "NN", "centre": "NN", "director": "NN",
        "auditor": "NN", "admin": "NN", "centre+council": "NN",
    },
    "api.create": {
        "applicant_other": "VV", "applicant_own": "VV", "applicant_other+district_own": "VV",
        "auditor+applicant_other": "VV",
    },
    "api.get_proposal": {
        "applicant_other": "NA", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NA", "auditor+applicant_other": "NA", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.get_ranking": {
        "centre": "NN", "director": "NN", "auditor": "NN", "auditor+applicant_other": "NN",
        "centre+council": "NN",
    },
    "api.get_round": {
        "centre": "NN", "director": "NN", "auditor": "NN", "auditor+applicant_other": "NN",
        "centre+council": "NN",
    },
    "api.get_stages": {
        "applicant_other": "NA", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NA", "auditor+applicant_other": "NA", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.history": {
        "applicant_other": "NA", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NA", "auditor+applicant_other": "NA", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.latest_verify": {"auditor": "NN", "auditor+applicant_other": "NN"},
    "api.list_envelopes": {
        "centre": "AA", "director": "AA", "auditor": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA",
    },
    "api.list_proposals": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "api.list_rounds": {
        "centre": "AA", "director": "AA", "auditor": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA",
    },
    "api.openapi": {
        "anonymous": "AA", "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA",
        "district_other": "AA", "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA",
        "admin": "AA", "applicant_other+district_own": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA", "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "api.patch_proposal": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_advance": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_change": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_change_decision": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_decision_file": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "api.post_decisions": {
        "centre": "VV", "director": "VV", "auditor": "VV", "auditor+applicant_other": "VV",
        "centre+council": "VV",
    },
    "api.post_envelope": {"centre": "VV", "director": "VV", "centre+council": "VV"},
    "api.post_indicator": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_member": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_plan": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "api.post_priority": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_progress": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_progress_confirmation": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_recusal": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.post_round": {"centre": "VV", "director": "VV", "centre+council": "VV"},
    "api.post_round_action": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "api.post_round_envelope": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "api.post_sheet": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "api.report_dashboard": {
        "district_own": "AA", "district_other": "AA", "centre": "AA", "director": "AA", "auditor": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA",
    },
    "api.report_statutory": {
        "district_own": "AA", "district_other": "AA", "centre": "AA", "director": "AA", "auditor": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA",
    },
    "api.start_verify": {"auditor": "AA", "auditor+applicant_other": "AA"},
    "api.units": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "api.upload": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "council": "NN", "applicant_other+district_own": "NV", "auditor+applicant_other": "NV",
        "district_other+commune_other": "NN", "no_grants": "NN", "centre": "NN", "director": "NN",
        "auditor": "NN", "admin": "NN", "centre+council": "NN",
    },
    "api.verify_run": {"auditor": "AA", "auditor+applicant_other": "AA"},
    "audit.index": {"auditor": "AA", "auditor+applicant_other": "AA"},
    "audit.log_csv": {"auditor": "AA", "auditor+applicant_other": "AA"},
    "audit.proposal_history": {"auditor": "NN", "auditor+applicant_other": "NA"},
    "audit.proposal_history_csv": {"auditor": "NN", "auditor+applicant_other": "NA"},
    "audit.start_verification": {"auditor": "AA", "auditor+applicant_other": "AA"},
    "audit.verify_page": {"auditor": "AA", "auditor+applicant_other": "AA"},
    "auth.change_password": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "auth.language": {
        "anonymous": "VV", "applicant_other": "VV", "applicant_own": "VV", "district_own": "VV",
        "district_other": "VV", "centre": "VV", "council": "VV", "director": "VV", "auditor": "VV",
        "admin": "VV", "applicant_other+district_own": "VV", "auditor+applicant_other": "VV",
        "centre+council": "VV", "district_other+commune_other": "VV", "no_grants": "VV",
    },
    "auth.login": {
        "anonymous": "AA", "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA",
        "district_other": "AA", "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA",
        "admin": "AA", "applicant_other+district_own": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA", "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "auth.logout": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "council.assign": {"centre": "NN", "council": "NN", "centre+council": "NN"},
    "council.index": {"centre": "AA", "council": "AA", "centre+council": "AA"},
    "council.recuse": {"centre": "NN", "council": "NN", "centre+council": "NN"},
    "council.review": {"centre": "NN", "council": "NN", "centre+council": "NN"},
    "council.submit_sheet": {"centre": "NN", "council": "NN", "centre+council": "NN"},
    "funding.envelopes": {
        "centre": "AA", "director": "AA", "auditor": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA",
    },
    "funding.ranking": {
        "centre": "NN", "director": "NN", "auditor": "NN", "auditor+applicant_other": "NN",
        "centre+council": "NN",
    },
    "health.healthz": {
        "anonymous": "AA", "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA",
        "district_other": "AA", "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA",
        "admin": "AA", "applicant_other+district_own": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA", "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "implementation.advance": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "implementation.confirm_priority": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "implementation.confirm_progress": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "implementation.decide_change": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "implementation.indicator": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "implementation.progress": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "implementation.request_change": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "notifications.inbox": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "notifications.open_notice": {
        "applicant_other": "NN", "applicant_own": "NN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NN", "auditor+applicant_other": "NN", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "notifications.outbox_admin": {"admin": "AA"},
    "notifications.preferences": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "notifications.read_all": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "notifications.retry": {"admin": "NN"},
    "proposals.action": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "council": "NN", "applicant_other+district_own": "NV", "auditor+applicant_other": "NV",
        "district_other+commune_other": "NN", "no_grants": "NN", "centre": "NN", "director": "NN",
        "auditor": "NN", "admin": "NN", "centre+council": "NN",
    },
    "proposals.detail": {
        "applicant_other": "NA", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NA", "auditor+applicant_other": "NA", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "proposals.download": {
        "applicant_other": "NN", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NN", "auditor+applicant_other": "NN", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "proposals.edit": {
        "applicant_other": "NA", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "council": "NN", "applicant_other+district_own": "NA", "auditor+applicant_other": "NA",
        "district_other+commune_other": "NN", "no_grants": "NN", "centre": "NN", "director": "NN",
        "auditor": "NN", "admin": "NN", "centre+council": "NN",
    },
    "proposals.index": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "proposals.new": {
        "applicant_other": "AA", "applicant_own": "AA", "applicant_other+district_own": "AA",
        "auditor+applicant_other": "AA",
    },
    "proposals.remove": {
        "district_other": "NN", "applicant_other": "NN", "applicant_own": "AN", "centre": "NN",
        "district_own": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "no_grants": "NN", "applicant_other+district_own": "NN", "auditor+applicant_other": "NN",
        "centre+council": "NN", "district_other+commune_other": "NN",
    },
    "proposals.upload": {
        "applicant_other": "NA", "applicant_own": "AN", "district_own": "NN", "district_other": "NN",
        "council": "NN", "applicant_other+district_own": "NA", "auditor+applicant_other": "NA",
        "district_other+commune_other": "NN", "no_grants": "NN", "centre": "NN", "director": "NN",
        "auditor": "NN", "admin": "NN", "centre+council": "NN",
    },
    "reports.dashboard": {
        "district_own": "AA", "district_other": "AA", "centre": "AA", "director": "AA", "auditor": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA",
    },
    "reports.document": {
        "applicant_other": "NV", "applicant_own": "VN", "district_own": "NN", "district_other": "NN",
        "centre": "NN", "council": "NN", "director": "NN", "auditor": "NN", "admin": "NN",
        "applicant_other+district_own": "NV", "auditor+applicant_other": "NV", "centre+council": "NN",
        "district_other+commune_other": "NN", "no_grants": "NN",
    },
    "reports.export_funding": {
        "district_own": "AA", "district_other": "AA", "centre": "AA", "director": "AA", "auditor": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA",
    },
    "reports.export_proposals": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "reports.index": {
        "district_own": "AA", "district_other": "AA", "centre": "AA", "director": "AA", "auditor": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA",
    },
    "reports.report": {
        "district_own": "AA", "district_other": "AA", "centre": "AA", "director": "AA", "auditor": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA",
    },
    "review.home": {
        "anonymous": "AA", "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA",
        "district_other": "AA", "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA",
        "admin": "AA", "applicant_other+district_own": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA", "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "review.my_work": {
        "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA", "district_other": "AA",
        "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA", "admin": "AA",
        "applicant_other+district_own": "AA", "auditor+applicant_other": "AA", "centre+council": "AA",
        "district_other+commune_other": "AA", "no_grants": "AA",
    },
    "rounds.act": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "rounds.compile_plan": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "rounds.decision_file": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "rounds.detail": {
        "centre": "NN", "director": "NN", "auditor": "NN", "auditor+applicant_other": "NN",
        "centre+council": "NN",
    },
    "rounds.envelope": {"centre": "NN", "director": "NN", "centre+council": "NN"},
    "rounds.index": {
        "centre": "AA", "director": "AA", "auditor": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA",
    },
    "static": {
        "anonymous": "AA", "applicant_other": "AA", "applicant_own": "AA", "district_own": "AA",
        "district_other": "AA", "centre": "AA", "council": "AA", "director": "AA", "auditor": "AA",
        "admin": "AA", "applicant_other+district_own": "AA", "auditor+applicant_other": "AA",
        "centre+council": "AA", "district_other+commune_other": "AA", "no_grants": "AA",
    },
}



@pytest.mark.parametrize("who", CALLERS)
def test_every_route_as_every_caller(world: World, callers: dict[str, Any], db: Any, who: str) -> None:
    got = run_matrix(world, callers, db, who)
    routes = {r.endpoint for r in world.app.url_map.iter_rules()}
    missing = sorted(routes - set(EXPECTED))
    assert not missing, f"routes without an entry in the matrix (add one): {missing}"
    assert not sorted(set(EXPECTED) - routes), "entries for routes that no longer exist"
    assert len(got) >= len(routes) - len(public_endpoints(world.app))
    wrong = {e: (got[e], EXPECTED[e].get(who, "FF")) for e in got if got[e] != EXPECTED[e].get(who, "FF")}
    assert not wrong, f"{who}: endpoint -> (got, expected) {wrong}"


def test_read_only_and_grantless_callers_never_change_anything(app: Any) -> None:
    """Deny by default, read from the table: the auditor and a user without grants get through no route that
    only writes (POST/PATCH), but for their own session, notices, preferences and the auditor's verify run."""
    own_account = {"auth.language", "auth.logout", "auth.login", "auth.change_password", "notifications.read_all",
                   "notifications.preferences", "audit.start_verification", "api.start_verify"}
    writes = {r.endpoint for r in app.url_map.iter_rules() if "GET" not in r.methods} - own_account
    assert len(writes) > 30
    for who in ("auditor", "no_grants"):
        wrote = sorted(e for e in writes if "A" in EXPECTED[e].get(who, "FF"))
        assert not wrote, (who, wrote)


if os.environ.get("PRINT_ROUTE_MATRIX"):  # regenerate the table by hand, then read every line before keeping it
    @pytest.mark.parametrize("who", CALLERS)
    def test_print_matrix(world: World, callers: dict[str, Any], db: Any, who: str) -> None:
        got = run_matrix(world, callers, db, who)
        with open(os.environ["PRINT_ROUTE_MATRIX"], "a", encoding="utf-8") as out:
            out.write(repr((who, got)) + "\n")
