"""Attachments: type checked by content, stored under server-generated names with a sha256 checksum.

The client's file name is kept for display only and never touches the file system.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import IO

import filetype
from flask import current_app, g, has_request_context

# Detected MIME type -> extension. DOCX/XLSX are ZIP containers that filetype recognises by their parts.
PENDING_UPLOADS = "uploads_pending"
ALLOWED = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


class RejectedFile(ValueError):
    """The upload is empty or not one of the allowed types (judged by content, not by name)."""

    def __init__(self, message: dict[str, str]):
        self.message = message
        super().__init__(message["en"])


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def display_name(name: str | None) -> str:
    """The last path component, trimmed: '../../etc/passwd' shows as 'passwd'."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    return base[:255] or "file"


def store(stream: IO[bytes]) -> tuple[str, str, int, str]:
    """Check and save; returns (stored_name, mime type, size, sha256)."""
    data = stream.read()
    if not data:
        raise RejectedFile({"vi": "Tệp rỗng", "en": "The file is empty"})
    kind = filetype.guess(data)
    mime = kind.mime if kind is not None else None
    if mime not in ALLOWED:
        raise RejectedFile({"vi": "Chỉ nhận tệp PDF, JPEG, PNG, DOCX hoặc XLSX (kiểm tra theo nội dung tệp)",
                            "en": "Only PDF, JPEG, PNG, DOCX or XLSX files are accepted (checked by content)"})
    stored = f"{uuid.uuid4().hex}.{ALLOWED[mime]}"
    target = upload_dir() / stored
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    if has_request_context():  # swept at the request's end unless its transaction commits (see app.extensions)
        g.setdefault(PENDING_UPLOADS, []).append(stored)
    return stored, mime, len(data), hashlib.sha256(data).hexdigest()


def sweep_uncommitted() -> None:
    """Remove the files this request stored when its transaction did not commit (no row, no file)."""
    for stored_name in g.pop(PENDING_UPLOADS, []):
        discard(stored_name)


def path_of(stored_name: str) -> Path:
    return upload_dir() / Path(stored_name).name


def discard(stored_name: str) -> None:
    """Remove a file whose database row was not written (the request failed after storing it)."""
    path_of(stored_name).unlink(missing_ok=True)
