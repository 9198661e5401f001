"""The answer to "may this actor fire this trigger now, and if not, why not"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.permissions import Grant

# Reason codes, from the most fundamental to the least.
STATE, UNKNOWN_TRIGGER = "state", "unknown_trigger"
ROLE, SCOPE, SEPARATION, READ_ONLY, EDIT = "role", "scope", "separation", "read_only", "edit"
GUARD = "guard"


@dataclass(frozen=True)
class Reason:
    code: str
    message: dict[str, str]
    subject: str = ""  # the role, guard, trigger or state named by the reason

    def text(self, lang: str = "vi") -> str:
        return self.message.get(lang) or self.message["vi"]

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "subject": self.subject, "message": self.message}


@dataclass
class Explanation:
    trigger: str
    state: str
    allowed: bool
    reasons: list[Reason] = field(default_factory=list)
    target: str | None = None
    requires: tuple[str, ...] = ()
    grant: Grant | None = None  # the grant the actor acts under when allowed
    rule_index: int | None = None

    def __bool__(self) -> bool:
        return self.allowed

    def as_dict(self) -> dict[str, object]:
        return {
            "trigger": self.trigger,
            "state": self.state,
            "allowed": self.allowed,
            "target": self.target,
            "requires": list(self.requires),
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class Action:
    """An action the actor may take now, with the inputs it requires."""

    trigger: str
    target: str
    requires: tuple[str, ...]
    title: dict[str, str]
