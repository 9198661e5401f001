"""Downgrades that would drop tables holding data refuse unless forced; the alembic CLI honours DATABASE_URL."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from app.schema import alembic_config, current_revision, upgrade

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_downgrade_over_data_refuses_unless_forced(database_url):
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO proposal_code_counter (year, last_number) VALUES (2026, 7)"))
    engine.dispose()
    with pytest.raises(SystemExit, match=r"proposal_code_counter \(0004_reliability\)"):
        command.downgrade(alembic_config(database_url), "0003_stages")
    assert "proposal_code_counter" in _tables(database_url)  # nothing dropped

    forced = alembic_config(database_url)
    forced.cmd_opts = argparse.Namespace(x=["force=1"])
    command.downgrade(forced, "0003_stages")
    assert "proposal_code_counter" not in _tables(database_url)


def test_a_downgrade_of_empty_tables_goes_ahead(database_url):
    # Named, not "-1": each branch adds its own newest revision (0014_reports_perf: proposal_stay).
    command.downgrade(alembic_config(database_url), "0010_security_trail")  # the newer tables are empty
    assert not {"audit_verification", "proposal_stay"} & _tables(database_url)
    command.upgrade(alembic_config(database_url), "head")


def test_the_alembic_command_line_uses_database_url(sqlite_url):
    result = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "current"],
                            cwd=ROOT, env={**os.environ, "DATABASE_URL": sqlite_url}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout  # the migrated test database, not alembic.ini's var/grantflow.sqlite


@pytest.mark.postgres
def test_an_upgrade_that_applied_revisions_refreshes_postgresql_statistics(postgres_url):
    command.downgrade(alembic_config(postgres_url), "0017_chain_head")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_reset()"))
        upgrade(postgres_url)  # 0018 and later: the VACUUM (ANALYZE) after them
        with engine.connect() as conn:
            vacuumed, analysed = conn.execute(text(
                "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'proposal'")).one()
    finally:
        engine.dispose()
    assert vacuumed and analysed
    assert current_revision(postgres_url) == ScriptDirectory.from_config(alembic_config(postgres_url)).get_current_head()
