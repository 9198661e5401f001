"""The one entry point views and the API use to fire a workflow action on a proposal.

Most triggers go straight to ``workflow.operations.fire``. A stage that must do more in the same transaction
(for example ``approve_funding`` locking and charging a budget envelope) declares a handler in its area's
``HANDLERS`` table, which ``create_app`` registers here; the handler still calls ``fire`` itself, so the state
change and its audit event stay on the one write path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from workflow import operations
from workflow.permissions import Actor

Handler = Callable[..., Any]
HANDLERS: dict[str, Handler] = {}


@dataclass(frozen=True)
class OptionalInput:
    """An input a handler reads beyond the definition's ``requires`` (the API accepts it, the web form offers
    it as a choice from ``choices(session, proposal)`` -> [(value, label)])."""

    name: str
    title: dict[str, str]
    choices: Callable[[Session, Any], list[tuple[str, str]]]


OPTIONAL_INPUTS: dict[str, list[OptionalInput]] = {}


def register(handlers: Mapping[str, Handler], optional_inputs: Mapping[str, list[OptionalInput]]) -> None:
    """Add an area's handlers and optional inputs (create_app calls this; the same handler again is a no-op, since
    tests build many applications in one process)."""
    for trigger, fn in handlers.items():
        if HANDLERS.setdefault(trigger, fn) is not fn:
            raise ValueError(f"trigger {trigger!r} already has a handler")
    OPTIONAL_INPUTS.update(optional_inputs)


def perform(session: Session, proposal: Any, trigger: str, actor: Actor, inputs: Mapping[str, Any] | None,
            expected_version: int | None = None, *, request_id: str | None = None) -> Any:
    """Fire ``trigger``; raises workflow.errors.Refused / Conflict / InvalidInput like ``fire``."""
    handler = HANDLERS.get(trigger, operations.fire)
    return handler(session, proposal, trigger, actor, dict(inputs or {}), expected_version, request_id=request_id)
