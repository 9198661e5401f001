"""The audit area's API: recompute the chains (auditors only)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.access import requires
from app.api.routes import Routes
from app.api.spec import documented
from app.audit.log import verify as verify_audit
from app.extensions import db_session
from app.proposals.schemas import VerifyOut

routes = Routes()


@routes.get("/audit/verify")
@documented("Recompute every audit chain and checkpoint (auditors only)", response=VerifyOut, errors=(401, 403))
@requires("auditor")
def verify() -> Any:
    result = verify_audit(db_session())
    out = VerifyOut(ok=result.ok, count=result.count, head_digest=result.head_digest,
                    problems=[str(p) for p in result.problems])
    return jsonify(out.model_dump(mode="json"))
