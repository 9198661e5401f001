"""Fault-injection fixtures: an engine on a fresh database and committed proposals (as tests/persistence)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from persistence.world import new_proposal, seed_places
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.models import Organisation, Proposal
from workflow.storage import create_db_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url, pool_size=25)  # a connection per racing thread
    yield engine
    engine.dispose()


def _maker(engine: Engine) -> Callable[..., Proposal]:
    with Session(engine, expire_on_commit=False) as session:
        org: Organisation = seed_places(session)
        session.commit()

    def make(version: int = 1, **fields: Any) -> Proposal:
        with Session(engine, expire_on_commit=False) as session:
            proposal = new_proposal(session, org, version, **fields)
            session.commit()
        return proposal

    return make


@pytest.fixture
def make_pg_proposal(pg_engine: Engine) -> Callable[..., Proposal]:
    return _maker(pg_engine)


from api.world import app, world  # noqa: E402,F401  (the API tests' app (SQLite, or PostgreSQL by param) and world)

ON_POSTGRES = pytest.mark.parametrize("app", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
