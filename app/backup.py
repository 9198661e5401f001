"""Consistent backups and restores: the database (SQLite online backup API, or pg_dump -Fc) and the uploaded
files, with a manifest of sha256s that a restore checks before it touches anything.

A plain ``cp`` of a live SQLite file misses what is still in its WAL; the backup API copies a consistent
snapshot while the application keeps serving.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from workflow.storage import is_sqlite

MANIFEST = "manifest.json"
SQLITE_FILE, PG_FILE = "database.sqlite", "database.dump"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why (nothing was changed)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def backup(database_url: str, upload_dir: Path, destination: Path) -> Path:
    """Write a new backup directory under ``destination`` and return it."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = destination / f"grantflow-{stamp}"
    (target / "uploads").mkdir(parents=True)
    if is_sqlite(database_url):
        db_file = target / SQLITE_FILE
        source, copy = sqlite3.connect(_sqlite_path(database_url)), sqlite3.connect(db_file)
        try:
            source.backup(copy)  # a consistent snapshot, WAL included, while others keep writing
        finally:
            copy.close()
            source.close()
    else:
        db_file = target / PG_FILE
        subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(db_file), _libpq_url(database_url)],
                       check=True, capture_output=True)
    uploads: dict[str, str] = {}
    if upload_dir.is_dir():
        for path in sorted(p for p in upload_dir.iterdir() if p.is_file()):
            shutil.copy2(path, target / "uploads" / path.name)
            uploads[path.name] = sha256_of(target / "uploads" / path.name)
    manifest = {"created_at": dt.datetime.now(dt.UTC).isoformat(), "database": {
        "kind": "sqlite" if is_sqlite(database_url) else "postgresql", "file": db_file.name,
        "sha256": sha256_of(db_file)}, "uploads": uploads}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return target


def check(source: Path) -> dict:  # type: ignore[type-arg]
    """The backup's manifest, after checking every file it lists against its sha256."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST}: not a readable backup manifest ({exc})") from exc
    files = {manifest["database"]["file"]: manifest["database"]["sha256"],
             **{f"uploads/{name}": digest for name, digest in manifest["uploads"].items()}}
    for name, digest in files.items():
        path = source / name
        if not path.is_file() or sha256_of(path) != digest:
            raise BackupError(f"{path}: missing or its sha256 differs from the manifest; nothing was restored")
    return manifest


def restore(source: Path, database_url: str, upload_dir: Path) -> dict:  # type: ignore[type-arg]
    """Replace the database and uploads with the backup's (checked first). Stop the application first."""
    manifest = check(source)
    kind = manifest["database"]["kind"]
    if kind != ("sqlite" if is_sqlite(database_url) else "postgresql"):
        raise BackupError(f"the backup holds a {kind} database; DATABASE_URL points at another kind")
    db_file = source / manifest["database"]["file"]
    if kind == "sqlite":
        path = _sqlite_path(database_url)
        staged = path.with_name(path.name + ".restoring")
        shutil.copyfile(db_file, staged)
        for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)  # an old WAL must never be replayed onto the restored file
        os.replace(staged, path)
    else:
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                        "-d", _libpq_url(database_url), str(db_file)], check=True, capture_output=True)
    upload_dir.mkdir(parents=True, exist_ok=True)
    for name in manifest["uploads"]:
        shutil.copy2(source / "uploads" / name, upload_dir / name)
    return manifest
