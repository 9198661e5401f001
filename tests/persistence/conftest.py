"""Persistence fixtures: an engine on the fresh database, and committed organisations and proposals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.models import Organisation, Proposal
from persistence.world import new_proposal, seed_places
from workflow.storage import create_db_engine


@pytest.fixture(autouse=True, scope="session")
def _stage_facts() -> None:
    """The stage guards read facts that create_app hands the models (Layout); these tests drive the engine with
    no app, so a worker that runs them before any app test would otherwise find none."""
    from app import stage_facts
    from app.models.stages import StageFacts

    StageFacts.use(stage_facts)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def org(engine: Engine) -> Organisation:
    with Session(engine, expire_on_commit=False) as session:
        organisation = seed_places(session)
        session.commit()
    return organisation


@pytest.fixture
def make_proposal(engine: Engine, org: Organisation) -> Callable[..., Proposal]:
    def make(version: int = 1, **fields: Any) -> Proposal:
        with Session(engine, expire_on_commit=False) as session:
            proposal = new_proposal(session, org, version, **fields)
            session.commit()
        return proposal

    return make
