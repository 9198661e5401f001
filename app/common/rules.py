"""What every stage action shares: the compiled definition, the permission check, input cleaning."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions import InputSpec
from workflow.errors import InvalidInput
from workflow.explain import GUARD, ROLE, SCOPE, STATE, Explanation, Reason
from workflow.inputs import clean_value
from workflow.machine import CompiledWorkflow, place_of
from workflow.permissions import Actor, covering_grants
from workflow.registry import default_registry

Message = dict[str, str]


def msg(vi: str, en: str) -> Message:
    return {"vi": vi, "en": en}


def compiled_for(proposal: Any) -> CompiledWorkflow:
    return default_registry().for_subject(proposal)


States = tuple[str, ...] | Callable[[Any], tuple[str, ...]]
# action -> (roles that may take it, states it may be taken in): the rules of the domain actions, kept in one
# table so that pages can ask "may this user do it now" the same way the services check it.
RULES: dict[str, tuple[tuple[str, ...], States]] = {}


def rule(action: str, roles: Iterable[str], states: States) -> None:
    RULES[action] = (tuple(roles), states)


def may(proposal: Any, actor: Actor, action: str) -> bool:
    """Role, scope and state allow ``action`` now (its own problems are checked when it is taken)."""
    return explain_action(proposal, actor, action).allowed


def explain_action(proposal: Any, actor: Actor, action: str,
                   problems: Callable[[], Iterable[Reason | Message]] = lambda: ()) -> Explanation:
    """Allowed when the proposal is in one of the action's states, the actor holds one of its roles over the
    proposal, and ``problems()`` (evaluated only then) finds nothing. Plain messages become guard reasons.

    An action declared in the definition (``actions:``) is explained by the engine, with its guards and
    ``separate_from``; the table here is for definitions that do not declare it yet."""
    compiled = compiled_for(proposal)
    if action in compiled.action_rules:
        exp = compiled.explain_action(proposal, actor, action)
        if not exp.allowed:
            return exp
        extra = [p if isinstance(p, Reason) else Reason(GUARD, p, action) for p in problems()]
        return Explanation(action, exp.state, not extra, extra, target=exp.state, requires=exp.requires,
                           grant=exp.grant)
    roles, allowed_states = RULES[action]
    state = proposal.wf_state
    states = allowed_states(proposal) if callable(allowed_states) else allowed_states
    if state not in states:
        shown = ", ".join(compiled.title_of(s, "vi") for s in states)
        return Explanation(action, state, False, [Reason(STATE, msg(
            f"Không thể thực hiện khi đề án ở trạng thái '{compiled.title_of(state, 'vi')}' (cần: {shown})",
            f"Not possible in state '{compiled.title_of(state, 'en')}' "
            f"(needs: {', '.join(compiled.title_of(s, 'en') for s in states)})",
        ), state)])
    defined = compiled.definition.roles
    writable = {r: defined[r].scope for r in roles if r in defined and not defined[r].read_only}
    grants = covering_grants(actor, writable, place_of(proposal))
    if not grants:
        names = ", ".join(writable)
        if actor.roles & set(writable):
            reason = Reason(SCOPE, msg("Đề án nằm ngoài phạm vi phụ trách của bạn",
                                       "The proposal is outside your scope"), names)
        else:
            reason = Reason(ROLE, msg(f"Cần vai trò: {names}", f"Needs the role: {names}"), names)
        return Explanation(action, state, False, [reason])
    reasons = [p if isinstance(p, Reason) else Reason(GUARD, p, action) for p in problems()]
    return Explanation(action, state, not reasons, reasons, target=state, grant=grants[0])


def clean(inputs: Mapping[str, Any], specs: Mapping[str, InputSpec], *, optional: Iterable[str] = ()) -> dict[str, Any]:
    """Clean every named input at once, collecting every error; optional ones may be absent."""
    out: dict[str, Any] = {}
    errors: dict[str, Message] = {}
    skip = set(optional)
    for name, spec in specs.items():
        value = inputs.get(name)
        if name in skip and (value is None or (isinstance(value, str) and not value.strip())):
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
