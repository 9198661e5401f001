"""Domain services of the later stages. Importing the package registers their action handlers."""

from app.stages import caps, council, evaluation, funding, implementation

__all__ = ["caps", "council", "evaluation", "funding", "implementation"]
