"""What the installed package reads and writes: its data through importlib.resources, runtime files only in the
instance folder. (.ci/wheel-smoke runs the built wheel itself, outside the repository.)"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_data_is_the_repositorys_data() -> None:
    from app.common.caps import CAPS_DIR
    from app.schema import MIGRATIONS
    from workflow.registry import DEFAULT_DEFINITIONS

    assert (ROOT / "definitions").resolve() == DEFAULT_DEFINITIONS
    assert (ROOT / "migrations").resolve() == MIGRATIONS
    assert (ROOT / "config" / "caps").resolve() == CAPS_DIR
    assert any(DEFAULT_DEFINITIONS.rglob("*.yaml")) and any(MIGRATIONS.glob("versions/*.py"))


def test_runtime_files_go_to_the_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import create_app

    instance = tmp_path / "instance"
    monkeypatch.setenv("GRANTFLOW_INSTANCE_PATH", str(instance))
    for name in ("SECRET_KEY", "DATABASE_URL", "UPLOAD_DIR", "SECURITY_LOG"):
        monkeypatch.delenv(name, raising=False)
    first = create_app({"TESTING": True})
    second = create_app({"TESTING": True})
    assert first.instance_path == str(instance)
    key = (instance / "secret_key").read_text().strip()
    assert len(key) == 64 and first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key
    assert first.config["DATABASE_URL"] == f"sqlite:///{instance / 'grantflow.sqlite'}"
    assert first.config["UPLOAD_DIR"] == str(instance / "uploads")
    assert first.config["SECURITY_LOG"] == str(instance / "log" / "security.log")


def test_a_given_secret_key_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import create_app

    monkeypatch.setenv("GRANTFLOW_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    application = create_app({"TESTING": True, "SECRET_KEY": "given", "DATABASE_URL": "sqlite://"})
    assert application.config["SECRET_KEY"] == "given"
    assert not (tmp_path / "instance" / "secret_key").exists()
