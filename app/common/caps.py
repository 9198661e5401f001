"""Support caps per category, from versioned per-province YAML files in ``config/caps/``.

``<province>.yaml`` when it exists, else ``default.yaml``. Each version names its legal source and applies from
its effective date until the next version (or its ``effective_until``); each category names its rule. All
arithmetic is on integers: a cap is min(total cost x share, VND maximum), both raised by ``priority_percent``
for priority proposals (the share never above 100 %; an officer confirms the flags before appraisal). A file that does not load
is refused with ``FILE:LINE: what``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from app.clock import local_date, today
from app.formatting import vnd
from app.models.proposals import CATEGORIES
from app.validation import MAX_VND  # noqa: F401  (the absolute limit; the caps below are the legal ones)

# Packaged with the app (in a checkout, app/caps links to the repository's config/caps/).
CAPS_DIR = Path(str(resources.files("app") / "caps")).resolve()
PRIORITY_FLAGS = ("priority_region", "priority_sector")


class CapsError(Exception):
    """A caps file that does not load; the message is ``FILE:LINE: what``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryCap(_Strict):
    share_percent: Annotated[StrictInt, Field(gt=0, le=100)] | None = None
    max_vnd: Annotated[StrictInt, Field(gt=0)] | None = None
    rule: StrictStr
    verified: StrictBool | None = None  # None: as the version says
    note: StrictStr = ""

    @model_validator(mode="after")
    def _some_limit(self) -> CategoryCap:
        if self.share_percent is None and self.max_vnd is None:
            raise ValueError("a cap needs share_percent, max_vnd or both")
        return self


class CapsVersion(_Strict):
    version: Annotated[StrictInt, Field(gt=0)]
    effective_from: dt.date
    effective_until: dt.date | None = None
    source: StrictStr
    amended_by: StrictStr = ""
    verified: StrictBool
    note: StrictStr = ""
    priority_percent: Annotated[StrictInt, Field(ge=100, le=300)] = 150
    priority_rule: StrictStr = ""
    categories: dict[str, CategoryCap]

    def is_verified(self, category: str) -> bool:
        cap = self.categories[category]
        return self.verified if cap.verified is None else cap.verified


class CapsFile(_Strict):
    province: StrictStr
    versions: Annotated[list[CapsVersion], Field(min_length=1)]

    def in_force(self, on: dt.date) -> CapsVersion | None:
        valid = [v for v in self.versions if v.effective_from <= on and (v.effective_until or on) >= on]
        return valid[-1] if valid else None


@dataclass(frozen=True)
class AppliedCap:
    """The cap of one proposal and where it comes from."""

    amount: int
    source: str  # "Thông tư 28/2018/TT-BTC, Điều 8 khoản 4"
    verified: bool


def caps_dir() -> Path:
    return Path(os.environ.get("GRANTFLOW_CAPS_DIR", CAPS_DIR))


def _compose(text: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Plain data and the 1-based line of every key path."""
    lines: dict[tuple[Any, ...], int] = {}
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    constructor = yaml.constructor.SafeConstructor()

    def build(n: yaml.Node, loc: tuple[Any, ...]) -> Any:
        lines.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*loc, i)) for i, item in enumerate(n.value)]
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = constructor.construct_object(k)
                lines[(*loc, key)] = k.start_mark.line + 1
                out[key] = build(v, (*loc, key))
            return out
        return constructor.construct_object(n, deep=True)

    return (build(node, ()) if node is not None else None), lines


def _line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return 1


def _problems(caps: CapsFile) -> list[tuple[tuple[Any, ...], str]]:
    """What the schema cannot say: unknown categories, and versions out of order or overlapping."""
    found: list[tuple[tuple[Any, ...], str]] = []
    for i, v in enumerate(caps.versions):
        for name in v.categories:
            if name not in CATEGORIES:
                found.append((("versions", i, "categories", name),
                              f"unknown category '{name}' (known: {', '.join(sorted(CATEGORIES))})"))
        if v.effective_until is not None and v.effective_until < v.effective_from:
            found.append((("versions", i, "effective_until"), "effective_until is before effective_from"))
        if i == 0:
            continue
        before = caps.versions[i - 1]
        if v.version <= before.version:
            found.append((("versions", i, "version"), f"version {v.version} must be above {before.version}"))
        if v.effective_from <= before.effective_from or (
                before.effective_until is not None and v.effective_from <= before.effective_until):
            found.append((("versions", i, "effective_from"),
                          f"version {v.version} from {v.effective_from} overlaps version {before.version} "
                          f"({before.effective_from} – {before.effective_until or '…'})"))
    return found


def load_caps(path: Path) -> CapsFile:
    try:
        data, lines = _compose(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CapsError(f"{path}:{mark.line + 1 if mark else 1}: cannot read caps: {exc.problem}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CapsError(f"{path}:1: cannot read caps: {exc}") from exc
    try:
        caps = CapsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(str(p) for p in loc) or "top level"
        raise CapsError(f"{path}:{_line(lines, loc)}: {where}: {first['msg']}") from exc
    problems = _problems(caps)
    if problems:
        loc, what = problems[0]
        raise CapsError(f"{path}:{_line(lines, loc)}: {what}")
    return caps


@lru_cache(maxsize=32)
def caps_for_province(province: str) -> CapsFile:
    folder = caps_dir()
    own = folder / f"{province}.yaml"
    return load_caps(own if own.exists() else folder / "default.yaml")


def applied_cap(*, province: str, category: str, total_cost: int, priority: bool,
                on: dt.date) -> AppliedCap | None:
    """The most support allowed in VND with its rule, or None when the category has no cap."""
    version = caps_for_province(province).in_force(on)
    cap = version.categories.get(category) if version is not None else None
    if version is None or cap is None:
        return None
    factor = version.priority_percent if priority else 100
    limits = []
    if cap.share_percent is not None:
        share = min(100 * 100, cap.share_percent * factor)  # in 1/10 000 of the cost
        limits.append(total_cost * share // 10_000)
    if cap.max_vnd is not None:
        limits.append(cap.max_vnd * factor // 100)
    return AppliedCap(min(limits), f"{version.source}, {cap.rule}", version.is_verified(category))


def cap_amount(*, province: str, category: str, total_cost: int, priority: bool, on: dt.date) -> int | None:
    applied = applied_cap(province=province, category=category, total_cost=total_cost, priority=priority, on=on)
    return applied.amount if applied is not None else None


def proposal_applied_cap(proposal: object) -> AppliedCap | None:
    created = getattr(proposal, "created_at", None)
    return applied_cap(
        province=proposal.province_code,  # type: ignore[attr-defined]
        category=proposal.category,  # type: ignore[attr-defined]
        total_cost=proposal.total_cost or 0,  # type: ignore[attr-defined]
        priority=any(getattr(proposal, flag, False) for flag in PRIORITY_FLAGS),
        on=local_date(created) if created else today(),
    )


def proposal_cap(proposal: object) -> int | None:
    applied = proposal_applied_cap(proposal)
    return applied.amount if applied is not None else None


def cap_problem(proposal: object, amount: int) -> dict[str, str] | None:
    """A bilingual message naming the rule and its source when ``amount`` exceeds the proposal's cap."""
    applied = proposal_applied_cap(proposal)
    if applied is None or amount <= applied.amount:
        return None
    return {
        "vi": f"Kinh phí hỗ trợ {vnd(amount)} vượt mức trần {vnd(applied.amount)} của nội dung này "
              f"({applied.source})",
        "en": f"Support of {vnd(amount)} exceeds this category's cap of {vnd(applied.amount)} ({applied.source})",
    }
