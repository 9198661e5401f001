"""Typed errors raised by the engine. Each carries what a caller needs to answer a user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.explain import Explanation, Reason


@dataclass(frozen=True)
class Problem:
    """One finding about a definition file, printed as ``FILE:LINE: severity: message``."""

    path: str
    line: int | None
    message: str
    severity: str = "error"  # "error" | "warning"
    code: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


class WorkflowError(Exception):
    """Base class of every error the engine raises on purpose."""


class DefinitionError(WorkflowError):
    """A definition file did not load or did not verify; ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownWorkflow(WorkflowError):
    """No loaded definition matches the requested (workflow, version)."""


@dataclass
class Refused(WorkflowError):
    """The actor may not fire the trigger now; ``explanation`` holds every reason."""

    explanation: Explanation

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    @property
    def reasons(self) -> list[Reason]:
        return self.explanation.reasons

    @property
    def kind(self) -> str:
        """The most fundamental reason class: 'state' > 'permission' > 'guard'."""
        codes = {r.code for r in self.reasons}
        if codes & {"state", "unknown_trigger"}:
            return "state"
        if codes & {"role", "scope", "separation", "read_only", "edit"}:
            return "permission"
        return "guard"

    def __str__(self) -> str:
        return "; ".join(r.message["en"] for r in self.reasons) or "refused"


@dataclass
class Conflict(WorkflowError):
    """Someone else changed the subject first (stale version, or it already moved)."""

    message: dict[str, str]
    current_version: int | None = None
    current_state: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message["en"])


@dataclass
class InvalidInput(WorkflowError):
    """Required inputs are missing or malformed. ``errors`` maps input name to a bilingual message."""

    errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__("; ".join(f"{k}: {v['en']}" for k, v in self.errors.items()))


class DefinitionChanged(WorkflowError):
    """A subject's pinned sha256 differs from the loaded definition of the same (workflow, version):
    the file was edited without a new version. Nothing may run until that is fixed."""
