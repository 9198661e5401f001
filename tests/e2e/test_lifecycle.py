"""One proposal through its whole lifecycle, in a real Chromium against a real server, each step done through the
pages by the person whose job it is: from a draft to ``evaluated``, then the timeline and the auditor's chain
verification; and an applicant of another organisation gets a 404 for the proposal's address.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import pytest

from .conftest import Cast, People, Person

pytestmark = pytest.mark.browser

TOTAL_COST, REQUESTED = 400_000_000, 190_000_000  # machinery: under the 50 % / 200 m cap
APPROVED = 180_000_000
ENVELOPE = 3_500_000_000
ADVANCE = 120_000_000  # at most 70 % of the approved support
SHEETS = [  # points per criterion (max 20, 25, 20, 20, 5, 10) of the four members who score
    {"fit_priority": 16, "necessity_effect": 20, "cost_counterpart": 16, "capacity": 16, "links": 4, "dossier": 8},
    {"fit_priority": 18, "necessity_effect": 21, "cost_counterpart": 15, "capacity": 17, "links": 4, "dossier": 9},
    {"fit_priority": 15, "necessity_effect": 19, "cost_counterpart": 16, "capacity": 15, "links": 3, "dossier": 9},
    {"fit_priority": 17, "necessity_effect": 22, "cost_counterpart": 17, "capacity": 16, "links": 4, "dossier": 10},
]


# --- small real documents, made here ---------------------------------------------------------------------------

def pdf(text: str) -> bytes:
    """A valid one-page PDF with a correct cross-reference table."""
    body = f"BT /F1 14 Tf 50 780 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png(width: int = 16, height: int = 12) -> bytes:
    """A valid RGB PNG (a small gradient, standing in for a photographed document)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 15, y * 20, 120)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def document(name: str) -> dict[str, Any]:
    if name.endswith(".png"):
        return {"name": name, "mimeType": "image/png", "buffer": png()}
    return {"name": name, "mimeType": "application/pdf", "buffer": pdf(name)}


# --- page helpers ---------------------------------------------------------------------------------------------

def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def expect() -> Any:
    from playwright.sync_api import expect as _expect

    return _expect


def open_proposal(cast: Cast, person: Person, pid: int) -> Any:
    page = cast.page(person)
    page.goto(cast.url(f"/proposals/{pid}"))
    expect()(page.locator("#proposal-state")).to_be_visible()
    return page


def state_of(page: Any) -> str:
    return page.locator("#proposal-state").get_attribute("data-state")


def expect_state(page: Any, state: str) -> None:
    expect()(page.locator("#proposal-state")).to_have_attribute("data-state", state)


def fire(cast: Cast, person: Person, pid: int, trigger: str, **inputs: str) -> Any:
    """Open the proposal page, click the action's button, fill exactly its form, confirm; back on the page."""
    page = open_proposal(cast, person, pid)
    button = page.locator(f"#action-{trigger}")
    expect()(button, f"{person.username} has no '{trigger}' button").to_be_visible()
    button.click()
    form = page.locator(f"#action-form-{trigger}")
    expect()(form).to_be_visible()
    for name, value in inputs.items():
        form.locator(f"[name='{name}']").fill(value)
    form.locator(f"#confirm-{trigger}").click()
    expect()(page.locator("#proposal-state"), f"'{trigger}' did not go back to the proposal page").to_be_visible()
    expect()(page.locator("#action-reasons")).to_have_count(0)
    return page


def upload(page: Any, kind: str, filename: str) -> None:
    page.select_option("#kind", kind)
    page.set_input_files("#file", document(filename))
    page.click("#upload-submit")
    expect()(page.locator("#attachments .files li", has_text=filename)).to_be_visible()


def check_timeline(page: Any, actions: list[str]) -> None:
    """The proposal page's history holds one entry per step, in this order (other entries may sit between)."""
    timeline = page.locator("#timeline li")
    expect()(timeline.last).to_be_visible()
    shown = [item.get_attribute("data-action") for item in timeline.all()]
    refused = page.locator("#timeline li.outcome-refused").count()
    assert refused == 0, f"the history shows {refused} refused attempts: {shown}"
    position = 0
    for action in actions:
        assert action in shown[position:], f"the history lacks '{action}' after step {position}: {shown}"
        position = shown.index(action, position) + 1


