"""Deny by default: every view declares who may reach it, and a structural test enforces that.

Views are decorated with exactly one of:
- ``@public``: reachable without logging in (login page, static, language switch);
- ``@requires(permission)``: a logged-in user for whom the named predicate in ``PERMISSIONS`` holds.

Object-level checks (is this proposal in the actor's scope?) happen in the view through ``load_proposal``
style loaders that 404 out of scope, and through the engine's ``explain`` for actions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

# permission name -> predicate(user) -> bool. Object-scope checks are separate (see app.scoping).
PERMISSIONS: dict[str, Callable[[Any], bool]] = {}


def permission(name: str) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    def register(predicate: Callable[[Any], bool]) -> Callable[[Any], bool]:
        if name in PERMISSIONS:
            raise ValueError(f"permission {name!r} registered twice")
        PERMISSIONS[name] = predicate
        return predicate

    return register


def public(view: F) -> F:
    view._access = "public"  # type: ignore[attr-defined]
    return view


def requires(name: str) -> Callable[[F], F]:
    """Log-in plus the named permission. Unknown names fail at import time, not at request time."""
    if name not in PERMISSIONS:
        raise LookupError(f"unknown permission {name!r}; register it in app.permissions")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.blueprint == "api":
                    abort(401)
                from flask import current_app
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not PERMISSIONS[name](current_user):
                abort(403)
            return view(*args, **kwargs)

        wrapped._access = f"requires:{name}"  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


import app.permissions  # noqa: E402,F401  (registers the predicates before any blueprint uses @requires)
