"""Proposal search through an index: ``search_text`` holds the folded title, code, organisation and places.

PostgreSQL answers ``LIKE '%word%'`` from a trigram index on the column. SQLite asks the FTS5 trigram table
``proposal_search`` (migration 0011) once for all words: a MATCH of quoted substrings (three characters or
more), shorter words by GLOB within those rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, column, literal, select, table, true
from sqlalchemy.orm import Session

from app.models import Proposal

_SEARCH = table("proposal_search", column("rowid"), column("search_text"), column("proposal_search"))
_GLOB_SPECIAL = {"*": "[*]", "?": "[?]", "[": "[[]"}


def _like(word: str) -> Any:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Proposal.search_text.like(f"%{escaped}%", escape="\\")


def search_clause(session: Session, words: list[str]) -> Any:
    """Proposals whose search text contains every one of ``words`` (already folded)."""
    if not words:
        return true()
    if session.get_bind().dialect.name != "sqlite":
        return and_(*(_like(w) for w in words))
    long = [w for w in words if len(w) >= 3]
    short = [w for w in words if len(w) < 3]
    conditions = [_SEARCH.c.search_text.op("GLOB")(literal("*" + "".join(_GLOB_SPECIAL.get(c, c) for c in w) + "*"))
                  for w in short]
    if long:  # a trigram MATCH of each quoted word is a substring test the index answers
        phrase = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
        conditions.insert(0, _SEARCH.c.proposal_search.op("MATCH")(literal(phrase)))
    return Proposal.id.in_(select(_SEARCH.c.rowid).where(*conditions))
