"""Pages of long lists whose cost does not grow with the table: bounded counts and deferred-join pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

COUNT_LIMIT = 10_000  # beyond this a list says "more than 10,000" rather than counting every row
MAX_PAGE = 100_000  # keeps the offset within what the database can take (a huge page is a 500 otherwise)


def page_number(raw: object, max_page: int = MAX_PAGE) -> int:
    """The 1-based page a query argument asks for: anything but a whole number is page 1; clamped to
    1..max_page (every list pages through here, so none can be driven past what the database takes)."""
    try:
        page = int(str(raw).strip()) if raw is not None else 1
    except ValueError:  # not a number, or more digits than int() takes
        return 1
    return min(max(page, 1), max_page)


@dataclass(frozen=True)
class Count:
    """Rows matching, counted up to COUNT_LIMIT; ``exact`` is False when there are more."""

    value: int
    exact: bool

    def pages(self, per_page: int) -> int:
        return max(1, -(-self.value // per_page))


def bounded_count(session: Session, stmt: Select[Any], limit: int = COUNT_LIMIT) -> Count:
    """Counts matching rows up to ``limit`` + 1 without reading their columns."""
    rows: Any = stmt.with_only_columns(literal_column("1"), maintain_column_froms=True).order_by(None).limit(limit + 1)
    found = session.scalar(select(func.count()).select_from(rows.subquery())) or 0
    return Count(min(found, limit), found <= limit)


def page_window(stmt: Select[Any], page: int, per_page: int) -> Select[Any]:
    """``stmt`` limited to the page's rows plus one (whether another page follows) for lists whose rows are not
    one entity (:func:`page_rows` is for those that are)."""
    page = min(max(page, 1), MAX_PAGE)
    return stmt.limit(per_page + 1).offset((page - 1) * per_page)


def page_rows(session: Session, stmt: Select[Any], key: Any, order: tuple[Any, ...], page: int,
              per_page: int) -> tuple[list[Any], bool]:
    """The page's rows and whether another page follows. The page's keys come first from the index alone
    (a deep offset skips index entries, not whole rows); then only those rows are loaded."""
    page = min(max(page, 1), MAX_PAGE)
    keys = session.scalars(stmt.with_only_columns(key).order_by(*order)
                           .limit(per_page + 1).offset((page - 1) * per_page)).all()
    wanted = keys[:per_page]
    if not wanted:
        return [], False
    entity = stmt.column_descriptions[0]["entity"]
    by_key = {getattr(row, key.key): row for row in session.scalars(select(entity).where(key.in_(wanted)))}
    return [by_key[k] for k in wanted if k in by_key], len(keys) > per_page
