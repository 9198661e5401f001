"""Proposals (đề án) and their attachments. Every change goes through ``workflow.operations``."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.db import Base
from app.models.stages import StageFacts
from app.models.users import Organisation, User
from workflow.permissions import Place
from workflow.storage import WorkflowMixin, utcnow

# Categories (nội dung khuyến công): the seed article's list completed with the activities of Joint Circular
# 26/2014/TTLT-BTC-BCT art. 6 cl. 2 and Circular 28/2018/TT-BTC (see config/caps/default.yaml for the levels).
# Keys are stable, titles are (vi, en).
CATEGORIES: dict[str, tuple[str, str]] = {
    "machinery": ("Chuyển giao, ứng dụng máy móc thiết bị tiên tiến", "Machinery and technology transfer"),
    "demonstration": ("Mô hình trình diễn kỹ thuật", "Demonstration model"),
    "typical_product": ("Bình chọn sản phẩm công nghiệp nông thôn tiêu biểu", "Typical rural industrial product"),
    "craft_village": ("Phát triển làng nghề, làng nghề truyền thống", "Craft villages"),
    "training": ("Đào tạo nghề, truyền nghề, nâng cao tay nghề", "Vocational training and skills"),
    "cluster_planning": ("Quy hoạch chi tiết cụm công nghiệp", "Industrial cluster planning"),
    "cleaner_production": ("Sản xuất sạch hơn", "Cleaner production pilot"),
    "promotion": ("Tuyên truyền, thông tin", "Promotion and information"),
    "brand_registration": ("Xây dựng, đăng ký thương hiệu", "Brand building and registration"),
    "consulting": ("Thuê tư vấn, trợ giúp cơ sở công nghiệp nông thôn", "Consulting for rural industry"),
    "trade_fair": ("Hội chợ triển lãm (thuê gian hàng)", "Trade fairs (booth support)"),
    "showroom": ("Phòng trưng bày giới thiệu sản phẩm", "Showrooms"),
    "ecommerce": ("Thương mại điện tử", "E-commerce"),
    "pollution_treatment": ("Sửa chữa, nâng cấp hệ thống xử lý ô nhiễm môi trường tại cơ sở",
                            "Pollution treatment at a facility"),
    "startup_support": ("Hỗ trợ thành lập doanh nghiệp công nghiệp nông thôn", "Start-up support"),
    "association": ("Thành lập hội, hiệp hội ngành nghề; cụm liên kết doanh nghiệp", "Associations and clusters"),
    "study_tour": ("Tham quan, khảo sát, học tập kinh nghiệm", "Study tours"),
}

SECTORS: dict[str, tuple[str, str]] = {
    "handicrafts": ("Thủ công mỹ nghệ, làng nghề, ngành nghề nông thôn", "Handicrafts and rural trades"),
    "supporting_industry": ("Công nghiệp hỗ trợ", "Supporting industry"),
    "agro_processing": ("Chế biến nông, lâm sản, thực phẩm, đồ uống", "Agro-forestry and food processing"),
    "agri_machinery": ("Cơ khí phục vụ nông nghiệp, nông thôn", "Agricultural machinery"),
    "textiles": ("Dệt may, da giầy, hàng tiêu dùng", "Textiles, leather and consumer goods"),
    "building_materials": ("Sản xuất vật liệu xây dựng", "Construction materials"),
    "mining": ("Khai thác, chế biến khoáng sản", "Mining and mineral processing"),
    "water_waste": ("Cung cấp nước, xử lý rác thải, nước thải", "Water supply and waste treatment"),
}

ORGANISATION_KINDS: dict[str, tuple[str, str]] = {
    "sme": ("Doanh nghiệp nhỏ và vừa", "Small or medium enterprise"),
    "cooperative": ("Hợp tác xã", "Cooperative"),
    "cooperative_group": ("Tổ hợp tác", "Cooperative group"),
    "household": ("Hộ kinh doanh", "Household business"),
}

# Attachment kinds: the registration dossier, then the acceptance records (nghiệm thu).
DOSSIER_KINDS: dict[str, tuple[str, str]] = {
    "business_registration": ("Giấy đăng ký kinh doanh", "Business registration"),
    "quotes": ("Báo giá của nhà cung cấp", "Supplier quotes"),
    "non_duplication": ("Cam kết không trùng lặp nguồn vốn nhà nước", "Non-duplication commitment"),
    "other": ("Tài liệu khác", "Other document"),
}
ACCEPTANCE_KINDS: dict[str, tuple[str, str]] = {
    "acceptance_record": ("Biên bản nghiệm thu", "Acceptance record"),
    "purchase_contract": ("Hợp đồng mua máy móc", "Purchase contract"),
    "contract_liquidation": ("Biên bản thanh lý hợp đồng", "Contract liquidation"),
    "invoices": ("Hóa đơn", "Invoices"),
    "counterpart_proof": ("Chứng từ vốn đối ứng", "Proof of counterpart funds"),
    "attendee_list": ("Danh sách học viên", "Attendee list"),
    "attendance_list": ("Danh sách người tham dự trình diễn", "Demonstration attendance list"),
    "brand_certificate": ("Giấy chứng nhận đăng ký nhãn hiệu", "Brand registration certificate"),
}
ATTACHMENT_KINDS = {**DOSSIER_KINDS, **ACCEPTANCE_KINDS}

# Fields an applicant may edit while the definition allows editing (draft, returned).
EDITABLE_FIELDS = (
    "title", "commune_code", "category", "sector", "year", "total_cost", "requested_support",
    "counterpart_funds", "duration_months", "objectives", "expected_results", "expected_jobs",
    "expected_output", "priority_region", "priority_sector",
)


def district_of(session: Session, commune_code: str | None) -> str | None:
    from app.models.units import Unit

    unit = session.get(Unit, commune_code) if commune_code else None
    return unit.district_code if unit is not None else None


def fold(text: str) -> str:
    """Lowercase without Vietnamese diacritics, so 'dai tu' finds 'Đại Từ'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


