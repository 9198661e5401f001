"""The definition format: pydantic models for the YAML files, and a loader that keeps line numbers.

A definition is data. Loading turns a file into a :class:`Definition` plus a :class:`SourceMap` that knows
the line of every key, so that both structural errors (here) and semantic ones (``verify``) can say
``FILE:LINE: error: ...``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
)

from workflow.errors import DefinitionError, Problem

SCOPES = ("own", "commune", "district", "province")
Scope = Literal["own", "commune", "district", "province"]
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
WORKFLOW_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
Name = Annotated[StrictStr, Field(pattern=NAME_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Text(_Strict):
    """A bilingual label. Vietnamese is required; English falls back to Vietnamese."""

    vi: StrictStr
    en: StrictStr | None = None

    def get(self, lang: str) -> str:
        return (self.en or self.vi) if lang == "en" else self.vi

    def as_dict(self) -> dict[str, str]:
        return {"vi": self.vi, "en": self.en or self.vi}


class Role(_Strict):
    scope: Scope
    read_only: StrictBool = False
    title: Text | None = None


class Deadline(_Strict):
    """Time allowed in a state: calendar days or Vietnamese working days."""

    working_days: Annotated[StrictInt, Field(gt=0)] | None = None
    days: Annotated[StrictInt, Field(gt=0)] | None = None


class Criterion(_Strict):
    key: Name
    title: Text
    max_points: Annotated[StrictInt, Field(gt=0)]


class Bonus(_Strict):
    """Priority points added to the weighted average when the subject has the named flag."""

    flag: Name
    points: Annotated[StrictInt, Field(gt=0)]
    title: Text | None = None


class Council(_Strict):
    """An appraisal council on a state: criteria, pass mark, membership and quorum."""

    criteria: list[Criterion]
    pass_mark: Annotated[StrictInt, Field(gt=0)] = 70
    min_members: Annotated[StrictInt, Field(gt=0)] = 5
    quorum: Annotated[float, Field(gt=0, le=1, strict=False)] = 2 / 3
    bonuses: list[Bonus] = []
    blind: StrictBool = False
    veto: StrictBool = False
    # Triggers and actions nobody sitting on the council may take (separation of duties); None: every
    # transition leaving the council's state by a non-applicant role.
    members_may_not: list[Name] | None = None


class Indicator(_Strict):
    key: Name
    title: Text
    unit: StrictStr | None = None
    kind: Literal["int", "percent", "bool", "money"] = "int"


class Notice(_Strict):
    """Who is told what: roles (resolved with their scope, like permissions) and a key of the notice
    catalogue (workflow/notices.yaml)."""

    key: Name
    roles: Annotated[list[Name], Field(min_length=1)]


class Reminders(_Strict):
    """Deadline notices of a state: a reminder ``before_working_days`` before the deadline and a notice when it
    has passed, both to ``roles``; ``escalate_after_working_days`` more working days later, one to ``escalate_to``."""

    roles: Annotated[list[Name], Field(min_length=1)]
    before_working_days: Annotated[StrictInt, Field(gt=0)] | None = None
    escalate_after_working_days: Annotated[StrictInt, Field(gt=0)] | None = None
    escalate_to: list[Name] = []


class State(_Strict):
    title: Text | None = None
    initial: StrictBool = False
    final: StrictBool = False
    editable_by: list[Name] = []
    editable_fields: list[Name] | None = None
    deadline: Deadline | None = None
    council: Council | None = None
    indicators: list[Indicator] | None = None
    notify: list[Notice] = []  # on entering the state
    reminders: Reminders | None = None


InputType = Literal["text", "string", "money", "int", "percent", "date", "bool", "choice", "user_list"]


class InputSpec(_Strict):
    type: InputType = "text"
    title: Text | None = None
    choices: list[StrictStr] | None = None
    min: int | None = None
    max: int | None = None
    optional: StrictBool = False  # may be left empty (an action's input; a transition's are all required)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class GuardRef:
    """A guard as written in a transition: its name and the parameters given."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    positional: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return self.name


