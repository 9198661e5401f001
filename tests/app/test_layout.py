"""The areas register only through create_app (app/areas.py): importing their modules changes nothing shared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, tempfile
import app.council.api, app.council.views, app.funding.api, app.funding.services, app.funding.views
import app.implementation.api, app.implementation.evaluation, app.implementation.views, app.notifications.outbox
import app.notifications.views, app.proposals.api, app.reports.api, app.rounds.api, app.rounds.views
from app import actions
from app.models.stages import StageFacts
from workflow import operations

before = [sorted(actions.HANDLERS), sorted(actions.OPTIONAL_INPUTS), len(operations._APPLIED_LISTENERS),
          StageFacts._source is None]
from app import create_app

with tempfile.TemporaryDirectory() as tmp:
    application = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
                              "UPLOAD_DIR": tmp})
after = [sorted(actions.HANDLERS), sorted(actions.OPTIONAL_INPUTS), len(operations._APPLIED_LISTENERS),
         StageFacts._source is None]
endpoints = sorted(e for e in application.view_functions if e.startswith("api."))
nav = [link[0] for link in application.extensions["grantflow.nav"]]
print(json.dumps({"before": before, "after": after, "endpoints": endpoints, "nav": nav}))
"""


def test_importing_areas_registers_nothing_and_create_app_registers_them_all() -> None:
    import json

    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["before"] == [[], [], 0, True]
    handlers, optional, listeners, no_facts = found["after"]
    assert handlers == ["accept", "approve_funding", "evaluate", "settle", "sign_contract", "terminate"]
    assert optional == ["approve_funding"] and listeners == 1 and no_facts is False
    for endpoint in ("api.openapi", "api.create", "api.get_stages", "api.post_member", "api.list_envelopes",
                     "api.post_progress", "api.list_rounds", "api.start_verify", "api.report_dashboard"):
        assert endpoint in found["endpoints"]
    assert found["nav"][:4] == ["audit.index", "admin.index", "notifications.outbox_admin", "council.index"]
