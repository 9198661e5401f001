"""Support caps per category, from versioned per-province YAML files in ``config/caps/``.

``<province>.yaml`` when it exists, else ``default.yaml`` (the TTLT 26/2014 template). All arithmetic is on
integers: a cap is min(total cost x share, VND maximum), both raised by ``priority_percent`` for priority
proposals (the share never above 100 %).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator

from app.formatting import vnd
from app.models.proposals import CATEGORIES

CAPS_DIR = Path(__file__).resolve().parent.parent.parent / "config" / "caps"
PRIORITY_FLAGS = ("priority_region", "priority_sector")


class CapsError(Exception):
    """A caps file that does not load; the message names the file and the key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryCap(_Strict):
    share_percent: Annotated[StrictInt, Field(gt=0, le=100)]
    max_vnd: Annotated[StrictInt, Field(gt=0)]


class CapsVersion(_Strict):
    version: Annotated[StrictInt, Field(gt=0)]
    effective_from: dt.date
    source: StrictStr = ""
    priority_percent: Annotated[StrictInt, Field(ge=100, le=300)] = 150
    categories: dict[str, CategoryCap]

    @model_validator(mode="after")
    def _known_categories(self) -> CapsVersion:
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {sorted(CATEGORIES)}")
        return self


class CapsFile(_Strict):
    province: StrictStr
    versions: Annotated[list[CapsVersion], Field(min_length=1)]

    @model_validator(mode="after")
    def _ordered(self) -> CapsFile:
        numbers = [v.version for v in self.versions]
        dates = [v.effective_from for v in self.versions]
        if numbers != sorted(set(numbers)) or dates != sorted(set(dates)):
            raise ValueError("versions must have increasing numbers and increasing effective dates")
        return self

    def in_force(self, on: dt.date) -> CapsVersion | None:
        valid = [v for v in self.versions if v.effective_from <= on]
        return valid[-1] if valid else None


def caps_dir() -> Path:
    return Path(os.environ.get("GRANTFLOW_CAPS_DIR", CAPS_DIR))


def load_caps(path: Path) -> CapsFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CapsError(f"{path}: cannot read caps: {exc}") from exc
    try:
        return CapsFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}" for e in exc.errors()
        )
        raise CapsError(f"{path}: {problems}") from exc


@lru_cache(maxsize=32)
def caps_for_province(province: str) -> CapsFile:
    folder = caps_dir()
    own = folder / f"{province}.yaml"
    return load_caps(own if own.exists() else folder / "default.yaml")


def cap_amount(*, province: str, category: str, total_cost: int, priority: bool, on: dt.date) -> int | None:
    """The most support allowed in VND, or None when the category has no cap."""
    version = caps_for_province(province).in_force(on)
    cap = version.categories.get(category) if version is not None else None
    if cap is None:
        return None
    factor = version.priority_percent if priority else 100
    share = min(100 * 100, cap.share_percent * factor)  # in 1/10 000 of the cost
    return min(total_cost * share // 10_000, cap.max_vnd * factor // 100)


def proposal_cap(proposal: object) -> int | None:
    created = getattr(proposal, "created_at", None)
    return cap_amount(
        province=proposal.province_code,  # type: ignore[attr-defined]
        category=proposal.category,  # type: ignore[attr-defined]
        total_cost=proposal.total_cost or 0,  # type: ignore[attr-defined]
        priority=any(getattr(proposal, flag, False) for flag in PRIORITY_FLAGS),
        on=created.date() if created else dt.date.today(),
    )


def cap_problem(proposal: object, amount: int) -> dict[str, str] | None:
    """A bilingual message when ``amount`` exceeds the proposal's cap."""
    cap = proposal_cap(proposal)
    if cap is None or amount <= cap:
        return None
    return {
        "vi": f"Kinh phí hỗ trợ {vnd(amount)} vượt mức trần {vnd(cap)} của nội dung này",
        "en": f"Support of {vnd(amount)} exceeds this category's cap of {vnd(cap)}",
    }