def _guard_ref(value: Any) -> Any:
    if isinstance(value, GuardRef):
        return value
    if isinstance(value, str):
        return GuardRef(value)
    if isinstance(value, dict) and len(value) == 1:
        ((name, args),) = value.items()
        if not isinstance(name, str):
            raise ValueError("a guard name must be a string")
        if isinstance(args, dict):
            return GuardRef(name, dict(args))
        if args is None:
            return GuardRef(name)
        return GuardRef(name, positional=(args,))
    raise ValueError("a guard is a name, or a mapping {name: parameter} / {name: {param: value}}")


_NAME_SCHEMA = {"type": "string", "pattern": NAME_PATTERN}
GuardEntry = Annotated[GuardRef, BeforeValidator(_guard_ref), WithJsonSchema({
    "anyOf": [_NAME_SCHEMA, {"type": "object", "minProperties": 1, "maxProperties": 1,
                             "propertyNames": {"pattern": NAME_PATTERN}}],
    "description": "a registered guard: its name, or {name: value} / {name: {param: value}}",
})]


class Transition(_Strict):
    trigger: Name
    source: Annotated[list[Name], BeforeValidator(_one_or_many), Field(alias="from", min_length=1),
                      WithJsonSchema({"anyOf": [_NAME_SCHEMA, {"type": "array", "items": _NAME_SCHEMA, "minItems": 1}],
                                      "title": "From", "description": "one state or a list of states"})]
    dest: Annotated[Name, Field(alias="to")]
    roles: list[Name] = []
    guards: list[GuardEntry] = []
    requires: list[Name] = []
    separate_from: list[Name] = []
    title: Text | None = None
    notify: list[Notice] = []


class DomainAction(_Strict):
    """A domain action (``workflow.operations.act``): it changes the subject's data, not its state. Who may take
    it (``roles``, with their scope), in which ``states``, under which ``guards``, with which ``inputs``, who is
    told (``notify``), and ``separate_from``: triggers or actions whose actor may not take this one (separation of
    duties). Checked and explained by the same code as a transition."""

    title: Text | None = None
    roles: Annotated[list[Name], Field(min_length=1)]
    states: Annotated[list[Name], Field(min_length=1)]
    guards: list[GuardEntry] = []
    # A name declared under the definition's ``inputs:``, or {name: spec} for an input of this action alone.
    inputs: list[Name | Annotated[dict[Name, InputSpec], Field(min_length=1, max_length=1)]] = []
    notify: list[Notice] = []
    separate_from: list[Name] = []

    def input_names(self) -> list[str]:
        return [item if isinstance(item, str) else next(iter(item)) for item in self.inputs]

    def own_inputs(self) -> dict[str, InputSpec]:
        return {name: spec for item in self.inputs if isinstance(item, dict) for name, spec in item.items()}


class MigratesFrom(_Strict):
    version: Annotated[StrictInt, Field(gt=0)]
    states: dict[Name, Name] = {}


class Definition(_Strict):
    workflow: Annotated[StrictStr, Field(pattern=WORKFLOW_ID_PATTERN)]
    version: Annotated[StrictInt, Field(gt=0)]
    title: Text
    description: Text | None = None
    roles: dict[Name, Role]
    states: dict[Name, State]
    transitions: list[Transition]
    inputs: dict[Name, InputSpec] = {}
    migrates_from: MigratesFrom | None = None
    action_notify: dict[Name, list[Notice]] = {}  # domain actions (workflow.operations.act) by name
    actions: dict[Name, DomainAction] = {}
    effective_from: Annotated[dt.date | None, Field(
        description="The first day (YYYY-MM-DD) a proposal created on it runs this version; it runs until the "
                    "day before the next version's effective_from")] = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.workflow, self.version)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the format, for editors (``python -m workflow schema``)."""
    schema = Definition.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "GrantFlow workflow definition", **{k: v for k, v in schema.items() if k != "title"}}


# --- source positions -----------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each key and value of a loaded file stands (1-based lines)."""

    path: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, *loc: str | int) -> int | None:
        """The line of the longest prefix of ``loc`` that exists in the file."""
        for end in range(len(loc), -1, -1):
            hit = self.lines.get(tuple(loc[:end]))
            if hit is not None:
                return hit
        return None


