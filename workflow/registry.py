"""The set of compiled workflows the process runs with, keyed by (workflow, version)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from workflow.errors import DefinitionError, UnknownWorkflow
from workflow.machine import CompiledWorkflow
from workflow.verify import check_paths

# Packaged with the engine (in a checkout, workflow/default_definitions links to the repository's definitions/).
DEFAULT_DEFINITIONS = Path(str(resources.files("workflow") / "default_definitions")).resolve()


class Registry:
    def __init__(self, compiled: Iterable[CompiledWorkflow]):
        self._by_key = {c.key: c for c in compiled}

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> Registry:
        """Load, verify and compile; any error refuses the whole set, listing every problem."""
        loaded, problems = check_paths(list(paths))
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise DefinitionError(errors)
        return cls(CompiledWorkflow(item) for item in loaded)

    def get(self, workflow: str, version: int) -> CompiledWorkflow:
        try:
            return self._by_key[(workflow, int(version))]
        except KeyError:
            raise UnknownWorkflow(f"no definition {workflow} version {version}") from None

    def for_subject(self, subject: object) -> CompiledWorkflow:
        return self.get(subject.wf_workflow, subject.wf_workflow_version)  # type: ignore[attr-defined]

    def latest(self, workflow: str) -> CompiledWorkflow:
        versions = [c for (w, _), c in self._by_key.items() if w == workflow]
        if not versions:
            raise UnknownWorkflow(f"no definition {workflow}")
        return max(versions, key=lambda c: c.version)

    def for_date(self, workflow: str, day: dt.date) -> CompiledWorkflow:
        """The one rule for which version a new subject runs: the version whose effective_from period holds
        ``day`` (the day it is created, or the historical day of an imported record). Without dates: the latest."""
        versions = sorted((c for (w, _), c in self._by_key.items() if w == workflow), key=lambda c: c.version)
        if not versions:
            raise UnknownWorkflow(f"no definition {workflow}")
        started = [c for c in versions if c.definition.effective_from is None or c.definition.effective_from <= day]
        if not started:
            raise UnknownWorkflow(f"no version of {workflow} is in effect on {day.isoformat()}; the first starts on "
                                  f"{versions[0].definition.effective_from}")
        return started[-1]

    def __iter__(self) -> Iterator[CompiledWorkflow]:
        return iter(sorted(self._by_key.values(), key=lambda c: c.key))

    def __len__(self) -> int:
        return len(self._by_key)

    @cached_property
    def role_scopes(self) -> dict[str, str]:
        """Role -> scope over every loaded version (a role keeps one meaning across versions)."""
        scopes: dict[str, str] = {}
        for compiled in self:
            for name, role in compiled.definition.roles.items():
                scopes.setdefault(name, role.scope)
        return scopes

    @cached_property
    def blind_review_keys(self) -> tuple[tuple[str, int], ...]:
        """The (workflow, version) pairs whose appraisal council reviews blind."""
        return tuple(c.key for c in self
                     if any(s.council is not None and s.council.blind for s in c.states.values()))


def definitions_path() -> Path:
    return Path(os.environ.get("GRANTFLOW_DEFINITIONS", DEFAULT_DEFINITIONS))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> Registry:
    return Registry.load([path])


@lru_cache(maxsize=4)
def _registry_named(setting: str | None) -> Registry:
    return _load_cached(str(Path(setting) if setting is not None else DEFAULT_DEFINITIONS))  # = definitions_path()


def default_registry() -> Registry:
    """The registry of the shipped (or ``GRANTFLOW_DEFINITIONS``) definitions, compiled once per process. Asked
    on every write and for every row of a page: the setting is looked up, no path is built."""
    return _registry_named(os.environ.get("GRANTFLOW_DEFINITIONS"))
