"""Per-proposal documents as DOCX: the funding decision, contract, acceptance record, liquidation and
settlement, filled by docxtpl from the templates in app/reports/docx (built by tools/build_docx_templates.py)
with what the system holds. The printable HTML versions (reports/document.html) read the same facts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate

from app.formatting import date, vnd
from app.models.proposals import CATEGORIES

TEMPLATES = Path(__file__).resolve().parent / "docx"
BLANK_DATE = "……/……/……"  # left to fill by hand when the system does not hold it yet


def context(kind: str, proposal: Any, funding: Any, advanced: int, province: str,
            unit_name: Any) -> dict[str, str]:
    """The template's fields, as text in Vietnamese format (amounts ``1.234.000 ₫``, dates dd/mm/yyyy)."""
    f = funding
    return {
        "issuer_top": f"UBND {province.upper()}" if kind == "funding-decision" else "TRUNG TÂM KHUYẾN CÔNG",
        "issuer": "SỞ CÔNG THƯƠNG" if kind == "funding-decision" else province,
        "code": proposal.code, "title": proposal.title, "organisation": proposal.organisation.name,
        "place": f"{unit_name(proposal.commune_code)}, {unit_name(proposal.district_code)}",
        "category": CATEGORIES.get(proposal.category, (proposal.category, ""))[0],
        "total_cost": vnd(proposal.total_cost), "approved": vnd(f.approved_amount),
        "counterpart": vnd(proposal.counterpart_funds), "fund": f"{f.envelope.fund} năm {f.envelope.year}",
        "decision_number": f.decision_number, "decision_date": date(f.decision_date),
        "contract_number": f.contract_number or "……", "contract_date": date(f.contract_date) or BLANK_DATE,
        "end_date": date(f.end_date) or BLANK_DATE, "accepted_on": date(f.accepted_on) or BLANK_DATE,
        "members": "; ".join(f.acceptance_members or []), "conclusion": f.acceptance_conclusion or "",
        "advanced": vnd(advanced), "settled": vnd(f.disbursed_total), "refund": vnd(f.refund_amount or 0),
        "content": f.content or "",
    }


def render(kind: str, fields: dict[str, str]) -> bytes:
    template = DocxTemplate(str(TEMPLATES / f"{kind}.docx"))
    template.render(fields, autoescape=True)  # "&" or "<" in a title must not break the XML
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()