@dataclass(frozen=True)
class LoadedDefinition:
    """A structurally valid definition together with its file, its digest and its line map."""

    definition: Definition
    path: str
    sha256: str
    source: SourceMap


MAX_NODES = 100_000  # aliases can expand a small file exponentially ("billion laughs")


class _Builder:
    """Builds plain Python data from a composed YAML node, recording the line of every path."""

    def __init__(self, smap: SourceMap, problems: list[Problem]):
        self.smap, self.problems = smap, problems
        self.scalars = yaml.constructor.SafeConstructor()
        self.open: set[int] = set()  # ids of the nodes being built, to catch recursive aliases
        self.count = 0

    def problem(self, node: yaml.Node, message: str, code: str) -> None:
        self.problems.append(Problem(self.smap.path, node.start_mark.line + 1, message, code=code))

    def build(self, node: yaml.Node, loc: Path_) -> Any:
        self.smap.lines.setdefault(loc, node.start_mark.line + 1)
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalars.construct_object(node, deep=True)
        if id(node) in self.open:
            self.problem(node, f"{_place(loc)}: a recursive alias", "yaml")
            return None
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, loc)
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.Node, loc: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, f"a key in {_place(loc)} must be a plain name, not a {key_node.id}", "type")
                continue
            key = self.scalars.construct_object(key_node)
            if key in out:
                self.problem(key_node, f"duplicate key '{key}' in {_place(loc)}", "duplicate_key")
            self.smap.lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*loc, key))
        return out


class _TooBig(Exception):
    def __init__(self, node: yaml.Node):
        self.line = node.start_mark.line + 1


_KINDS = {"states": "state", "roles": "role", "inputs": "input", "actions": "action"}


def _place(loc: tuple[Any, ...], data: Any = None) -> str:
    """Name what a location is about: "transition 'submit' (#1) key 'to'", "role 'applicant' key 'scope'"."""
    head, rest = "", list(loc)
    if len(loc) >= 2 and loc[0] == "transitions" and isinstance(loc[1], int):
        item = data["transitions"][loc[1]] if isinstance(data, dict) else None
        trigger = item.get("trigger") if isinstance(item, dict) else None
        head = f"transition '{trigger}' (#{loc[1] + 1})" if isinstance(trigger, str) else f"transition #{loc[1] + 1}"
        rest = rest[2:]
    elif len(loc) >= 2 and loc[0] in _KINDS:
        head, rest = f"{_KINDS[str(loc[0])]} '{loc[1]}'", rest[2:]
    keys = ".".join(str(p) for p in rest)
    if not keys:
        return head or "the top level"
    return f"{head} key '{keys}'" if head else f"key '{keys}'"


