"""The seed article, reproduced from the demo: a 2016–2020 report shows 188 projects carried out across the
9 former district-level units, 146 of them machinery and technology transfer — computed from the data.

"Carried out": reached ``implementing`` or a later state (implemented, settled, evaluated) and not terminated.
The report reads that from the current state; this test recounts it independently from the audit trail.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import login
from sqlalchemy import String, cast, distinct, func, select

from app.models import Proposal
from workflow.audit import AuditEvent

LATER = ("implementing", "implemented", "settled", "evaluated")


@pytest.fixture
def demo_report(app: Any, db: Any) -> dict[str, Any]:
    if app.extensions["db_engine"].dialect.name != "sqlite":
        pytest.skip("the demo loads once, on SQLite: it takes minutes (tests/app loads it on PostgreSQL too)")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    from_trail = db.execute(
        select(func.count(distinct(Proposal.id)), func.count(distinct(Proposal.district_code)),
               func.count(distinct(Proposal.id)).filter(Proposal.category == "machinery"))
        .join(AuditEvent, (AuditEvent.subject_type == "proposal")
              & (AuditEvent.subject_id == cast(Proposal.id, String)))
        .where(Proposal.year.between(2016, 2020), AuditEvent.to_state.in_(LATER),
               Proposal.wf_state != "terminated")).one()
    db.rollback()
    client = app.test_client()
    assert login(client, "giamdoc").status_code == 302
    html = client.get("/reports/period?period=2016-2020").get_data(as_text=True)
    summary = html.split('id="report-summary"')[1].split("</table>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", summary)
    figures = dict(zip(cells[::2], cells[1::2], strict=True))
    return {"report": (int(figures["Số đề án được thực hiện"]),
                       int(figures["Số đơn vị cấp huyện có đề án được thực hiện"]),
                       int(figures["Trong đó: chuyển giao, ứng dụng máy móc thiết bị"])),
            "trail": tuple(from_trail)}


def test_the_report_reproduces_the_seed_article(demo_report: dict[str, Any]) -> None:
    assert demo_report["report"] == demo_report["trail"]
    assert demo_report["report"] == (188, 9, 146)  # projects carried out, former district units, machinery
