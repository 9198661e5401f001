"""Proposal search through an index: ``search_text`` holds the folded title, code, organisation and places.

PostgreSQL answers ``LIKE '%word%'`` from a trigram index on the column. SQLite asks the FTS5 trigram table
``proposal_search`` (migration 0011) once for all words: a MATCH of quoted substrings (three characters or
more), shorter words by GLOB within those rows.
"""

from __future__ import annotations

import re
from typing import Any

from flask_login import current_user
from sqlalchemy import and_, column, literal, select, table, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from app.extensions import db_session
from app.models import Proposal
from app.models.proposals import fold
from app.scoping import visible_proposals

_SEARCH = table("proposal_search", column("rowid"), column("search_text"), column("proposal_search"))
_GLOB_SPECIAL = {"*": "[*]", "?": "[?]", "[": "[[]"}


def _like(word: str) -> Any:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Proposal.search_text.like(f"%{escaped}%", escape="\\")


def search_clause(session: Session, words: list[str], *, probe: bool = False) -> Any:
    """Proposals whose search text contains every one of ``words`` (already folded). ``probe``, for a page of a
    sorted list: on SQLite the matches become a set probed along the list's (scope, year, code) index rather than
    the rows to start from. Started from the matches, a common word reads and sorts thousands of rows for one page;
    probed, the page ends after its rows, and a rare word costs one walk of the scope's index entries. Counts and
    sums, which read every match anyway, start from the matches."""
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
    matches = select(_SEARCH.c.rowid).where(*conditions)
    if probe:  # ``+id`` keeps SQLite from starting at the matches
        return UnaryExpression(Proposal.id.expression, operator=custom_op("+"), type_=Proposal.id.type).in_(matches)
    return Proposal.id.in_(matches)


def filtered(args: Any, *, probe: bool = False) -> Any:
    """The caller's proposals narrowed by the list's query parameters (pages, API and reports share it);
    ``probe``: see :func:`search_clause`."""
    stmt = visible_proposals(current_user)
    if args.get("state"):
        stmt = stmt.where(Proposal.wf_state == args["state"])
    if args.get("unit"):
        unit = args["unit"]
        stmt = stmt.where((Proposal.district_code == unit) | (Proposal.commune_code == unit))
    if args.get("category"):
        stmt = stmt.where(Proposal.category == args["category"])
    if re.fullmatch(r"[0-9]{4}", args.get("year", "")):  # a plan year; anything else ("²", 10**20) is ignored
        stmt = stmt.where(Proposal.year == int(args["year"]))
    words = fold(args.get("q", "")).split()[:8]
    return stmt.where(search_clause(db_session(), words, probe=probe)) if words else stmt
