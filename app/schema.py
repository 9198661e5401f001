"""Run the Alembic migrations programmatically (``flask init-db``, tests, ``make run``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config

# Packaged with the app (in a checkout, app/migrations links to the repository's migrations/).
MIGRATIONS = Path(str(resources.files("app") / "migrations")).resolve()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
