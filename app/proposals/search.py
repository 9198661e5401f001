"""Proposal search through an index: ``search_text`` holds the folded title, code, organisation and places.

PostgreSQL answers ``LIKE '%word%'`` from a trigram index on the column; SQLite from the FTS5 trigram table
``proposal_search`` (migration 0011), asked with GLOB, the pattern form its index serves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, literal, select, table
from sqlalchemy.orm import Session

from app.models import Proposal

_SEARCH = table("proposal_search", column("rowid"), column("search_text"))
_GLOB_SPECIAL = {"*": "[*]", "?": "[?]", "[": "[[]"}


def search_clause(session: Session, word: str) -> Any:
    """Proposals whose search text contains ``word`` (already folded)."""
    if session.get_bind().dialect.name == "sqlite":
        pattern = "*" + "".join(_GLOB_SPECIAL.get(ch, ch) for ch in word) + "*"
        return Proposal.id.in_(select(_SEARCH.c.rowid).where(_SEARCH.c.search_text.op("GLOB")(literal(pattern))))
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Proposal.search_text.like(f"%{escaped}%", escape="\\")
