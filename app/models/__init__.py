"""Domain models. Import this package to register every mapped class."""

from app.models.proposals import CATEGORIES, ORGANISATION_KINDS, SECTORS, Attachment, Proposal
from app.models.reliability import IdempotencyKey, ProposalCodeCounter
from app.models.stages import (
    Advance,
    BudgetEnvelope,
    ChangeRequest,
    CouncilMember,
    Funding,
    IndicatorValue,
    ProgressReport,
    ScoreSheet,
)
from app.models.units import Unit
from app.models.users import ApiToken, Organisation, RoleGrant, User

__all__ = [
    "CATEGORIES", "ORGANISATION_KINDS", "SECTORS",
    "ApiToken", "Attachment", "Organisation", "Proposal", "RoleGrant", "Unit", "User",
    "Advance", "BudgetEnvelope", "ChangeRequest", "CouncilMember", "Funding", "IndicatorValue", "ProgressReport",
    "ScoreSheet",
    "IdempotencyKey", "ProposalCodeCounter",
]
