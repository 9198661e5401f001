"""The named permission predicates used by ``@requires``. Each takes the logged-in user.

Coarse checks only (may this kind of user reach this page at all); object scope is app.scoping's job and
the engine's ``explain`` decides actions. Defining a predicate registers nothing: an area lists the ones it
brings (``Area.permissions``, app/areas.py) and create_app registers them.
"""

from __future__ import annotations

from typing import Any

PROVINCE_ROLES = frozenset({"centre_officer", "council_member", "director", "auditor", "admin"})


def logged_in(user: Any) -> bool:
    return bool(user.is_active)


def applicant(user: Any) -> bool:
    return user.is_active and "applicant" in user.roles and user.organisation_id is not None


def auditor(user: Any) -> bool:
    return user.is_active and "auditor" in user.roles


def admin(user: Any) -> bool:
    return user.is_active and "admin" in user.roles


# --- later stages (council, funding, implementation) --------------------------------------------------------

def council(user: Any) -> bool:
    """Council members and the centre officers who form councils reach the council pages."""
    return user.is_active and bool(user.roles & {"council_member", "centre_officer"})


def funding_view(user: Any) -> bool:
    return user.is_active and bool(user.roles & {"centre_officer", "director", "auditor"})


def funding_manage(user: Any) -> bool:
    """Creating budget envelopes: the centre and its director."""
    return user.is_active and bool(user.roles & {"centre_officer", "director"})


# --- reports and dashboards (issue 11) ----------------------------------------------------------------------

REPORT_ROLES = frozenset({"centre_officer", "director", "auditor", "district_officer", "commune_officer"})


def reports(user: Any) -> bool:
    """The dashboard and reports: the centre, its director, auditors, and local officers (their own units)."""
    return user.is_active and bool(user.roles & REPORT_ROLES)
