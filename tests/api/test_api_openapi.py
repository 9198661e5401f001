"""The OpenAPI document: complete (every API route is described) and true (schemathesis finds no 500 and no
response that contradicts it)."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.world import build_world
from app.api.spec import openapi_path
from app.proposals.schemas import action_models
from workflow.registry import Registry, default_registry


def test_every_api_route_is_in_the_spec(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) >= 9
    for rule in rules:
        assert hasattr(app.view_functions[rule.endpoint], "_openapi"), f"{rule.rule} has no @documented"
        path, _ = openapi_path(rule.rule)
        paths = ([path.replace("{trigger}", t) for t in action_models()] if "{trigger}" in path else [path])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for p in paths:
                assert (p, method.lower()) in documented, f"{method} {p} is missing from openapi.json"


def test_spec_schemas_come_from_the_models(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    create = schemas["ProposalCreate"]
    assert create["additionalProperties"] is False
    assert create["properties"]["total_cost"]["type"] == "integer"
    assert set(create["required"]) == {"title", "category", "sector", "year"}
    approve = schemas["ApproveFundingAction"]["properties"]
    assert {"approved_amount", "decision_number", "decision_date", "expected_version"} <= set(approve)
    assert spec["paths"]["/proposals"]["post"]["responses"]["201"]["headers"]["Location"]
    assert spec["paths"]["/openapi.json"]["get"]["security"] == []


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# The whole API as the three kinds of caller: one who files (and may write), the officer who decides, and the
# read-only auditor. Each generated case is sent as all three (generating costs more than calling), bounded to
# one case per operation and generation mode, derandomized: the same cases every run (issue 14).
THREE_ROLES = ("applicant_a", "centre", "auditor")
EXAMPLES = 1


def test_api_conforms_and_never_500s_as_three_roles(app, db, make_user, make_org, make_proposal):
    """Property-based, in process (WSGI), over every operation of /api/v1/openapi.json.

    Driven operation by operation with hypothesis directly: schemathesis' pytest plugin does not run on
    pytest 9 here."""
    world = build_world(db, make_user, make_org, make_proposal)
    db.rollback()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # the whole API, nothing left out (schemathesis skips the document it was loaded from)
    assert {op.path for op in operations} == client_paths(app) - {"/openapi.json"}
    assert len(operations) > 40

    statuses: dict[str, list[int]] = {who: [] for who in THREE_ROLES}
    auditor_wrote: list[tuple[str, int]] = []
    strategies = [op.as_strategy(generation_mode=mode) for op in operations for mode in GenerationMode]
    for strategy in strategies:  # schema-valid data, and data that breaks the schema on purpose
        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
        def run(case):
            for who in THREE_ROLES:
                status = case.call_and_validate(headers=world.headers(who), checks=CHECKS).status_code
                statuses[who].append(status)
                # starting a verification run (202) is the auditor's own read of the trail, not a change
                if who == "auditor" and status in (201, 202) and not case.operation.path.startswith("/audit/verify"):
                    auditor_wrote.append((case.operation.path, status))

        run()
    for who, seen in statuses.items():
        assert len(seen) >= len(strategies), who  # it really called the API, every operation in both modes
        assert any(s < 300 for s in seen) and any(400 <= s < 500 for s in seen), who
    assert not auditor_wrote  # read-only: it never created anything


def client_paths(app):
    return set(app.test_client().get("/api/v1/openapi.json").get_json()["paths"])


def test_action_models_follow_the_registry_they_are_built_from():
    permit = Registry.load([Path(__file__).parent.parent / "persistence" / "definitions"])
    assert sorted(action_models(permit)) == ["close", "grant"]
    assert "forward" in action_models() and action_models() is action_models(default_registry())


def test_the_description_is_built_once_per_app_on_first_request(app, client):
    assert "grantflow.openapi" not in app.extensions  # lazily: an application that never serves it never builds it
    first = client.get("/api/v1/openapi.json")
    kept = app.extensions["grantflow.openapi"]
    second = client.get("/api/v1/openapi.json")
    assert first.get_data() == kept == second.get_data() and app.extensions["grantflow.openapi"] is kept
    assert second.mimetype == "application/json" and second.get_json()["openapi"].startswith("3.1")
