"""The named permission predicates used by ``@requires``. Each takes the logged-in user.

Coarse checks only (may this kind of user reach this page at all); object scope is app.scoping's job and
the engine's ``explain`` decides actions. Other areas append their own predicates below.
"""

from __future__ import annotations

from typing import Any

from app.access import permission

PROVINCE_ROLES = frozenset({"centre_officer", "council_member", "director", "auditor", "admin"})


@permission("logged_in")
def logged_in(user: Any) -> bool:
    return bool(user.is_active)


@permission("applicant")
def applicant(user: Any) -> bool:
    return user.is_active and "applicant" in user.roles and user.organisation_id is not None


@permission("auditor")
def auditor(user: Any) -> bool:
    return user.is_active and "auditor" in user.roles


@permission("admin")
def admin(user: Any) -> bool:
    return user.is_active and "admin" in user.roles


# --- later stages (council, funding, implementation) --------------------------------------------------------

@permission("council")
def council(user: Any) -> bool:
    """Council members and the centre officers who form councils reach the council pages."""
    return user.is_active and bool(user.roles & {"council_member", "centre_officer"})


@permission("funding_view")
def funding_view(user: Any) -> bool:
    return user.is_active and bool(user.roles & {"centre_officer", "director", "auditor"})


@permission("funding_manage")
def funding_manage(user: Any) -> bool:
    """Creating budget envelopes: the centre and its director."""
    return user.is_active and bool(user.roles & {"centre_officer", "director"})


# --- reports and dashboards (issue 11) ----------------------------------------------------------------------

REPORT_ROLES = frozenset({"centre_officer", "director", "auditor", "district_officer", "commune_officer"})


@permission("reports")
def reports(user: Any) -> bool:
    """The dashboard and reports: the centre, its director, auditors, and local officers (their own units)."""
    return user.is_active and bool(user.roles & REPORT_ROLES)
