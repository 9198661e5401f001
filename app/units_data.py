"""Thái Nguyên (GSO code 19) and its 9 district-level units before the 2025 reform, with a few communes each.

Codes are the General Statistics Office's (danh mục hành chính, Decision 124/2004/QĐ-TTg and its updates).
The commune list is a selection for the demo, not the full list.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

PROVINCE = ("19", "Tỉnh Thái Nguyên")

DISTRICTS: tuple[tuple[str, str], ...] = (
    ("164", "Thành phố Thái Nguyên"),
    ("165", "Thành phố Sông Công"),
    ("167", "Huyện Định Hóa"),
    ("168", "Huyện Phú Lương"),
    ("169", "Huyện Đồng Hỷ"),
    ("170", "Huyện Võ Nhai"),
    ("171", "Huyện Đại Từ"),
    ("172", "Thành phố Phổ Yên"),
    ("173", "Huyện Phú Bình"),
)

COMMUNES: dict[str, tuple[tuple[str, str], ...]] = {
    "164": (("05440", "Phường Hoàng Văn Thụ"), ("05452", "Phường Tân Thịnh"), ("05470", "Phường Phú Xá"),
            ("05494", "Xã Phúc Trìu"), ("05503", "Xã Tân Cương"), ("05653", "Xã Sơn Cẩm")),
    "165": (("05506", "Phường Lương Sơn"), ("05512", "Phường Mỏ Chè"), ("05521", "Phường Phố Cò"),
            ("05527", "Xã Tân Quang"), ("05533", "Xã Bá Xuyên")),
    "167": (("05536", "Thị trấn Chợ Chu"), ("05542", "Xã Lam Vỹ"), ("05560", "Xã Phúc Chu"),
            ("05572", "Xã Đồng Thịnh"), ("05590", "Xã Điềm Mặc")),
    "168": (("05608", "Thị trấn Giang Tiên"), ("05611", "Thị trấn Đu"), ("05617", "Xã Yên Trạch"),
            ("05626", "Xã Ôn Lương"), ("05641", "Xã Tức Tranh"), ("05644", "Xã Phấn Mễ")),
    "169": (("05656", "Thị trấn Sông Cầu"), ("05662", "Thị trấn Trại Cau"), ("05671", "Xã Hòa Bình"),
            ("05692", "Xã Hóa Thượng"), ("05707", "Xã Nam Hòa")),
    "170": (("05716", "Thị trấn Đình Cả"), ("05734", "Xã Phú Thượng"), ("05740", "Xã La Hiên"),
            ("05746", "Xã Tràng Xá"), ("05758", "Xã Bình Long")),
    "171": (("05761", "Thị trấn Hùng Sơn"), ("05764", "Thị trấn Quân Chu"), ("05785", "Xã Phú Lạc"),
            ("05812", "Xã Hà Thượng"), ("05815", "Xã La Bằng"), ("05818", "Xã Hoàng Nông"),
            ("05827", "Xã Tân Thái")),
    "172": (("05854", "Phường Bãi Bông"), ("05860", "Phường Ba Hàng"), ("05863", "Xã Phúc Tân"),
            ("05878", "Phường Đồng Tiến"), ("05887", "Xã Vạn Phái")),
    "173": (("05908", "Thị trấn Hương Sơn"), ("05917", "Xã Tân Khánh"), ("05926", "Xã Đào Xá"),
            ("05947", "Xã Tân Đức"), ("05950", "Xã Úc Kỳ"), ("05962", "Xã Thanh Ninh")),
}


def seed_units(session: Session) -> int:
    """Insert the units that are missing; returns how many were added. Flushes, never commits."""
    from app.models import Unit

    have = set(session.scalars(select(Unit.code)))
    added = 0
    rows = [Unit(code=PROVINCE[0], name=PROVINCE[1], level="province", parent_code=None)]
    for code, name in DISTRICTS:
        rows.append(Unit(code=code, name=name, level="district", parent_code=PROVINCE[0], district_code=code))
    for district, communes in COMMUNES.items():
        rows += [Unit(code=c, name=n, level="commune", parent_code=district, district_code=district)
                 for c, n in communes]
    for row in rows:
        if row.code not in have:
            session.add(row)
            session.flush()  # parents first, for the foreign key
            added += 1
    return added
