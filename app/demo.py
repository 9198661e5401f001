"""Demo data for Thái Nguyên as it is now: units over time, users for every role, organisations, 188 proposals of
2016–2020 (146 machinery and technology transfer) filed on the old units under v1, and 2025–2026 ones filed on
the post-reform communes (the former Bắc Kạn included) under v2. The lifecycle follows each filing date.

Every proposal reaches its state by firing the real transitions through ``workflow.operations`` as the right
demo user, so every audit trail is genuine. States beyond provincial appraisal need the later stages' facts
(council scores, budget envelopes...): those proposals are left in provincial appraisal with their target in
``Demo.pending``, and ``app.demo_stages.take_further`` takes them further.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.legacy import Record, import_records
from app.models import Attachment, Organisation, Proposal, RoleGrant, User
from app.models.proposals import fold
from app.models.units import UnitHistory
from app.proposals.services import add_attachment, create_proposal
from app.units_data import COMMUNES, DISTRICTS, PROVINCE, seed_units
from app.uploads import store
from workflow import operations
from workflow.registry import default_registry

DEMO_PASSWORD = "matkhau-demo"
PROVINCE_CODE = PROVINCE[0]


@dataclass
class Demo:
    """What the hooks get: users by name and by role, and the proposals still to take further."""

    users: dict[str, User] = field(default_factory=dict)
    by_role: dict[str, list[User]] = field(default_factory=dict)
    pending: list[tuple[Proposal, str]] = field(default_factory=list)  # (proposal, target state)
    rng: random.Random = field(default_factory=lambda: random.Random(2016))


# district code -> (short slug, organisations: (kind, name, sector, kind of work))
ORGANISATIONS: dict[str, list[tuple[str, str, str, str]]] = {
    "164": [("cooperative", "Hợp tác xã chè Tân Cương", "agro_processing", "tea"),
            ("sme", "Công ty TNHH Cơ khí Phú Xá", "agri_machinery", "mechanical"),
            ("sme", "Công ty Cổ phần Cơ khí Gia Sàng", "supporting_industry", "mechanical"),
            ("household", "Hộ kinh doanh chè Hồng Thái – Phúc Trìu", "agro_processing", "tea"),
            ("cooperative", "Hợp tác xã chè an toàn Sơn Cẩm", "agro_processing", "tea"),
            ("sme", "Công ty TNHH May mặc Tân Thịnh", "textiles", "garment")],
    "165": [("sme", "Công ty TNHH Cơ khí chính xác Sông Công", "supporting_industry", "mechanical"),
            ("sme", "Công ty TNHH Phụ tùng xe máy Phố Cò", "supporting_industry", "mechanical"),
            ("cooperative", "Hợp tác xã may Lương Sơn", "textiles", "garment"),
            ("household", "Cơ sở sản xuất gạch không nung Bá Xuyên", "building_materials", "brick")],
    "167": [("cooperative", "Hợp tác xã chè Phúc Chu", "agro_processing", "tea"),
            ("household", "Cơ sở chế biến gỗ Chợ Chu", "agro_processing", "wood"),
            ("cooperative", "Hợp tác xã miến dong Điềm Mặc", "agro_processing", "food"),
            ("cooperative_group", "Tổ hợp tác chè Đồng Thịnh", "agro_processing", "tea")],
    "168": [("cooperative", "Hợp tác xã chè Yên Trạch", "agro_processing", "tea"),
            ("sme", "Công ty TNHH Chế biến gỗ rừng trồng Giang Tiên", "agro_processing", "wood"),
            ("household", "Xưởng cơ khí nông nghiệp Thị trấn Đu", "agri_machinery", "mechanical"),
            ("cooperative", "Hợp tác xã chè Phấn Mễ", "agro_processing", "tea"),
            ("household", "Cơ sở bánh chưng Tức Tranh", "agro_processing", "food")],
    "169": [("cooperative", "Hợp tác xã chè Hòa Bình", "agro_processing", "tea"),
            ("household", "Cơ sở chế biến gỗ Trại Cau", "agro_processing", "wood"),
            ("sme", "Công ty TNHH Vật liệu xây dựng Hóa Thượng", "building_materials", "brick"),
            ("cooperative", "Hợp tác xã chè Sông Cầu", "agro_processing", "tea")],
    "170": [("cooperative", "Hợp tác xã chế biến gỗ La Hiên", "agro_processing", "wood"),
            ("household", "Cơ sở sản xuất gạch không nung Đình Cả", "building_materials", "brick"),
            ("cooperative_group", "Tổ hợp tác dệt thổ cẩm Phú Thượng", "handicrafts", "craft"),
            ("household", "Cơ sở chế biến nông sản Tràng Xá", "agro_processing", "food")],
    "171": [("cooperative", "Hợp tác xã chè La Bằng", "agro_processing", "tea"),
            ("cooperative", "Hợp tác xã chè Hoàng Nông", "agro_processing", "tea"),
            ("cooperative", "Hợp tác xã chè an toàn Phú Lạc", "agro_processing", "tea"),
            ("household", "Hộ kinh doanh chè Hùng Sơn", "agro_processing", "tea"),
            ("cooperative", "Hợp tác xã chè Tân Thái", "agro_processing", "tea"),
            ("household", "Xưởng cơ khí Quân Chu", "agri_machinery", "mechanical"),
            ("cooperative_group", "Tổ hợp tác chè Hà Thượng", "agro_processing", "tea")],
    "172": [("sme", "Công ty TNHH Cơ khí Ba Hàng", "supporting_industry", "mechanical"),
            ("sme", "Công ty TNHH Linh kiện nhựa Bãi Bông", "supporting_industry", "mechanical"),
            ("cooperative", "Hợp tác xã chè Vạn Phái", "agro_processing", "tea"),
            ("household", "Cơ sở may Đồng Tiến", "textiles", "garment")],
    "173": [("cooperative", "Hợp tác xã nông sản Úc Kỳ", "agro_processing", "food"),
            ("household", "Cơ sở sản xuất thức ăn chăn nuôi Hương Sơn", "agro_processing", "food"),
            ("sme", "Công ty TNHH Chế biến gỗ Tân Đức", "agro_processing", "wood"),
            ("household", "Xưởng cơ khí Đào Xá", "agri_machinery", "mechanical"),
            ("cooperative", "Hợp tác xã rau an toàn Thanh Ninh", "agro_processing", "food")],
}

MACHINERY_TITLES = {
    "tea": ["Ứng dụng máy móc thiết bị tiên tiến trong chế biến chè búp khô",
            "Hỗ trợ ứng dụng dây chuyền sao, vò chè liên hoàn",
            "Ứng dụng máy đóng gói chè hút chân không",
            "Ứng dụng máy sấy chè bằng điện thay lò củi"],
    "wood": ["Ứng dụng dây chuyền máy bóc vỏ, sấy gỗ rừng trồng",
             "Ứng dụng máy ép ván ghép thanh từ gỗ rừng trồng",
             "Ứng dụng máy xẻ, bào gỗ tự động"],
    "mechanical": ["Ứng dụng máy cắt plasma CNC trong gia công cơ khí",
                   "Ứng dụng máy tiện CNC sản xuất phụ tùng máy nông nghiệp",
                   "Ứng dụng máy chấn, gấp tôn thủy lực"],
    "garment": ["Ứng dụng máy may công nghiệp điện tử", "Ứng dụng máy cắt vải tự động"],
    "brick": ["Ứng dụng dây chuyền máy ép gạch không nung", "Ứng dụng máy trộn, ép gạch block"],
    "food": ["Ứng dụng máy sấy nông sản bằng bơm nhiệt", "Ứng dụng dây chuyền chế biến và đóng gói nông sản"],
    "craft": ["Ứng dụng khung dệt cải tiến trong dệt thổ cẩm"],
}
OTHER_TITLES = {
    "demonstration": "Xây dựng mô hình trình diễn kỹ thuật sản xuất chè xanh chất lượng cao",
    "typical_product": "Hỗ trợ đăng ký nhãn hiệu, xây dựng thương hiệu sản phẩm",
    "training": "Đào tạo nghề, nâng cao tay nghề cho lao động",
    "cleaner_production": "Hỗ trợ áp dụng sản xuất sạch hơn",
    "craft_village": "Hỗ trợ phát triển làng nghề truyền thống",
}
OTHER_COUNTS = {"demonstration": 12, "typical_product": 10, "training": 8, "cleaner_production": 6,
                "craft_village": 6}

# The 2016–2020 files, all closed on v1 (seed article: 188 carried out, i.e. funded and implemented, 146 of them
# machinery, across the 9 former district-level units), and those that were not carried out.
CARRIED_OUT = 188
NOT_CARRIED_OUT = {"rejected_appraisal": 10, "rejected_local": 14, "withdrawn": 10, "terminated": 4}
# Filed on the old units in the first half of 2025 (v1) and still open: what `workflow migrate` moves.
PRE_REFORM_LIVE = {"district_review": 4, "returned": 1, "draft": 2}
V2_TARGETS = {"draft": 3, "local_review": 4, "returned": 1, "provincial_appraisal": 3, "withdrawn": 1,
              "funded": 1, "implementing": 2, "evaluated": 1}  # the later stages, live on v2/v3

STAFF = [
    ("quantri", "Nguyễn Văn Quản", "admin", PROVINCE_CODE),
    ("thanhtra", "Trần Thị Thanh", "auditor", PROVINCE_CODE),
    ("giamdoc", "Lê Minh Đức", "director", PROVINCE_CODE),
    ("ttkc_lan", "Phạm Thị Lan", "centre_officer", PROVINCE_CODE),
    ("ttkc_hung", "Hoàng Văn Hùng", "centre_officer", PROVINCE_CODE),
    ("hoidong1", "Đỗ Quang Vinh", "council_member", PROVINCE_CODE),
    ("hoidong2", "Ngô Thị Hà", "council_member", PROVINCE_CODE),
    ("hoidong3", "Vũ Đình Long", "council_member", PROVINCE_CODE),
    ("hoidong4", "Bùi Thị Mai", "council_member", PROVINCE_CODE),
    ("hoidong5", "Đặng Văn Sơn", "council_member", PROVINCE_CODE),
    ("hoidong6", "Lương Thị Hoa", "council_member", PROVINCE_CODE),
    ("hoidong7", "Dương Văn Tú", "council_member", PROVINCE_CODE),
]
# Officers of post-reform communes (units from 1 July 2025, app/data/units_thai_nguyen.csv); xã Chợ Mới is in the
# former Bắc Kạn.
COMMUNE_OFFICERS = [("xa_tancuong", "Nguyễn Thị Cương", "05503"), ("xa_daitu", "Trịnh Văn Sơn", "05830"),
                    ("xa_labang", "Ma Thị Bằng", "05818"), ("xa_phubinh", "Lý Văn Hương", "05908"),
                    ("xa_chomoi", "Hà Văn Mới", "02086")]
# (kind, name, sector, kind of work, commune): organisations in post-reform communes of the former Bắc Kạn
NEW_ORGANISATIONS = [("cooperative", "Hợp tác xã miến dong Chợ Mới", "agro_processing", "food", "02086")]


def _slug(name: str) -> str:
    return "".join(ch for ch in fold(name) if ch.isalnum())


def district_officer_username(code: str) -> str:
    name = dict(DISTRICTS)[code]
    for prefix in ("Thành phố ", "Huyện "):
        name = name.removeprefix(prefix)
    return f"pkt_{_slug(name)}"


def _bare(unit: str) -> str:
    for prefix in ("Thị trấn ", "Phường ", "Xã "):
        unit = unit.removeprefix(prefix)
    return unit


def has_data(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Proposal)))


def demo_pdf(text: str) -> bytes:
    """A small, valid one-page PDF standing in for a scanned document."""
    body = f"BT /F1 12 Tf 40 780 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def attach_dossier(session: Session, proposal: Proposal, user: User) -> None:
    """The three dossier documents, each an audited 'attach' like an upload through the page."""
    actor = user.actor()
    for kind in ("business_registration", "quotes", "non_duplication"):
        stored, mime, size, digest = store(io.BytesIO(demo_pdf(f"{proposal.code} {kind}")))
        attachment = Attachment(kind=kind, original_name=f"{kind}.pdf", stored_name=stored, content_type=mime,
                                size=size, sha256=digest, uploaded_by_id=user.id)
        add_attachment(session, proposal, actor, attachment)


def _users(session: Session, demo: Demo, orgs: list[tuple[Organisation, str, str]]) -> None:
    password_hash = generate_password_hash(DEMO_PASSWORD)  # one hash for every demo account: fast to load

    def add(username: str, full_name: str, grants: list[tuple[str, str | None]],
            organisation: Organisation | None = None) -> User:
        user = User(username=username, full_name=full_name, password_hash=password_hash, organisation=organisation)
        user.grants = [RoleGrant(role=role, unit_code=unit) for role, unit in grants]
        session.add(user)
        demo.users[username] = user
        for role, _unit in grants:
            demo.by_role.setdefault(role, []).append(user)
        return user

    for username, name, role, unit in STAFF:
        add(username, name, [(role, unit)])
    for code, name in DISTRICTS:
        add(district_officer_username(code), f"Cán bộ Phòng Kinh tế {name}", [("district_officer", code)])
    for username, name, commune in COMMUNE_OFFICERS:
        add(username, name, [("commune_officer", commune)])
    for number, (org, _sector, _work) in enumerate(orgs, 1):
        add(f"coso{number:02d}", f"Đại diện {org.name}", [("applicant", None)], org)
    session.flush()


def _organisations(session: Session, rng: random.Random) -> list[tuple[Organisation, str, str]]:
    out = []
    tax = 4600100000
    for district, entries in ORGANISATIONS.items():
        communes = COMMUNES[district]
        for index, (kind, name, sector, work) in enumerate(entries):
            commune = next((c for c, n in communes if _bare(n) in name), None)
            commune = commune or communes[index % len(communes)][0]
            tax += rng.randint(11, 997)
            org = Organisation(name=name, kind=kind, tax_code=str(tax), commune_code=commune)
            session.add(org)
            out.append((org, sector, work))
    for kind, name, sector, work, commune in NEW_ORGANISATIONS:
        tax += rng.randint(11, 997)
        org = Organisation(name=name, kind=kind, tax_code=str(tax), commune_code=commune)
        session.add(org)
        out.append((org, sector, work))
    session.flush()
    return out


def _plan(rng: random.Random) -> list[tuple[str, int, str]]:
    """(category, year, target) of the 2016–2020 files: the 188 carried out (146 machinery) evaluated, the others
    closed without being carried out (other categories), shuffled together."""
    categories = ["machinery"] * 146 + [c for c, n in OTHER_COUNTS.items() for _ in range(n)]
    assert len(categories) == CARRIED_OUT
    plan = [(category, rng.randint(2016, 2020), "evaluated") for category in categories]
    plan += [(rng.choice(list(OTHER_COUNTS)), rng.randint(2016, 2020), target)
             for target, n in NOT_CARRIED_OUT.items() for _ in range(n)]
    rng.shuffle(plan)
    return plan


def _fields(rng: random.Random, org: Organisation, sector: str, work: str, category: str, year: int) -> dict:
    if category == "machinery":
        title = f"{rng.choice(MACHINERY_TITLES[work])} tại {org.name}"
        total = rng.randrange(250, 900) * 1_000_000
        support = min(total * rng.choice((40, 45, 50)) // 100, 200_000_000) // 1_000_000 * 1_000_000
    else:
        title = f"{OTHER_TITLES[category]} – {org.name}"
        total = rng.randrange(60, 400) * 1_000_000
        share, cap = {"demonstration": (30, 500_000_000), "typical_product": (50, 35_000_000),
                      "cleaner_production": (30, 300_000_000)}.get(category, (40, 150_000_000))
        support = min(total * share // 100, cap) // 1_000_000 * 1_000_000
    jobs = rng.randint(3, 40)
    return {
        "title": title, "category": category, "sector": sector, "year": year, "total_cost": total,
        "requested_support": support, "counterpart_funds": total - support,
        "duration_months": rng.choice((6, 9, 12, 12, 18)), "commune_code": org.commune_code,
        "objectives": "Nâng cao năng suất, chất lượng sản phẩm; giảm lao động thủ công; bảo đảm vệ sinh an toàn.",
        "expected_results": f"Tăng sản lượng khoảng {rng.randint(15, 60)} %, tạo việc làm ổn định cho {jobs} lao động.",
        "expected_jobs": jobs, "expected_output": f"{rng.randint(20, 400)} tấn sản phẩm/năm",
        "priority_region": org.commune_code in {c for d in ("167", "170") for c, _ in COMMUNES[d]},
        "priority_sector": sector in ("agro_processing", "agri_machinery", "supporting_industry"),
    }


def _old_file(rng: random.Random, number: int, org: Organisation, fields: dict[str, Any], target: str
              ) -> list[Record]:
    """The rows an old file of the 2016–2020 plans makes in an import (app/legacy.py), dated as such files
    went: filed the autumn before the plan year, reviewed within weeks, appraised in January, funded in March,
    contracted in April, accepted in the autumn, settled within the 15 days (now and then late), evaluated the
    next spring."""
    year, ref = fields["year"], f"HS-{number:03d}"
    day = dt.date(year - 1, rng.randint(8, 11), rng.randint(1, 28))
    rows: list[Record] = []

    def add(event: str, when: dt.date, **values: Any) -> None:
        rows.append(Record("demo", number, {"ref": ref, "event": event, "date": when.isoformat(),
                                            **{k: str(v) for k, v in values.items() if v is not None}}))

    flags = {k: "1" if fields[k] else "" for k in ("priority_region", "priority_sector")}
    add("created", day, organisation_tax_code=org.tax_code,
        **{k: v for k, v in fields.items() if k not in flags}, **flags)
    day += dt.timedelta(days=rng.randint(3, 10))
    add("submitted", day)
    if target == "withdrawn":
        add("withdrawn", day + dt.timedelta(days=rng.randint(5, 20)), note="Cơ sở chưa thu xếp đủ vốn đối ứng")
        return rows
    if rng.random() < 0.15:  # some go round a revision loop first
        day += dt.timedelta(days=rng.randint(5, 12))
        add("returned", day, note="Đề nghị bổ sung báo giá của ít nhất 3 nhà cung cấp")
        day += dt.timedelta(days=rng.randint(5, 15))
        add("submitted", day)
    day += dt.timedelta(days=rng.randint(7, 14))
    if target == "rejected_local":
        add("not_recommended", day, note="Nội dung đề án không thuộc ngành nghề được hỗ trợ")
        return rows
    add("reviewed", day, note="Hồ sơ đầy đủ, đề nghị Trung tâm Khuyến công thẩm định")
    appraised = dt.date(year, 1, rng.randint(10, 28))
    if target == "rejected_appraisal":
        add("rejected", appraised, note="Điểm thẩm định dưới 70")
        return rows
    add("appraised", appraised, note="Hội đồng kết luận đạt")
    add("funded", dt.date(year, 3, 20), amount=fields["requested_support"], number=f"{number:03d}/QĐ-SCT")
    add("contracted", dt.date(year, 4, 10), number=f"{number:03d}/{year}/HĐ-TTKC")
    if target == "terminated":
        add("terminated", dt.date(year, 8, rng.randint(1, 28)),
            note="Cơ sở ngừng sản xuất, không tiếp tục thực hiện đề án")
        return rows
    accepted = dt.date(year, rng.randint(10, 11), rng.randint(1, 28))
    add("accepted", accepted, note="Hoàn thành đúng nội dung hợp đồng")
    add("settled", accepted + dt.timedelta(days=rng.choice((6, 9, 12, 14, 14, 20))),
        amount=fields["requested_support"] - rng.choice((0, 0, 2, 5)) * 1_000_000)
    add("evaluated", dt.date(year + 1, rng.randint(2, 5), rng.randint(1, 28)),
        note="Đề án phát huy hiệu quả, máy móc sử dụng tốt")
    return rows


def _drive(session: Session, demo: Demo, proposal: Proposal, applicant: User, target: str) -> None:
    """Fire the real transitions, as the right users, up to the target (or provincial appraisal)."""
    compiled = default_registry().for_subject(proposal)
    local_review = "district_review" if compiled.version == 1 else "local_review"
    if compiled.version == 1 and proposal.district_code is None:
        raise ValueError(f"{proposal.code} has no district")
    reviewer = (demo.users[district_officer_username(proposal.district_code or "")] if compiled.version == 1 else
                next(u for u in demo.by_role["commune_officer"] if u.grants[0].unit_code == proposal.commune_code))

    def fire(user: User, trigger: str, **inputs: Any) -> None:
        operations.fire(session, proposal, trigger, user.actor(), inputs)

    if target == "draft":
        return
    attach_dossier(session, proposal, applicant)
    fire(applicant, "submit")
    if target == local_review:
        return
    if target == "withdrawn":
        fire(applicant, "withdraw", reason="Cơ sở chưa thu xếp đủ vốn đối ứng")
        return
    if target == "rejected_local":
        fire(reviewer, "not_recommend", reason="Nội dung đề án không thuộc ngành nghề được hỗ trợ")
        return
    if target == "returned" or demo.rng.random() < 0.15:  # some go round a revision loop first
        fire(reviewer, "return_for_revision", comment="Đề nghị bổ sung báo giá của ít nhất 3 nhà cung cấp")
        if target == "returned":
            return
        fire(applicant, "submit")
    fire(reviewer, "forward", comment="Hồ sơ đầy đủ, đề nghị Trung tâm Khuyến công thẩm định")
    if target != "provincial_appraisal":
        demo.pending.append((proposal, "rejected" if target == "rejected_appraisal" else target))


def load(session: Session) -> str:
    """Load everything in the caller's transaction (the caller commits); returns a one-line summary."""
    demo = Demo()
    rng = demo.rng
    seed_units(session)
    orgs = _organisations(session, rng)
    _users(session, demo, orgs)
    applicant_of = {u.organisation_id: u for u in demo.by_role["applicant"]}

    old_orgs = [o for o in orgs if o[0].commune_code not in {c for *_, c in NEW_ORGANISATIONS}]
    records: list[Record] = []
    for number, (category, year, target) in enumerate(_plan(rng), 1):
        org, sector, work = rng.choice(old_orgs)
        if category != "machinery" and work == "mechanical":
            sector = "agri_machinery"
        records += _old_file(rng, number, org, _fields(rng, org, sector, work, category, year), target)
    # the old files come in as an administrator would import them: with their dates (app/legacy.py)
    import_records(session, records, demo.users["quantri"], province_code=PROVINCE_CODE)

    # Open files of early 2025, on the old units, in communes whose successors have an officer: none is stranded.
    history = UnitHistory.load(session)
    officer_communes = {c for _, _, c in COMMUNE_OFFICERS}
    covered = [o for o in old_orgs if history.successor(o[0].commune_code or "") in officer_communes]
    for index, target in enumerate(t for t, n in PRE_REFORM_LIVE.items() for _ in range(n)):
        org, sector, work = covered[index % len(covered)]
        proposal = create_proposal(session, applicant_of[org.id], _fields(rng, org, sector, work, "machinery", 2025),
                                   province_code=PROVINCE_CODE, created_on=dt.date(2025, rng.randint(1, 6), 15))
        _drive(session, demo, proposal, applicant_of[org.id], target)

    # Today the organisations sit in the post-reform communes that took over their old ones.
    for org, _sector, _work in orgs:
        org.commune_code = history.successor(org.commune_code) if org.commune_code else org.commune_code
    local_orgs = [o for o in orgs if o[0].commune_code in officer_communes]
    v2_targets = [t for t, n in V2_TARGETS.items() for _ in range(n)]
    for index, target in enumerate(v2_targets):
        # every officer's commune gets at least one, the former Bắc Kạn included
        org, sector, work = (local_orgs[index] if index < len(local_orgs) else rng.choice(local_orgs))
        year = rng.choice((2025, 2026))
        applicant = applicant_of[org.id]
        proposal = create_proposal(session, applicant, _fields(rng, org, sector, work, "machinery", year),
                                   province_code=PROVINCE_CODE)
        _drive(session, demo, proposal, applicant, target)

    from app.demo_stages import take_further  # late: it builds on this module's Demo

    take_further(session, demo)
    session.flush()
    counts = Counter(session.scalars(select(Proposal.wf_state)))
    return "Demo data loaded: " + ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))


def print_logins(session: Session, echo: Callable[[str], None] = print) -> None:
    users = session.scalars(select(User).order_by(User.id)).all()
    if not users:
        return
    echo("")
    echo(f"Log in at http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}/login")
    echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    shown_applicants = 0
    for user in users:
        roles = ", ".join(f"{g.role}@{g.unit_code}" if g.unit_code else g.role for g in user.grants)
        if "applicant" in user.roles:
            shown_applicants += 1
            if shown_applicants > 4:
                continue
        echo(f"  {user.username:<16} {roles:<30} {user.full_name}")
    if shown_applicants > 4:
        echo(f"  ... and {shown_applicants - 4} more applicants: coso05 ... coso{shown_applicants:02d}")
