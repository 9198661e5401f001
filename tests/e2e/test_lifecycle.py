"""One proposal through its whole lifecycle, in a real Chromium against a real server, each step done through the
pages by the person whose job it is, using only what the proposal page's next-step panel offers: from a draft to
``evaluated``, then the timeline and the auditor's chain verification; and an applicant of another organisation
gets a 404 for the proposal's address. Every page visit goes through ``visit`` (one place to hook page checks).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from typing import Any

import pytest

from app.demo import demo_pdf

from .a11y import assert_accessible
from .conftest import Cast, People, Person

pytestmark = pytest.mark.browser

PLAN_YEAR = dt.date.today().year + 1  # proposals are filed for next year's plan
TOTAL_COST, REQUESTED = 400_000_000, 190_000_000  # machinery: under the 50 % / 200 m cap
APPROVED = 180_000_000
ENVELOPE = 3_500_000_000
ADVANCE = 120_000_000  # at most 70 % of the approved support
DECIDED, SIGNED = dt.date.today() - dt.timedelta(days=6), dt.date.today() - dt.timedelta(days=2)
ACCEPTANCE_RECORDS = [("acceptance_record", "bien-ban-nghiem-thu.pdf"),
                      ("purchase_contract", "hop-dong-mua-may.pdf"),
                      ("contract_liquidation", "thanh-ly-hop-dong.pdf"),
                      ("invoices", "hoa-don-gtgt.png"),
                      ("counterpart_proof", "chung-tu-von-doi-ung.pdf")]
INDICATORS = [("jobs_created", "6", "7"), ("output_increase", "30", "32"), ("machine_in_use", "yes", "yes"),
              ("revenue_change", "20", "25")]
SHEETS = [  # points per criterion (max 20, 25, 20, 20, 5, 10) of the four members who score
    {"fit_priority": 16, "necessity_effect": 20, "cost_counterpart": 16, "capacity": 16, "links": 4, "dossier": 8},
    {"fit_priority": 18, "necessity_effect": 21, "cost_counterpart": 15, "capacity": 17, "links": 4, "dossier": 9},
    {"fit_priority": 15, "necessity_effect": 19, "cost_counterpart": 16, "capacity": 15, "links": 3, "dossier": 9},
    {"fit_priority": 17, "necessity_effect": 22, "cost_counterpart": 17, "capacity": 16, "links": 4, "dossier": 10},
]


# --- small real documents, made here ---------------------------------------------------------------------------

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
    return {"name": name, "mimeType": "application/pdf", "buffer": demo_pdf(name)}


# --- page helpers ---------------------------------------------------------------------------------------------

def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def expect() -> Any:
    from playwright.sync_api import expect as _expect

    return _expect


CHECKED: set[str] = set()  # each page the walk reaches is checked once (a page of its own, not a jump within it)
PHONE = {"width": 390, "height": 844}


def visit(page: Any, url_or_click: Any) -> Any:
    """Every page the walk reaches comes through here: an address to open, or a link or button to click (which
    may only move within the page, as the panel's links to a stage's form do). Returns the response of a goto.
    Each new page is checked as it is (axe: no violation) and on a phone (no sideways scroll)."""
    if isinstance(url_or_click, str):
        response = page.goto(url_or_click)
    else:
        response = None
        url_or_click.click()
    page.wait_for_load_state()
    where = re.sub(r"\d+", "N", page.url.split("#")[0])  # a page of the same kind is checked once
    if where not in CHECKED:
        CHECKED.add(where)
        assert_accessible(page)  # a failure saves a screenshot and the page's HTML
        desktop = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            assert_accessible(page, f"{page.url} at {PHONE['width']} px")
        finally:
            page.set_viewport_size(desktop)
    return response


def open_proposal(cast: Cast, person: Person, pid: int) -> Any:
    page = cast.page(person)
    visit(page, cast.url(f"/proposals/{pid}"))
    expect()(page.locator("#proposal-state")).to_be_visible()
    return page


def follow_panel(page: Any, ident: str) -> None:
    """Take the step the next-step panel offers (it must offer it)."""
    link = page.locator(f"#next-step #{ident}")
    expect()(link, f"the next-step panel does not offer '{ident}'").to_be_visible()
    visit(page, link)


def state_of(page: Any) -> str:
    return page.locator("#proposal-state").get_attribute("data-state")


def expect_state(page: Any, state: str) -> None:
    expect()(page.locator("#proposal-state")).to_have_attribute("data-state", state)


def submit(page: Any, button: str, what: str) -> None:
    """Click a form's submit button and wait for the page it leads to; when that page is the error page or the
    form again with reasons or field errors, fail at once with what the page says."""
    with page.expect_navigation():
        visit(page, page.locator(button))
    problems = page.locator("section.card.error, #action-reasons, #form-reasons, .field-error")
    if problems.count():
        pytest.fail(f"{what} was refused ({page.url}): " + " | ".join(problems.all_inner_texts()))


def fire(cast: Cast, person: Person, pid: int, trigger: str, **inputs: str) -> Any:
    """Open the proposal page, click the action's button in the next-step panel, fill exactly its form, confirm;
    back on the page."""
    page = open_proposal(cast, person, pid)
    button = page.locator(f"#next-step #action-{trigger}")
    expect()(button, f"{person.username} has no '{trigger}' button in the panel").to_be_visible()
    with page.expect_navigation():
        visit(page, button)
    form = page.locator(f"#action-form-{trigger}")
    expect()(form).to_be_visible()
    fields = form.locator("input:not([type=hidden]), textarea, select")
    assert sorted(f.get_attribute("name") for f in fields.all()) == sorted(inputs), \
        f"the '{trigger}' form should ask for exactly {sorted(inputs)}"
    for name, value in inputs.items():
        form.locator(f"[name='{name}']").fill(value)
    submit(page, f"#confirm-{trigger}", f"'{trigger}' by {person.username}")
    expect()(page.locator("#proposal-state")).to_be_visible()
    return page


def review_page(cast: Cast, member: Person, pid: int, *, task: bool = True) -> Any:
    """A council member reaches the scoring page from the proposal page's next-step panel (or, with no task
    left, from the council card's link)."""
    page = open_proposal(cast, member, pid)
    with page.expect_navigation():
        if task:
            follow_panel(page, "next-score")
        else:
            visit(page, page.locator("#open-review"))
    expect()(page.locator("#review-proposal")).to_be_visible()
    return page


