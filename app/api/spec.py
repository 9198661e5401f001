"""The OpenAPI 3.1 description of the API, generated from the routes and their pydantic models.

Each API view carries its own documentation through ``@documented(...)`` (placed under the route decorator),
so a route and its description cannot drift apart, and a test fails for any API route left undocumented.
A route whose path holds a placeholder with a known, finite set of values (the action triggers) may be
expanded into one documented path per value, each with its own request schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel

API_PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds; larger ids are a 404 (see app.api)
_RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_CONVERTERS: dict[str, dict[str, Any]] = {"int": {"type": "integer", "minimum": 0, "maximum": MAX_ID}, "string": {"type": "string"},
               "default": {"type": "string"}}
ERROR_STATUSES = {
    400: "Malformed request", 401: "Missing or invalid bearer token",
    403: "Not allowed for the caller's role, scope or separation of duties (reasons say which)",
    404: "Not found or outside the caller's scope", 409: "Wrong state or stale expected_version",
    413: "Upload too large", 422: "Missing or invalid inputs, invalid payload, or a failing guard",
}


@dataclass(frozen=True)
class Doc:
    summary: str
    response: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    multipart: Mapping[str, Any] | None = None  # JSON schema of a multipart/form-data body
    errors: tuple[int, ...] = (401, 404)
    public: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)  # response header -> description
    # placeholder name -> (callable giving value -> (summary, body model)) for one path per value
    expand: tuple[str, Callable[[], Mapping[str, tuple[str, type[BaseModel]]]]] | None = None
    content_type: str = "application/json"


def documented(summary: str, **kwargs: Any) -> Callable[[Any], Any]:
    """Attach the OpenAPI description to a view (does not wrap it, so access markers stay visible)."""
    def attach(view: Any) -> Any:
        view._openapi = Doc(summary, **kwargs)
        return view

    return attach


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """'/api/v1/proposals/<int:proposal_id>' -> ('/proposals/{proposal_id}', [path parameters])."""
    params = []
    for converter, name in _RULE_ARG.findall(rule):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {**_CONVERTERS.get(converter or "default", {"type": "string"})}})
    return _RULE_ARG.sub(r"{\2}", rule.removeprefix(API_PREFIX)), params


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop,
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema["properties"].items()]


def _operation(doc: Doc, summary: str, body: type[BaseModel] | None, path_params: list[dict[str, Any]],
               components: _Components, error_model: type[BaseModel]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": list(path_params)}
    if doc.query is not None:
        op["parameters"] += _query_parameters(doc.query)
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": components.ref(body, "validation")}}}
    elif doc.multipart is not None:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": doc.multipart}}}
    ok: dict[str, Any] = {"description": "Success"}
    if doc.response is not None:
        ok["content"] = {doc.content_type: {"schema": components.ref(doc.response, "serialization")}}
    if doc.headers:
        ok["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                         for name, text in doc.headers.items()}
    error = {"content": {"application/json": {"schema": components.ref(error_model, "serialization")}}}
    op["responses"] = {str(doc.status): ok}
    for status in sorted({*doc.errors, *(() if doc.public else (401,))}):
        op["responses"][str(status)] = {"description": ERROR_STATUSES.get(status, "Error"), **error}
    if doc.public:
        op["security"] = []
    return op


def build_spec(app: Flask, error_model: type[BaseModel]) -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        doc: Doc | None = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        if doc is None:
            continue  # the route-completeness test reports it
        path, params = openapi_path(rule.rule)
        variants: list[tuple[str, list[dict[str, Any]], str, type[BaseModel] | None]] = [
            (path, params, doc.summary, doc.body)]
        if doc.expand is not None:
            name, values = doc.expand
            variants = [(path.replace("{" + name + "}", value), [p for p in params if p["name"] != name],
                         f"{doc.summary}: {title}", model) for value, (title, model) in sorted(values().items())]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for vpath, vparams, summary, body in variants:
                paths.setdefault(vpath, {})[method.lower()] = _operation(
                    doc, summary, body, vparams, components, error_model)
    return {
        "openapi": "3.1.0",
        "info": {"title": "GrantFlow API", "version": "1",
                 "description": "Khuyến công proposals: scoped to the caller's role grants. Amounts are integer "
                                "VND. Errors are {error, reasons[]} in the Accept-Language (vi or en, default vi)."},
        "servers": [{"url": API_PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": components.schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
