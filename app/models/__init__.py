"""Domain models. Import this package to register every mapped class."""

from app.models.notifications import Notification, NotificationDelivery, NotificationPreference
from app.models.proposals import CATEGORIES, ORGANISATION_KINDS, SECTORS, Attachment, Proposal
from app.models.reliability import IdempotencyKey, ProposalCodeCounter
from app.models.rounds import FUNDS, PlanRound
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
from app.models.units import Unit, UnitPeriod, UnitSuccessor
from app.models.users import ApiToken, Organisation, RoleGrant, User

__all__ = [
    "CATEGORIES", "ORGANISATION_KINDS", "SECTORS",
    "ApiToken", "Attachment", "Organisation", "Proposal", "RoleGrant", "Unit", "UnitPeriod", "UnitSuccessor", "User",
    "Advance", "BudgetEnvelope", "ChangeRequest", "CouncilMember", "Funding", "IndicatorValue", "ProgressReport",
    "ScoreSheet",
    "Notification", "NotificationDelivery", "NotificationPreference",
    "FUNDS", "PlanRound",
    "IdempotencyKey", "ProposalCodeCounter",
]
