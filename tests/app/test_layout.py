"""The areas register only through create_app (app/areas.py): importing their modules changes nothing shared.
The engine's guards are the ones its table lists: defining a guard registers nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Blueprint

from app import create_app, permissions
from app.access import PERMISSIONS, check_views, register_permissions, requires
from workflow import guards

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, tempfile
import app.council.api, app.council.views, app.funding.api, app.funding.services, app.funding.views
import app.implementation.api, app.implementation.evaluation, app.implementation.views, app.notifications.outbox
import app.notifications.views, app.proposals.api, app.reports.api, app.rounds.api, app.rounds.views
import app.auth.views, app.admin.views, app.audit.views, app.reports.views, app.permissions
from app import actions
from app.access import PERMISSIONS
from app.models.stages import StageFacts
from workflow import operations

before = [sorted(actions.HANDLERS), sorted(actions.OPTIONAL_INPUTS), len(operations._APPLIED_LISTENERS),
          StageFacts._source is None, sorted(PERMISSIONS)]
from app import create_app

with tempfile.TemporaryDirectory() as tmp:
    application = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
                              "UPLOAD_DIR": tmp})
after = [sorted(actions.HANDLERS), sorted(actions.OPTIONAL_INPUTS), len(operations._APPLIED_LISTENERS),
         StageFacts._source is None, sorted(PERMISSIONS)]
endpoints = sorted(e for e in application.view_functions if e.startswith("api."))
nav = [link[0] for link in application.extensions["grantflow.nav"]]
print(json.dumps({"before": before, "after": after, "endpoints": endpoints, "nav": nav}))
"""


def test_importing_areas_registers_nothing_and_create_app_registers_them_all() -> None:
    import json

    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["before"] == [[], [], 0, True, []]
    handlers, optional, listeners, no_facts, permissions = found["after"]
    assert handlers == ["accept", "approve_funding", "evaluate", "settle", "sign_contract", "terminate"]
    assert optional == ["approve_funding"] and listeners == 1 and no_facts is False
    assert permissions == ["admin", "applicant", "auditor", "council", "funding_manage", "funding_view", "logged_in",
                           "reports"]
    for endpoint in ("api.openapi", "api.create", "api.get_stages", "api.post_member", "api.list_envelopes",
                     "api.post_progress", "api.list_rounds", "api.start_verify", "api.report_dashboard"):
        assert endpoint in found["endpoints"]
    assert found["nav"][:4] == ["audit.index", "admin.index", "notifications.outbox_admin", "council.index"]


def test_a_view_requiring_an_unknown_permission_fails_create_app(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
                      "UPLOAD_DIR": str(tmp_path)})
    check_views(app)  # every shipped view names a registered permission
    stray = Blueprint("stray", __name__)
    stray.add_url_rule("/stray", view_func=requires("no_such_permission")(lambda: "x"))
    app.register_blueprint(stray)
    with pytest.raises(LookupError, match="stray.<lambda> requires unknown permission 'no_such_permission'"):
        check_views(app)


def test_a_permission_name_holds_one_predicate() -> None:
    register_permissions({"admin": permissions.admin})  # the same again, as every create_app does: no-op
    with pytest.raises(ValueError, match="permission 'admin' registered twice"):
        register_permissions({"admin": permissions.auditor})
    assert PERMISSIONS["admin"] is permissions.admin  # the first registration stands


def test_the_guard_table_is_the_registry_and_defining_a_guard_registers_nothing() -> None:
    @guards.guard("defined_in_a_test", {"vi": "x", "en": "x"})
    def defined_in_a_test(ctx: guards.GuardContext) -> guards.GuardOutcome:
        return True

    assert guards.get("defined_in_a_test") is None and defined_in_a_test.name == "defined_in_a_test"
    names = [g.name for g in guards.GUARDS]
    assert sorted(guards.REGISTRY) == sorted(names) and len(names) == len(set(names))
    assert all(guards.get(name) is g for name, g in zip(names, guards.GUARDS, strict=True))


def test_a_guard_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="guard 'no_veto' is registered twice"):
        guards._registry([guards.no_veto, guards.guard("no_veto", {"vi": "x", "en": "x"})(lambda ctx: True)])
