"""Build the per-proposal document templates (app/reports/docx/*.docx) with python-docx.

The .docx files are committed; this script makes them reproducible. Each ``{{ tag }}`` is written as one run
of its own, so docxtpl (Jinja in Word) finds it whole. The fields are those app.reports.documents fills from
what the system holds; the layout follows the printable HTML versions (reports/document.html). No official
form number is given: our sources do not name one (unconfirmed).

    python tools/build_docx_templates.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

OUT = Path(__file__).resolve().parent.parent / "app" / "reports" / "docx"

TITLES = {
    "funding-decision": "QUYẾT ĐỊNH GIAO KINH PHÍ KHUYẾN CÔNG",
    "contract": "HỢP ĐỒNG THỰC HIỆN ĐỀ ÁN KHUYẾN CÔNG",
    "acceptance": "BIÊN BẢN NGHIỆM THU ĐỀ ÁN KHUYẾN CÔNG",
    "settlement": "BIÊN BẢN THANH LÝ HỢP ĐỒNG VÀ QUYẾT TOÁN KINH PHÍ",
}
# (label, tag) rows of the facts table; every document has the common ones.
COMMON = [
    ("Mã đề án", "code"), ("Tên đề án", "title"), ("Đơn vị thực hiện (cơ sở)", "organisation"),
    ("Địa bàn", "place"), ("Nội dung hoạt động", "category"), ("Tổng vốn thực hiện", "total_cost"),
    ("Kinh phí khuyến công hỗ trợ được duyệt", "approved"), ("Vốn đối ứng của cơ sở", "counterpart"),
    ("Nguồn kinh phí", "fund"), ("Thời hạn hoàn thành", "end_date"),
]
EXTRA = {
    "funding-decision": [],
    "contract": [],
    "acceptance": [("Ngày nghiệm thu", "accepted_on"), ("Thành phần hội đồng nghiệm thu", "members"),
                   ("Kết luận", "conclusion"), ("Đã tạm ứng", "advanced")],
    "settlement": [("Ngày nghiệm thu", "accepted_on"), ("Đã tạm ứng", "advanced"),
                   ("Kinh phí quyết toán", "settled"), ("Số tiền hoàn trả", "refund")],
}
SIGNERS = {
    "funding-decision": ("NƠI NHẬN", "GIÁM ĐỐC"),
    "contract": ("ĐẠI DIỆN CƠ SỞ", "ĐẠI DIỆN TRUNG TÂM KHUYẾN CÔNG"),
    "acceptance": ("ĐẠI DIỆN CƠ SỞ", "ĐẠI DIỆN TRUNG TÂM KHUYẾN CÔNG"),
    "settlement": ("ĐẠI DIỆN CƠ SỞ", "ĐẠI DIỆN TRUNG TÂM KHUYẾN CÔNG"),
}


def _line(doc: object, *parts: str, bold: bool = False, center: bool = False) -> None:
    """A paragraph of runs: plain text and ``{{ tag }}`` runs, each whole."""
    paragraph = doc.add_paragraph()  # type: ignore[attr-defined]
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for part in parts:
        paragraph.add_run(part).bold = bold


def build(kind: str) -> Path:
    doc = Document()
    doc.styles["Normal"].font.name = "Times New Roman"
    doc.styles["Normal"].font.size = Pt(13)
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    left.text = ""
    issuer = left.paragraphs[0]
    issuer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    issuer.add_run("{{ issuer_top }}").bold = True
    issuer.add_run("\n")
    issuer.add_run("{{ issuer }}").bold = True
    motto = right.paragraphs[0]
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER
    motto.add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").bold = True
    motto.add_run("\nĐộc lập - Tự do - Hạnh phúc")
    doc.add_paragraph()
    _line(doc, TITLES[kind], bold=True, center=True)
    if kind == "funding-decision":
        _line(doc, "Số: ", "{{ decision_number }}", " · Ngày ", "{{ decision_date }}", center=True)
    else:
        _line(doc, "Hợp đồng số: ", "{{ contract_number }}", " ký ngày ", "{{ contract_date }}", center=True)
    rows = COMMON + EXTRA[kind]
    facts = doc.add_table(rows=len(rows), cols=2)
    facts.style = "Table Grid"
    for row, (label, tag) in zip(facts.rows, rows, strict=True):
        row.cells[0].text = label
        row.cells[1].text = "{{ " + tag + " }}"
    _line(doc, "{{ content }}")
    sign = doc.add_table(rows=1, cols=2)
    for cell, who in zip(sign.rows[0].cells, SIGNERS[kind], strict=True):
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run(who).bold = True
        paragraph.add_run("\n(Ký, ghi rõ họ tên, đóng dấu)").italic = True
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{kind}.docx"
    doc.save(str(path))
    return path


if __name__ == "__main__":
    for name in TITLES:
        print(build(name))
