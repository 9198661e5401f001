"""Engine test fixtures: the shipped definitions, compiled once per session."""

from __future__ import annotations

import pytest

from workflow.machine import CompiledWorkflow
from workflow.registry import DEFAULT_DEFINITIONS, Registry


@pytest.fixture(scope="session")
def shipped() -> Registry:
    return Registry.load([DEFAULT_DEFINITIONS])


@pytest.fixture(scope="session")
def v1(shipped: Registry) -> CompiledWorkflow:
    return shipped.get("khuyen-cong-local", 1)


@pytest.fixture(scope="session")
def v2(shipped: Registry) -> CompiledWorkflow:
    return shipped.get("khuyen-cong-local", 2)
