"""Domain services of the later stages. Importing the package registers their action handlers and their
demo hook."""

from app.stages import caps, council, eligibility, evaluation, funding, implementation, priority, rounds
from app.stages import demo as _demo  # noqa: F401  (appends to app.demo.DEMO_HOOKS)

__all__ = ["caps", "council", "eligibility", "evaluation", "funding", "implementation", "priority", "rounds"]
