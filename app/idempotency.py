"""Idempotent creates: a repeated request with the same key gets the first answer instead of a second row.

The key is claimed by inserting its row at the start of the request, in the request's transaction: a
concurrent twin's INSERT waits on the unique key until the first commits, then finds the stored answer. A
failed request rolls back its claim, so the same key may be retried. Web create forms carry a key in a hidden
field; API clients send ``Idempotency-Key`` on POSTs.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import IdempotencyKey

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,100}")
BAD_KEY = {"vi": "Khóa chống gửi trùng (Idempotency-Key) phải gồm 1–100 chữ, số hoặc . _ : -",
           "en": "The Idempotency-Key must be 1–100 letters, digits or . _ : -"}
REUSED_KEY = {"vi": "Khóa chống gửi trùng này đã được dùng cho một yêu cầu khác",
              "en": "This idempotency key was already used for a different request"}


def new_key() -> str:
    return uuid.uuid4().hex


def valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def claim(session: Session, user_id: int, key: str, method: str, path: str) -> IdempotencyKey | None:
    """Claim ``key`` for this request (None), or the earlier request's stored answer."""
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(user_id=user_id, key=key, method=method, path=path[:255], status=0))
        return None
    except IntegrityError:
        return session.get(IdempotencyKey, (user_id, key), populate_existing=True)


def matches(earlier: IdempotencyKey, method: str, path: str) -> bool:
    return (earlier.method, earlier.path) == (method, path[:255])


def complete(session: Session, user_id: int, key: str, status: int, location: str | None,
             body: object = None) -> None:
    """Store the answer on the claimed row (committed with the request's own changes)."""
    record = session.get(IdempotencyKey, (user_id, key))
    if record is not None:
        record.status, record.location, record.body = status, location, body