def check_chain(cast: Cast, auditor: Person) -> None:
    """The auditor opens "verify the chain" from the audit log: intact, with a head digest."""
    page = cast.page(auditor)
    page.click("#nav-audit")
    page.click("#verify-link")
    expect()(page.locator("#verify-result")).to_have_attribute("data-ok", "true")
    expect()(page.locator("#verify-problems")).to_have_count(0)
    expect()(page.locator("#head-digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    assert int(page.locator("#verify-count").inner_text()) > 0


# --- the story ----------------------------------------------------------------------------------------------

def test_whole_lifecycle_in_the_browser(cast: Cast, people: People) -> None:
    # 1. The applicant drafts the proposal.
    cast.step = "applicant creates a draft"
    page = cast.page(people.applicant)
    page.click("#nav-new")
    form = page.locator("#proposal-form")
    expect()(form).to_be_visible()
    page.fill("#title", "Đầu tư dây chuyền sao sấy chè chân không La Bằng")
    page.select_option("#commune_code", "05761")
    page.select_option("#category", "machinery")
    page.select_option("#sector", "agro_processing")
    page.fill("#total_cost", vnd(TOTAL_COST))
    page.fill("#requested_support", vnd(REQUESTED))
    page.fill("#counterpart_funds", vnd(TOTAL_COST - REQUESTED))
    page.fill("#duration_months", "12")
    page.fill("#objectives", "Nâng cao chất lượng chè búp khô, giảm hao hụt khi sao sấy")
    page.fill("#expected_results", "Sản lượng chè khô tăng 30 %, giữ được hương cốm")
    page.fill("#expected_jobs", "6")
    page.fill("#expected_output", "25 tấn chè khô/năm")
    page.click("#proposal-save")
    expect_state(page, "draft")
    pid = int(re.search(r"/proposals/(\d+)", page.url).group(1))
    expect()(page.locator("#proposal-title")).to_have_text("Đầu tư dây chuyền sao sấy chè chân không La Bằng")
    expect()(page.locator("#field-requested_support")).to_contain_text(vnd(REQUESTED))
    expect()(page.locator("#action-submit")).to_have_count(0)  # not before the dossier is complete: explain says so
    expect()(page.locator("#refused-actions")).to_contain_text("non_duplication")

    # 2. The dossier: business registration (PNG scan), supplier quotes and the non-duplication commitment (PDF).
    cast.step = "applicant uploads the dossier"
    upload(page, "business_registration", "giay-dang-ky-kinh-doanh.png")
    upload(page, "quotes", "bao-gia-may-sao-che.pdf")
    upload(page, "non_duplication", "cam-ket-khong-trung-lap.pdf")
    expect()(page.locator("#attachments .files li")).to_have_count(3)
    expect()(page.locator("#action-submit")).to_be_visible()

    # 3. Submit. New proposals are filed for next year's plan, after the 2025 reform: the commune reviews (v2).
    cast.step = "applicant submits"
    page = fire(cast, people.applicant, pid, "submit")
    local_state = state_of(page)
    assert local_state in ("local_review", "district_review"), local_state
    local_officer = people.commune_officer if local_state == "local_review" else people.district_officer

    # 4. The local officer forwards it to the province with a comment.
    cast.step = f"{local_officer.role} forwards"
    page = fire(cast, local_officer, pid, "forward", comment="Đã kiểm tra thực tế tại cơ sở, hồ sơ đầy đủ.")
    expect_state(page, "provincial_appraisal")

    # An applicant of another organisation: the proposal's address is a 404 page, nothing of it shown.
    cast.step = "another organisation's applicant gets a 404"
    outsider = cast.page(people.other_applicant)
    response = outsider.goto(cast.url(f"/proposals/{pid}"))
    assert response is not None and response.status == 404, response and response.status
    expect()(outsider.locator("#error-404")).to_be_visible()
    expect()(outsider.locator("body")).not_to_contain_text("La Bằng")

    check_timeline(open_proposal(cast, people.applicant, pid), ["create", "attach", "submit", "forward"])
    check_chain(cast, people.auditor)

    # 5. The centre officer forms a council of five; one member declares a conflict; four score.
    cast.step = "centre officer assigns the council"
    page = open_proposal(cast, people.centre_officer, pid)
    council = page.locator("#council")
    expect()(council, "the proposal page has no council panel (#council) yet").to_be_visible()
    pytest.fail("TODO: council steps")  # extended as the stage pages appear
