"""Deny by default: every view declares who may reach it, and a structural test enforces that.

Views are decorated with exactly one of:
- ``@public``: reachable without logging in (login page, static, language switch);
- ``@requires(permission)``: a logged-in user for whom the named predicate in ``PERMISSIONS`` holds.

The predicates (app/permissions.py) are listed by the areas (``Area.permissions``, app/areas.py) and registered
by ``create_app``; ``check_views`` then fails the application's creation on a view requiring an unknown name.

Object-level checks (is this proposal in the actor's scope?) happen in the view through ``load_proposal``
style loaders that 404 out of scope, and through the engine's ``explain`` for actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, request
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

Predicate = Callable[[Any], bool]
# permission name -> predicate(user) -> bool, filled by create_app. Object-scope checks are separate (app.scoping).
PERMISSIONS: dict[str, Predicate] = {}


def register_permissions(permissions: Mapping[str, Predicate]) -> None:
    """Add an area's permissions (create_app calls this; the same predicate again is a no-op, since tests build
    many applications in one process)."""
    for name, predicate in permissions.items():
        if PERMISSIONS.setdefault(name, predicate) is not predicate:
            raise ValueError(f"permission {name!r} registered twice")


def check_views(app: Flask) -> None:
    """Every view requires a registered permission: an unknown name fails create_app, never a request."""
    for endpoint, view in app.view_functions.items():
        access = getattr(view, "_access", "")
        name = access.removeprefix("requires:")
        if access.startswith("requires:") and name not in PERMISSIONS:
            raise LookupError(f"{endpoint} requires unknown permission {name!r}; list it in an Area's permissions")


def public(view: F) -> F:
    view._access = "public"  # type: ignore[attr-defined]
    return view


def requires(name: str) -> Callable[[F], F]:
    """Log-in plus the named permission (``check_views`` refuses an unknown name when the app is created)."""

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
