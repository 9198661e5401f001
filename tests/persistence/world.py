"""Minimal units, organisations, actors and proposals for the persistence tests."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from app.models import Attachment, Organisation, Proposal, Unit
from workflow import operations
from workflow.permissions import Actor
from workflow.registry import default_registry

PROVINCE, DISTRICT, COMMUNE = "19", "171", "05830"
DOSSIER = ("business_registration", "quotes", "non_duplication")
_codes = itertools.count(1)


def applicant(org_id: int, user_id: str = "app1") -> Actor:
    return Actor.of(user_id, [("applicant", None)], owner_keys=[f"org:{org_id}"])


def officer(role: str, unit: str, user_id: str | None = None) -> Actor:
    return Actor.of(user_id or f"{role}-{unit}", [(role, unit)])


def seed_places(session: Session) -> Organisation:
    session.add_all([
        Unit(code=PROVINCE, name="Tỉnh Thái Nguyên", level="province"),
        Unit(code=DISTRICT, name="Huyện Đại Từ", level="district", parent_code=PROVINCE),
        Unit(code=COMMUNE, name="Xã Hùng Sơn", level="commune", parent_code=DISTRICT, district_code=DISTRICT),
    ])
    org = Organisation(name="Hợp tác xã chè Hùng Sơn", kind="cooperative", tax_code="4600000001",
                       commune_code=COMMUNE)
    session.add(org)
    session.flush()
    return org


def new_proposal(session: Session, org: Organisation, version: int = 1, **fields: Any) -> Proposal:
    """A draft with a complete dossier, created through ``operations.create``."""
    n = next(_codes)
    values: dict[str, Any] = {"code": f"KC-T-{n:05d}", "title": f"Máy sao chè {n}", "organisation_id": org.id,
                              "commune_code": COMMUNE, "district_code": DISTRICT, "province_code": PROVINCE,
                              "category": "machinery", "sector": "agro_processing", "year": 2024, **fields}
    proposal = Proposal(**values)
    operations.create(session, proposal, applicant(org.id), default_registry().get("khuyen-cong-local", version))
    for kind in DOSSIER:
        session.add(Attachment(proposal_id=proposal.id, kind=kind, original_name=f"{kind}.pdf",
                               stored_name=f"{n}-{kind}", content_type="application/pdf", size=1, sha256="0" * 64))
    session.flush()
    return proposal