def _describe(error: dict[str, Any], loc: tuple[Any, ...], data: Any) -> str:
    """A readable message for one pydantic error, naming the key or value at fault."""
    kind = error["type"]
    value = error.get("input")
    last = loc[-1] if loc else ""
    if last == "[key]":
        return _describe_name(kind, value, loc[:-2], data)
    if kind == "extra_forbidden":
        return f"unknown key '{last}' in {_place(loc[:-1], data)}"
    if kind == "missing":
        return f"missing key '{last}' in {_place(loc[:-1], data)}"
    where = _place(loc, data)
    if kind == "literal_error" and last == "scope":
        return f"{where}: unknown scope {value!r} (expected one of: {', '.join(SCOPES)})"
    if kind == "literal_error":
        return f"{where}: {value!r} is not allowed ({error['msg'].replace('Input should be', 'expected')})"
    if last == "version":
        return f"{where} must be a positive integer, got {value!r}"
    if kind == "string_pattern_mismatch":
        if loc == ("workflow",):
            return f"workflow id {value!r} must use lowercase letters, digits and '-'"
        return f"{where}: name {value!r} must use lowercase ASCII letters, digits and '_' and start with a letter"
    msg = error["msg"][:1].lower() + error["msg"][1:]
    if kind.endswith("_type"):
        return f"{where}: wrong type, {msg}, got {type(value).__name__} {value!r}"
    if kind == "too_short":
        return f"{where}: must not be empty"
    if kind == "value_error":
        return f"{where}: {error['ctx']['error']} (got {value!r})"
    return f"{where}: {msg}" + ("" if isinstance(value, dict | list) else f" (got {value!r})")


def _describe_name(kind: str, value: Any, parent: tuple[Any, ...], data: Any) -> str:
    """A key of the mapping at ``parent`` that is not a valid name."""
    what = f"{_KINDS[parent[0]]} name" if len(parent) == 1 and parent[0] in _KINDS else \
        f"name in {_place(parent, data)}"
    if kind == "string_pattern_mismatch":
        return f"{what} {value!r} must use lowercase ASCII letters, digits and '_' and start with a letter"
    return f"{what} {value!r} must be a string"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_file(path: str | Path) -> LoadedDefinition:
    """Load and validate one file's structure; raises :class:`DefinitionError` listing every problem."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError([Problem(shown, None, f"cannot read file: {exc.strerror}", code="io")]) from exc
    return load_text(raw, shown)


def load_text(raw: bytes | str, shown: str = "<string>") -> LoadedDefinition:
    data_bytes = raw.encode() if isinstance(raw, str) else raw
    smap = SourceMap(shown)
    problems: list[Problem] = []
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError([Problem(shown, None, f"not UTF-8 text ({exc.reason})", code="encoding")]) from exc
    node = _compose(text, shown)
    if node is None:
        raise DefinitionError([Problem(shown, 1, "the file is empty", code="empty")])
    try:
        data = _Builder(smap, problems).build(node, ())
    except _TooBig as exc:
        message = f"the file expands to more than {MAX_NODES} values (aliases?)"
        raise DefinitionError([Problem(shown, exc.line, message, code="yaml")]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(shown, None, f"YAML error: {exc}", code="yaml")]) from exc
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"
        raise DefinitionError([Problem(shown, smap.line(), f"the top level must be a mapping of keys, not {kind}",
                                       code="type")])
    definition = None
    try:
        definition = Definition.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(Problem(shown, smap.line(*loc), _describe(dict(err), loc, data), code=err["type"]))
    if problems or definition is None:
        raise DefinitionError(sorted(problems, key=lambda p: p.line or 0))
    return LoadedDefinition(definition, shown, _sha256(data_bytes), smap)


def _compose(text: str, shown: str) -> yaml.Node | None:
    """The YAML node tree of the text; DefinitionError naming the line of a syntax error."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "unreadable"
        if exc.context and exc.problem and exc.context_mark:
            what += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        raise DefinitionError([Problem(shown, line, f"YAML syntax error: {what}", code="yaml")]) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(shown, None, f"YAML error: {exc}", code="yaml")]) from exc
    except RecursionError:  # PyYAML composes recursively
        raise DefinitionError([Problem(shown, None, "YAML nested too deeply", code="yaml")]) from None


def iter_definition_files(paths: list[str | Path]) -> Iterator[Path]:
    """Every ``*.yaml``/``*.yml`` file named or found below the given paths, in a stable order."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            yield from sorted(x for x in p.rglob("*") if x.suffix in {".yaml", ".yml"} and x.is_file())
        else:
            yield p

