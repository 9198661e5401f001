"""The services that answer the stage guards' facts (``app.models.stages.StageFacts``), handed to the models by
``create_app`` (``StageFacts.use``) so that the model layer never imports the services."""

from app.common.caps import cap_problem
from app.council.services import council_result
from app.funding.services import budget_problem
from app.implementation.evaluation import recorded_indicators
from app.implementation.services import acceptance_kinds_required, progress_percent
from app.proposals.eligibility import eligibility_problem
from app.rounds.services import round_problem

__all__ = ["acceptance_kinds_required", "budget_problem", "cap_problem", "council_result", "eligibility_problem",
           "progress_percent", "recorded_indicators", "round_problem"]
