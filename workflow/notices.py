"""The notice catalogue (workflow/notices.yaml) and which notices an applied operation declares.

The engine only says *what* is to be told to *which roles*; who holds those roles over a subject, and how a
notice is delivered, is the application's business (app/notifications).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import StrictBool, ValidationError

from workflow.definitions import Definition, Notice, SourceMap, Text, _Builder, _Strict
from workflow.errors import DefinitionError, Problem

CATALOGUE_PATH = Path(__file__).with_name("notices.yaml")
PLACEHOLDERS = frozenset({"code", "title", "state", "comment", "actor", "due", "url"})
REMINDER, OVERDUE, ESCALATION = "deadline_reminder", "deadline_overdue", "deadline_escalation"


class NoticeTemplate(_Strict):
    title: Text
    subject: Text
    body: Text
    statutory: StrictBool = False

    def render(self, lang: str, params: dict[str, Any]) -> tuple[str, str]:
        values = _Defaulting({k: "" if v is None else v for k, v in params.items()})
        return (string.Formatter().vformat(self.subject.get(lang), (), values),
                string.Formatter().vformat(self.body.get(lang), (), values))


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, NoticeTemplate]:
    """Every notice template; DefinitionError with FILE:LINE for each problem."""
    shown, smap = str(path), SourceMap(str(path))
    problems: list[Problem] = []
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError([Problem(shown, None, f"cannot read the notice catalogue: {exc}", code="io")]) \
            from exc
    data = _Builder(smap, problems).build(node, ()) if node is not None else {}
    if not isinstance(data, dict):
        raise DefinitionError([Problem(shown, 1, "the notice catalogue must map keys to notices", code="type")])
    out: dict[str, NoticeTemplate] = {}
    for key, raw in data.items():
        try:
            out[key] = template = NoticeTemplate.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = (key, *err["loc"])
                problems.append(Problem(shown, smap.line(*loc), f"notice '{key}' key "
                                        f"'{'.'.join(map(str, err['loc']))}': {err['msg']}", code="notice"))
            continue
        problems.extend(_placeholder_problems(shown, smap, key, template))
    for key in (REMINDER, OVERDUE, ESCALATION):
        if key not in out and not any(p.line == smap.line(key) for p in problems):
            problems.append(Problem(shown, None, f"the deadline notice '{key}' is missing", code="notice"))
    if problems:
        raise DefinitionError(problems)
    return out


def _placeholder_problems(shown: str, smap: SourceMap, key: str, template: NoticeTemplate) -> list[Problem]:
    """Every ``{placeholder}`` of the template's subject and body is one the application fills in."""
    problems: list[Problem] = []
    for part in ("subject", "body"):
        text_of = getattr(template, part)
        for lang, text in (("vi", text_of.vi), ("en", text_of.en)):
            if text is None:
                continue  # English falls back to the Vietnamese text, checked already
            try:
                unknown = _placeholders(text) - PLACEHOLDERS
            except ValueError as exc:
                unknown = {f"(malformed: {exc})"}
            for name in sorted(unknown):
                problems.append(Problem(shown, smap.line(key, part, lang),
                                        f"notice '{key}' {part}.{lang}: unknown placeholder {{{name}}} "
                                        f"(known: {', '.join(sorted(PLACEHOLDERS))})", code="notice"))
    return problems


@lru_cache(maxsize=1)
def catalogue() -> dict[str, NoticeTemplate]:
    return load_catalogue()


def catalogue_problems() -> list[Problem]:
    try:
        catalogue()
    except DefinitionError as exc:
        catalogue.cache_clear()
        return exc.problems
    return []


@dataclass(frozen=True)
class Declared:
    """A notice an applied operation declares: the catalogue key and the roles to tell."""

    key: str
    roles: tuple[str, ...]


def declared(definition: Definition, action: str, from_state: str | None, to_state: str | None) -> list[Declared]:
    """The notices of an applied operation: the fired transition's, then the entered state's (when the state
    changed), or a domain action's (``action_notify``)."""
    found: list[Notice] = []
    fired = [t for t in definition.transitions
             if t.trigger == action and from_state in t.source and t.dest == to_state]
    if fired:
        found.extend(fired[0].notify)
    elif action in definition.actions:
        found.extend(definition.actions[action].notify)
    elif action in definition.action_notify:
        found.extend(definition.action_notify[action])
    if to_state is not None and to_state != from_state and to_state in definition.states:
        found.extend(definition.states[to_state].notify)
    return [Declared(n.key, tuple(n.roles)) for n in found]
