"""What every stage action shares: the compiled definition, the permission check, input cleaning."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from workflow.definitions import InputSpec
from workflow.errors import InvalidInput
from workflow.explain import GUARD, Explanation, Reason
from workflow.inputs import clean_value
from workflow.machine import CompiledWorkflow
from workflow.permissions import Actor
from workflow.registry import default_registry

Message = dict[str, str]


def msg(vi: str, en: str) -> Message:
    return {"vi": vi, "en": en}


def compiled_for(proposal: Any) -> CompiledWorkflow:
    return default_registry().for_subject(proposal)


def may(proposal: Any, actor: Actor, action: str) -> bool:
    """Role, scope, state and the action's declared guards allow ``action`` now (what it is given is checked
    when it is taken)."""
    return explain_action(proposal, actor, action).allowed


def explain_action(proposal: Any, actor: Actor, action: str,
                   problems: Callable[[], Iterable[Reason | Message]] = lambda: (), *,
                   inputs: Mapping[str, Any] | None = None) -> Explanation:
    """The engine's explanation of a domain action declared in the definition (``actions:``: roles, scope,
    state, separation of duties, guards given ``inputs``); when it allows it, ``problems()`` (the service's own
    checks on its rows) may still refuse it. Plain messages become guard reasons."""
    exp = compiled_for(proposal).explain_action(proposal, actor, action, session=object_session(proposal),
                                                inputs=inputs)
    if not exp.allowed:
        return exp
    extra = [p if isinstance(p, Reason) else Reason(GUARD, p, action) for p in problems()]
    return Explanation(action, exp.state, not extra, extra, target=exp.state, requires=exp.requires, grant=exp.grant)


def clean(inputs: Mapping[str, Any], specs: Mapping[str, InputSpec], *, optional: Iterable[str] = ()) -> dict[str, Any]:
    """Clean every named input at once, collecting every error; optional ones may be absent."""
    out: dict[str, Any] = {}
    errors: dict[str, Message] = {}
    skip = set(optional)
    for name, spec in specs.items():
        value = inputs.get(name)
        if (name in skip or spec.optional) and (value is None or (isinstance(value, str) and not value.strip())):
            continue
        try:
            out[name] = clean_value(name, spec, value)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return out


def lock(session: Session, model: type[Any], row_id: int) -> Any:
    """Reload one row with FOR UPDATE (PostgreSQL; SQLite already holds the write lock)."""
    return session.execute(
        select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def transition_inputs(session: Session, proposal: Any, trigger: str, actor: Actor,
                      inputs: Mapping[str, Any], *, asked: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """For a handler that does more than ``fire``: the cleaned inputs when ``trigger`` is allowed now, or None
    when it is not, so that the handler lets ``fire`` refuse it (and record the refusal). ``asked``: the inputs
    the guards see now, when the handler checks some itself first (``fire`` later sees them all)."""
    compiled = compiled_for(proposal)
    exp = compiled.explain(proposal, actor, trigger, session=session, inputs=inputs if asked is None else asked)
    if not exp.allowed:
        return None
    return clean(inputs, {name: compiled.input_specs[name] for name in exp.requires})