def upload(page: Any, kind: str, filename: str) -> None:
    page.select_option("#kind", kind)
    page.set_input_files("#file", document(filename))
    submit(page, "#upload-submit", f"uploading {filename}")
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
    """The auditor opens "verify the chain" from the audit log and starts a run, which goes on in the background
    while the page refreshes itself: intact, with a head digest."""
    page = cast.page(auditor)
    visit(page, page.locator("#nav-audit"))
    visit(page, page.locator("#verify-link"))
    with page.expect_navigation():
        visit(page, page.locator("#verify-start button"))
    expect()(page.locator("#verify-result")).to_have_attribute("data-ok", "true", timeout=60_000)
    expect()(page.locator("#verify-problems")).to_have_count(0)
    expect()(page.locator("#head-digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    assert int(page.locator("#verify-count").inner_text()) > 0


# --- the story ----------------------------------------------------------------------------------------------

def test_whole_lifecycle_in_the_browser(cast: Cast, people: People) -> None:
    # 1. The applicant drafts the proposal.
    cast.step = "applicant creates a draft"
    page = cast.page(people.applicant)
    visit(page, page.locator("#nav-new"))
    form = page.locator("#proposal-form")
    expect()(form).to_be_visible()
    page.fill("#title", "Đầu tư dây chuyền sao sấy chè chân không La Bằng")
    page.select_option("#commune_code", "05830")
    page.select_option("#category", "machinery")
    page.select_option("#sector", "agro_processing")
    page.fill("#year", str(PLAN_YEAR))
    page.fill("#total_cost", vnd(TOTAL_COST))
    page.fill("#requested_support", vnd(REQUESTED))
    page.fill("#counterpart_funds", vnd(TOTAL_COST - REQUESTED))
    page.fill("#duration_months", "12")
    page.fill("#objectives", "Nâng cao chất lượng chè búp khô, giảm hao hụt khi sao sấy")
    page.fill("#expected_results", "Sản lượng chè khô tăng 30 %, giữ được hương cốm")
    page.fill("#expected_jobs", "6")
    page.fill("#expected_output", "25 tấn chè khô/năm")
    submit(page, "#proposal-save", "saving the draft")
    expect_state(page, "draft")
    pid = int(re.search(r"/proposals/(\d+)", page.url).group(1))
    expect()(page.locator("#proposal-title")).to_have_text("Đầu tư dây chuyền sao sấy chè chân không La Bằng")
    expect()(page.locator("#field-requested_support")).to_contain_text(vnd(REQUESTED))
    expect()(page.locator("#action-submit")).to_have_count(0)  # not before the dossier is complete: explain says so
    expect()(page.locator("#next-checklist li.todo", has_text="Cam kết không trùng lặp")).to_be_visible()
    expect()(page.locator("#next-blockers")).to_contain_text("Cam kết không trùng lặp")  # in words, not codes

    # 2. The dossier: business registration (PNG scan), supplier quotes and the non-duplication commitment (PDF).
    cast.step = "applicant uploads the dossier"
    follow_panel(page, "next-upload-dossier")
    upload(page, "business_registration", "giay-dang-ky-kinh-doanh.png")
    upload(page, "quotes", "bao-gia-may-sao-che.pdf")
    upload(page, "non_duplication", "cam-ket-khong-trung-lap.pdf")
    expect()(page.locator("#attachments .files li")).to_have_count(3)
    expect()(page.locator("#next-checklist li.todo[data-kind='document']")).to_have_count(0)
    expect()(page.locator("#next-step #action-submit")).to_be_visible()

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

    # 5. The centre officer forms a council of five.
    cast.step = "centre officer assigns the council"
    page = open_proposal(cast, people.centre_officer, pid)
    follow_panel(page, "next-assign-council")
    council = page.locator("#council")
    expect()(council, "the proposal page has no council panel").to_be_visible()
    for n, member in enumerate(people.members, 1):
        page.select_option("#assign-user", label=member.full_name)
        submit(page, "#assign-submit", f"assigning {member.username}")
        expect()(page.locator("#council-table tbody tr")).to_have_count(n)
        expect()(page.locator("#council-table tbody tr", has_text=member.full_name)).to_be_visible()
    expect()(page.locator("#action-shortlist")).to_have_count(0)  # no quorum yet: explain says why
    expect()(page.locator("#next-blockers")).to_contain_text("cần ít nhất 4")  # quorum: 2/3 of the 5 assigned

    # 6. One member declares a conflict of interest; the other four score.
    cast.step = "a council member declares a conflict"
    recused = people.members[-1]
    page = review_page(cast, recused, pid)
    page.select_option("#recusal-kind", "conflict")
    page.fill("#recusal-reason", "Tôi có người thân là thành viên của hợp tác xã đề nghị.")
    submit(page, "#recusal-submit", "the declaration of conflict")
    expect_state(page, "provincial_appraisal")
    page = review_page(cast, recused, pid, task=False)  # recused: the panel no longer asks for a score
    expect()(page.locator("#recused")).to_be_visible()
    expect()(page.locator("#sheet-form")).to_have_count(0)  # a recused member cannot score

    for member, points in zip(people.members[:4], SHEETS, strict=True):
        cast.step = f"{member.username} scores"
        page = review_page(cast, member, pid)
        for key, value in points.items():
            page.fill(f"#points-{key}", str(value))
        page.fill("#sheet-comment", f"Đề án khả thi, tổng {sum(points.values())} điểm.")
        submit(page, "#sheet-submit", f"{member.username}'s sheet")
        expect_state(page, "provincial_appraisal")
        # once their own sheet is in, a member sees the council's table with the sheets
        expect()(page.locator("#council-table tbody tr", has_text=member.full_name)).to_contain_text(
            f"{sum(points.values()):.2f}".replace(".", ","))

    # 7. The centre officer sees the table (four sheets, one recusal, average 81.75), confirms the applicant's
    # priority flags (the 2026 rules: before the appraisal concludes) and shortlists.
    cast.step = "centre officer confirms priority"
    page = open_proposal(cast, people.centre_officer, pid)
    average = sum(sum(p.values()) for p in SHEETS) / len(SHEETS)  # every criterion weighs its points: max 100
    expect()(page.locator("#council-average")).to_have_text(f"{average:.2f}".replace(".", ","))  # a decimal comma on a vi page
    expect()(page.locator("#council-table tbody tr", has_text=recused.full_name)).to_contain_text("Xung đột")
    expect()(page.locator("#priority-status")).to_contain_text("Chưa xác nhận")
    follow_panel(page, "next-confirm-priority")
    submit(page, "#priority-submit", "the priority confirmation")
    expect()(page.locator("#priority-status")).to_contain_text("Đã xác nhận")
    cast.step = "centre officer shortlists"
    page = fire(cast, people.centre_officer, pid, "shortlist",
                comment=f"Hội đồng 5 thành viên, 1 thành viên khai báo xung đột lợi ích; điểm bình quân {average:.2f}.")
    expect_state(page, "shortlisted")

    # 8. The director opens the year's envelope and funds the proposal within it; the remaining budget drops.
    cast.step = "director creates the budget envelope"
    page = cast.page(people.director)
    visit(page, page.locator("#nav-funding"))
    page.fill("#envelope-fund", "Kinh phí khuyến công địa phương")
    page.fill("#envelope-year", str(PLAN_YEAR))
    page.fill("#envelope-amount", vnd(ENVELOPE))
    submit(page, "#envelope-submit", "creating the envelope")
    row = page.locator("#envelopes tbody tr", has_text="Kinh phí khuyến công địa phương")
    expect()(row).to_contain_text(vnd(ENVELOPE))
    remaining = row.locator("td[id$='-remaining']")
    expect()(remaining).to_have_text(vnd(ENVELOPE) + " ₫")
    visit(page, row.locator("a[id^='ranking-']"))
    expect()(page.locator(f"#rank-{pid}")).to_be_visible()  # the shortlisted proposal is ranked against it

    cast.step = "director approves funding"
    page = fire(cast, people.director, pid, "approve_funding", approved_amount=vnd(APPROVED),
                decision_number="125/QĐ-SCT", decision_date=DECIDED.isoformat())
    expect_state(page, "funded")
    expect()(page.locator("#money-approved")).to_contain_text(vnd(APPROVED))
    expect()(page.locator("#envelope-remaining")).to_contain_text(vnd(ENVELOPE - APPROVED))
    visit(page, page.locator("#nav-funding"))
    expect()(page.locator("#envelopes tbody tr", has_text="Kinh phí khuyến công địa phương")
             .locator("td[id$='-remaining']")).to_have_text(vnd(ENVELOPE - APPROVED) + " ₫")

    # 9. The centre officer signs the contract.
    cast.step = "centre officer signs the contract"
    page = fire(cast, people.centre_officer, pid, "sign_contract", contract_number="45/2026/HĐ-TTKC",
                contract_date=SIGNED.isoformat())
    expect_state(page, "implementing")

    # 10. The applicant reports progress (machinery: an advance needs more than 70 %) and uploads the acceptance
    # records: the acceptance record and, for machinery, the purchase contract, its liquidation, invoices and
    # proof of the counterpart funds.
    cast.step = "applicant reports progress"
    page = open_proposal(cast, people.applicant, pid)
    follow_panel(page, "next-report-progress")
    page.fill("#progress-period", dt.date.today().strftime("%Y-%m"))
    page.fill("#progress-value", "80")
    page.fill("#progress-note", "Đã lắp đặt xong máy sao chè, đang chạy thử.")
    submit(page, "#progress-submit", "the progress report")
    expect()(page.locator("#progress-percent")).to_have_text("0%")  # it counts once the Centre confirms it

    cast.step = "centre officer confirms the progress report"
    page = open_proposal(cast, people.centre_officer, pid)
    follow_panel(page, "next-confirm-progress")
    submit(page, "[id^='confirm-progress-']", "confirming the progress report")
    expect()(page.locator("#progress-percent")).to_have_text("80%")

    cast.step = "centre officer records an advance"
    page = open_proposal(cast, people.centre_officer, pid)
    follow_panel(page, "next-record-advance")
    page.fill("#advance-amount", vnd(ADVANCE))
    page.fill("#advance-date", dt.date.today().isoformat())  # <input type=date>
    page.fill("#advance-note", "Tạm ứng đợt 1 theo hợp đồng")
    submit(page, "#advance-submit", "recording the advance")
    expect()(page.locator("#money-advanced")).to_contain_text(vnd(ADVANCE))
    expect()(page.locator("#advances-table tbody tr")).to_have_count(1)

    cast.step = "applicant uploads the acceptance records"
    page = open_proposal(cast, people.applicant, pid)
    follow_panel(page, "next-upload-acceptance")
    for kind, filename in ACCEPTANCE_RECORDS:
        upload(page, kind, filename)
    expect()(page.locator("#acceptance-required li", has_text="–")).to_have_count(0)

    cast.step = "centre officer accepts the results"
    page = fire(cast, people.centre_officer, pid, "accept", acceptance_date=dt.date.today().isoformat(),
                committee_members="Nguyễn Văn An, Trung tâm Khuyến công\nTrần Thị Bình, Sở Công Thương",
                comment="Nghiệm thu: máy hoạt động ổn định, đạt công suất thiết kế.")
    expect_state(page, "implemented")
    expect()(page.locator("#settlement-due")).to_be_visible()

    # 11. Settlement.
    cast.step = "centre officer settles"
    page = fire(cast, people.centre_officer, pid, "settle", disbursed_total=vnd(APPROVED), refund_amount="0")
    expect_state(page, "settled")
    expect()(page.locator("#money-settled")).to_contain_text(vnd(APPROVED))

    # 12. The indicators, then the evaluation.
    cast.step = "centre officer records the indicators"
    page = open_proposal(cast, people.centre_officer, pid)
    follow_panel(page, "next-record-indicator")
    for key, target, actual in INDICATORS:
        page.select_option("#indicator-key", key)
        page.fill("#indicator-target", target)
        page.fill("#indicator-actual", actual)
        submit(page, "#indicator-submit", f"recording {key}")
        expect()(page.locator(f"#indicator-{key} td").last).not_to_have_text("–")

    cast.step = "centre officer evaluates"
    page = fire(cast, people.centre_officer, pid, "evaluate", evaluation_score="85",
                comment="Tạo thêm 7 việc làm, sản lượng tăng 32 %, máy vẫn sử dụng tốt.")
    expect_state(page, "evaluated")
    expect()(page.locator("#evaluation-score")).to_contain_text("85")
    expect()(page.locator("#actions .buttons")).to_have_count(0)  # final: nothing left to do
    expect()(page.locator("#stepper li[aria-current='step']")).to_have_count(0)  # every step of the path done

    # 13. Every step is on the proposal's timeline, and the auditor finds the chain intact.
    cast.step = "timeline and chain verification"
    check_timeline(open_proposal(cast, people.applicant, pid), [
        "create", "attach", "attach", "attach", "submit", "forward",
        *["assign_council_member"] * 5, "declare_conflict", *["submit_score_sheet"] * 4, "shortlist",
        "approve_funding", "sign_contract", "report_progress", "record_advance", *["attach_acceptance_record"] * 5, "accept",
        "settle", *["record_indicator"] * 4, "evaluate"])
    check_chain(cast, people.auditor)

    # 14. An applicant of another organisation: the proposal's address, and its documents', are a 404 page.
    cast.step = "another organisation's applicant gets a 404"
    document_url = open_proposal(cast, people.applicant, pid).locator("#attachments .files li a").first.get_attribute(
        "href")
    outsider = cast.page(people.other_applicant)
    for path in (f"/proposals/{pid}", document_url):
        response = visit(outsider, cast.url(path))
        assert response is not None and response.status == 404, (path, response and response.status)
        expect()(outsider.locator("#error-404")).to_be_visible()
        expect()(outsider.locator("main")).not_to_contain_text("La Bằng")
