"""Per-proposal documents as DOCX (docxtpl): each opens with python-docx and carries the proposal's facts."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from conftest import PROVINCE, login
from docx import Document

from app.models.stages import Funding

KINDS = ("funding-decision", "contract", "acceptance", "settlement")


def _text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


@pytest.fixture
def client(app: Any, db: Any, sample: Any, make_user: Any) -> Any:
    """P1 (Đại Từ, machinery, 180M approved, settled at 170M) with its contract and acceptance recorded."""
    funding = db.query(Funding).filter_by(proposal_id=sample.proposals[0].id).one()
    funding.contract_number, funding.contract_date = "HĐ 07/2019/TTKC", dt.date(2019, 2, 20)
    funding.accepted_on, funding.acceptance_members = dt.date(2019, 9, 1), ["Nguyễn Văn A", "Trần Thị B"]
    db.commit()
    make_user("ttkc_docx", "centre_officer", PROVINCE)
    c = app.test_client()
    assert login(c, "ttkc_docx").status_code == 302
    return c


def test_each_document_as_docx_holds_the_proposals_facts(client: Any, sample: Any) -> None:
    p1 = sample.proposals[0]
    for kind in KINDS:
        response = client.get(f"/proposals/{p1.id}/documents/{kind}.docx")
        assert response.status_code == 200, kind
        assert response.mimetype.endswith("wordprocessingml.document")
        text = _text(response.get_data())
        assert "KC-2019-0001" in text and "Đề án mẫu 1" in text and "Hợp tác xã thử nghiệm báo cáo" in text
        assert "180.000.000 ₫" in text  # approved, Vietnamese grouping
        assert "{{" not in text and "}}" not in text  # every tag filled
    assert "Số: QĐ 1/QĐ-SCT · Ngày 01/02/2019" in _text(
        client.get(f"/proposals/{p1.id}/documents/funding-decision.docx").get_data())
    assert "HĐ 07/2019/TTKC" in _text(client.get(f"/proposals/{p1.id}/documents/contract.docx").get_data())
    acceptance = _text(client.get(f"/proposals/{p1.id}/documents/acceptance.docx").get_data())
    assert "01/09/2019" in acceptance and "Nguyễn Văn A; Trần Thị B" in acceptance
    assert "150.000.000 ₫" in acceptance  # advances 100M + 50M
    settlement = _text(client.get(f"/proposals/{p1.id}/documents/settlement.docx").get_data())
    assert "170.000.000 ₫" in settlement and "0 ₫" in settlement


def test_docx_refused_while_the_facts_are_missing_or_out_of_scope(client: Any, app: Any, sample: Any,
                                                                  make_user: Any) -> None:
    waiting = sample.proposals[4]  # P5: no funding decision yet
    assert client.get(f"/proposals/{waiting.id}/documents/funding-decision.docx").status_code == 409
    page = client.get(f"/proposals/{sample.proposals[0].id}/documents/contract").get_data(as_text=True)
    assert 'id="document-docx"' in page
    make_user("huyen_docx", "district_officer", "173")
    other = app.test_client()
    assert login(other, "huyen_docx").status_code == 302
    assert other.get(f"/proposals/{sample.proposals[0].id}/documents/contract.docx").status_code == 404
