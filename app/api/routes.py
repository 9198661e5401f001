"""An area's API endpoints as a plain table, added to the API blueprint by ``create_app``.

Areas declare ``routes = Routes()`` and decorate their views with ``@routes.get(...)`` / ``@routes.post(...)``
instead of ``@bp.get(...)``: importing an area module then changes no shared object, and the endpoints (still
named ``api.<function>``) exist only once ``app.api.create_blueprint`` is given the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

View = Callable[..., Any]


@dataclass(frozen=True)
class Route:
    rule: str
    view: View
    methods: tuple[str, ...]


@dataclass
class Routes:
    rules: list[Route] = field(default_factory=list)

    def route(self, rule: str, methods: tuple[str, ...]) -> Callable[[View], View]:
        def add(view: View) -> View:
            self.rules.append(Route(rule, view, methods))
            return view

        return add

    def get(self, rule: str) -> Callable[[View], View]:
        return self.route(rule, ("GET",))

    def post(self, rule: str) -> Callable[[View], View]:
        return self.route(rule, ("POST",))

    def patch(self, rule: str) -> Callable[[View], View]:
        return self.route(rule, ("PATCH",))

    def put(self, rule: str) -> Callable[[View], View]:
        return self.route(rule, ("PUT",))

    def delete(self, rule: str) -> Callable[[View], View]:
        return self.route(rule, ("DELETE",))