class Proposal(StageFacts, WorkflowMixin, Base):
    __tablename__ = "proposal"
    wf_subject_type = "proposal"
    wf_state_index = False  # ix_proposal_state_work leads with wf_state (0021_fire_writes)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. KC-2019-0042
    title: Mapped[str] = mapped_column(String(500))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))  # indexed: ix_proposal_commune_list
    district_code: Mapped[str | None] = mapped_column(String(16))  # ix_proposal_district_list
    province_code: Mapped[str] = mapped_column(String(16))  # ix_proposal_province_list
    category: Mapped[str] = mapped_column(String(32), index=True)
    sector: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer, index=True)
    total_cost: Mapped[int] = mapped_column(BigInteger, default=0)  # VND, integers only
    requested_support: Mapped[int] = mapped_column(BigInteger, default=0)
    counterpart_funds: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_months: Mapped[int] = mapped_column(Integer, default=12)
    objectives: Mapped[str] = mapped_column(Text, default="")
    expected_results: Mapped[str] = mapped_column(Text, default="")
    expected_jobs: Mapped[int] = mapped_column(Integer, default=0)
    expected_output: Mapped[str] = mapped_column(String(300), default="")
    priority_region: Mapped[bool] = mapped_column(Boolean, default=False)
    priority_sector: Mapped[bool] = mapped_column(Boolean, default=False)
    # An officer confirms (or corrects) the applicant's priority flags before the appraisal concludes.
    priority_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    priority_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    fund: Mapped[str] = mapped_column(String(16), default="local", server_default="local", index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("plan_round.id"), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")  # folded title, code, organisation, unit names
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    # The live list: a document removed before submission keeps its row and file (for the record) but leaves it.
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="and_(Proposal.id == Attachment.proposal_id, Attachment.removed_at.is_(None))",
        order_by="Attachment.id", cascade="all, delete-orphan", overlaps="proposal")

    def wf_place(self) -> Place:
        return Place(owner=f"org:{self.organisation_id}", commune=self.commune_code,
                     district=self.district_code, province=self.province_code)

    def wf_rehome(self, session: Session) -> dict[str, tuple[Any, Any]]:
        """For a migration: an abolished commune moves to its successor (and the derived district with it)."""
        from app.models.units import UnitHistory

        history = session.info.get("unit_history")
        if history is None:
            history = session.info["unit_history"] = UnitHistory.load(session)
        if self.commune_code is None or self.commune_code in history.valid_now:
            return {}
        new = history.successor(self.commune_code)
        if new == self.commune_code:
            return {}
        changes: dict[str, tuple[Any, Any]] = {"commune_code": (self.commune_code, new)}
        district = district_of(session, new)
        if district != self.district_code:
            changes["district_code"] = (self.district_code, district)
        return changes

    @classmethod
    def wf_actors(cls, session: Session) -> dict[str, Any]:
        """For a migration: every active user with a grant, by username, as the engine sees them."""
        users = session.scalars(select(User).where(User.is_active.is_(True)))
        return {u.username: u.actor() for u in users if u.grants}

    def locate(self, session: Session, commune_code: str | None, province_code: str) -> None:
        """Set the commune and derive its (former) district from the unit table, so scope predicates see
        the right place, also for communes an admin added."""
        self.commune_code = commune_code
        self.district_code = district_of(session, commune_code)
        self.province_code = province_code

    def refresh_search_text(self, connection: Connection) -> None:
        """Fold title, code, organisation and the unit table's names of the commune and district."""
        from app.models.units import unit_names

        places = [self.commune_code, self.district_code]
        names = unit_names(connection, places)
        org = self.organisation.name if self.organisation is not None else ""
        parts = [self.code or "", self.title or "", org, *(names.get(c or "", c or "") for c in places)]
        self.search_text = fold(" ".join(parts))

    # --- facts read by guards ---------------------------------------------------------------------------
    def attachment_kinds(self) -> set[str]:
        return {a.kind for a in self.attachments}

    def document_titles(self) -> dict[str, dict[str, str]]:
        """Guard messages name missing documents by title, never by code."""
        return {k: {"vi": vi, "en": en} for k, (vi, en) in ATTACHMENT_KINDS.items()}


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))  # business_registration, quotes, non_duplication, ...
    original_name: Mapped[str] = mapped_column(String(255))  # shown only; never used as a path
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)  # server-generated
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # unlinked, kept on disk
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    proposal: Mapped[Proposal] = relationship(overlaps="attachments")


SEARCHED_FIELDS = ("code", "title", "organisation_id", "commune_code", "district_code")


@event.listens_for(Proposal, "before_insert")
def _search_text_on_insert(_mapper: object, connection: Connection, target: Proposal) -> None:
    target.refresh_search_text(connection)  # derived from title, code and names; never edited by hand


@event.listens_for(Proposal, "before_update")
def _search_text_on_update(_mapper: object, connection: Connection, target: Proposal) -> None:
    attrs = inspect(target).attrs  # built afresh on every access: once per update, not once per field
    if any(attrs[name].history.has_changes() for name in SEARCHED_FIELDS):
        target.refresh_search_text(connection)  # workflow-only updates (state, version) skip this
