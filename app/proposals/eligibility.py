"""Who and where may receive khuyến công support (Circular 46/2012/TT-BCT art. 3; TTLT 26/2014 art. 2): the
``eligibility_problem`` fact of the ``eligible_beneficiary`` guard.

- beneficiary kind: a rural industrial facility, i.e. an SME, a cooperative, a cooperative group or a household
  business (art. 3 cl. 1 a–c); cleaner-production pilots have no limit of kind or place (art. 3 cl. 2);
- location: the site is a commune or ward in force in the unit table. The finer rule on wards of type-1 cities
  (art. 3 cl. 1 d–đ) needs city classes the unit table does not hold.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.common.rules import msg
from app.models.proposals import ORGANISATION_KINDS
from app.models.units import Unit

ANY_BENEFICIARY = ("cleaner_production",)  # art. 3 cl. 2


def eligibility_problem(session: Session, proposal: Any) -> dict[str, str] | None:
    if proposal.category in ANY_BENEFICIARY:
        return None
    kind = proposal.organisation.kind
    if kind not in ORGANISATION_KINDS:
        return msg(f"Loại cơ sở '{kind}' không thuộc đối tượng hỗ trợ (doanh nghiệp nhỏ và vừa, hợp tác xã, "
                   "tổ hợp tác, hộ kinh doanh; Thông tư 46/2012/TT-BCT, Điều 3 khoản 1)",
                   f"A '{kind}' is not a beneficiary (SME, cooperative, cooperative group or household business; "
                   "Circular 46/2012/TT-BCT art. 3 cl. 1)")
    unit = session.get(Unit, proposal.commune_code) if proposal.commune_code else None
    if unit is None or unit.level != "commune" or not unit.active:
        return msg("Địa điểm thực hiện phải là một xã, phường đang có hiệu lực của tỉnh "
                   "(Thông tư 46/2012/TT-BCT, Điều 3 khoản 1)",
                   "The site must be a commune or ward of the province currently in force "
                   "(Circular 46/2012/TT-BCT art. 3 cl. 1)")
    return None
