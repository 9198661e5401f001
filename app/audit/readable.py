"""Audit events as people read them: one place maps an event to a title and readable lines (field labels in the
user's language, money as 150.000.000 ₫, dates dd/mm/yyyy, có/không, names instead of user ids, KC codes
instead of ``proposal:203``, translated states, outcomes and roles). The proposal timeline, the audit pages and
the audit CSV all come through here; the names and codes of a page of events are loaded in one query each."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from app.formatting import local, vnd
from app.i18n import lang, tr
from app.models import Proposal, User
from app.models.proposals import ATTACHMENT_KINDS, CATEGORIES, SECTORS
from workflow.machine import CompiledWorkflow
from workflow.registry import default_registry

Pair = tuple[str, str]

OUTCOMES: dict[str, Pair] = {  # workflow.audit.OUTCOMES
    "applied": ("Đã thực hiện", "Done"), "refused": ("Bị từ chối", "Refused"), "created": ("Đã tạo", "Created"),
    "migrated": ("Đã chuyển quy trình", "Migrated"), "checkpoint": ("Điểm kiểm tra chuỗi", "Chain checkpoint"),
}
SUBJECT_TYPES: dict[str, Pair] = {"proposal": ("Đề án", "Proposal"), "plan_round": ("Đợt kế hoạch", "Plan round"),
                                  "envelope": ("Nguồn kinh phí", "Budget envelope"),
                                  "workflow_definition": ("Định nghĩa quy trình", "Workflow definition")}
# Labels of the keys events carry in their inputs and changes (the definitions' inputs add theirs).
FIELD_LABELS: dict[str, Pair] = {
    "title": ("Tên đề án", "Title"), "commune_code": ("Xã/phường", "Commune"),
    "district_code": ("Huyện (cũ)", "District (former)"), "province_code": ("Tỉnh", "Province"),
    "category": ("Nội dung hỗ trợ", "Category"), "sector": ("Ngành nghề", "Sector"), "year": ("Năm kế hoạch", "Plan year"),
    "total_cost": ("Tổng kinh phí", "Total cost"), "requested_support": ("Kinh phí đề nghị hỗ trợ", "Requested support"),
    "counterpart_funds": ("Vốn đối ứng", "Counterpart funds"), "duration_months": ("Thời gian (tháng)", "Duration (months)"),
    "objectives": ("Mục tiêu", "Objectives"), "expected_results": ("Kết quả dự kiến", "Expected results"),
    "expected_jobs": ("Lao động dự kiến", "Jobs expected"), "expected_output": ("Sản lượng dự kiến", "Expected output"),
    "priority_region": ("Địa bàn ưu tiên", "Priority region"), "priority_sector": ("Ngành nghề ưu tiên", "Priority sector"),
    "priority_confirmed_at": ("Thời điểm xác nhận ưu tiên", "Priority confirmed at"),
    "priority_confirmed_by_id": ("Người xác nhận ưu tiên", "Priority confirmed by"),
    "user_id": ("Người được phân công", "Member assigned"), "member": ("Thành viên hội đồng", "Council member"),
    "member_name": ("Tên thành viên", "Member's name"), "kind": ("Loại", "Kind"), "reason": ("Lý do", "Reason"),
    "comment": ("Ý kiến", "Comment"), "points": ("Điểm theo tiêu chí", "Points by criterion"),
    "not_eligible": ("Không đủ điều kiện", "Not eligible"), "version": ("Phiên bản", "Version"),
    "sheet_hmac": ("Mã niêm phong phiếu", "Sheet seal"), "sheet_sha256": ("Mã kiểm tra phiếu", "Sheet checksum"),
    "sha256": ("Mã kiểm tra (SHA-256)", "Checksum (SHA-256)"), "name": ("Tên tệp", "File name"),
    "size": ("Dung lượng (byte)", "Size (bytes)"), "attachment": ("Tài liệu", "Document"),
    "removed": ("Tài liệu đã gỡ", "Document removed"), "replaced_by": ("Thay bằng", "Replaced by"),
    "progress_percent": ("Tiến độ (%)", "Progress (%)"), "percent": ("Phần trăm hoàn thành", "Percent done"),
    "period": ("Kỳ báo cáo", "Period"), "note": ("Ghi chú", "Note"), "report": ("Báo cáo tiến độ", "Progress report"),
    "report_id": ("Báo cáo tiến độ", "Progress report"), "amount": ("Số tiền", "Amount"),
    "paid_on": ("Ngày chi", "Paid on"), "advanced_total": ("Tổng đã tạm ứng", "Total advanced"),
    "change_request": ("Đề nghị điều chỉnh", "Change request"), "change_id": ("Đề nghị điều chỉnh", "Change request"),
    "value": ("Giá trị mới", "New value"), "approve": ("Đồng ý", "Approved"),
    "indicator": ("Chỉ số", "Indicator"), "key": ("Chỉ số", "Indicator"), "target": ("Mục tiêu", "Target"),
    "actual": ("Thực tế", "Actual"), "fund": ("Nguồn kinh phí", "Fund"), "proposal_id": ("Đề án", "Proposal"),
    "plan_total": ("Tổng kinh phí danh mục", "Plan total"), "proposals": ("Các đề án", "Proposals"),
    "decision_file": ("Tệp quyết định", "Decision file"), "confirmed_at": ("Thời điểm xác nhận", "Confirmed at"),
    "confirmed_by_id": ("Người xác nhận", "Confirmed by"), "state": ("Trạng thái", "Status"),
    "wf_state": ("Trạng thái", "Status"), "round_id": ("Đợt kế hoạch", "Plan round"),
}
MONEY_KEYS = frozenset({"total_cost", "requested_support", "counterpart_funds", "amount", "approved_amount",
                        "disbursed_total", "refund_amount", "advanced_total", "plan_total"})
USER_KEYS = frozenset({"user_id", "member", "priority_confirmed_by_id", "confirmed_by_id", "removed_by_id",
                       "uploaded_by_id", "created_by_id"})
DIGEST_KEYS = frozenset({"sha256", "sheet_hmac", "sheet_sha256", "hash", "prev_hash"})
HIDDEN_KEYS = frozenset({"comment", "reason"})  # shown as the event's comment, not again as a line
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass
class Names:
    """User ids and proposal ids of a page of events, resolved in one query each."""

    users: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    label: str
    value: str


@dataclass
class ReadableEvent:
    title: str
    outcome: str
    subject: str
    actor: str
    role: str
    states: str
    comment: str
    lines: list[Line]
    when: str
    raw: str = ""  # the machine record, for the "technical details" toggle
    recorded: str = ""  # for a record imported from old files: when it was recorded ("when" is its historical date)

    def text(self) -> str:
        return "; ".join(f"{line.label}: {line.value}" for line in self.lines)


def _referenced_users(events: Iterable[Any]) -> set[int]:
    ids: set[int] = set()

    def take(value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) or (isinstance(item, str) and item.isdigit()):
                ids.add(int(item))

    for e in events:
        if e.actor_id and e.actor_id.isdigit():
            ids.add(int(e.actor_id))
        for bag in (e.inputs or {}, _diff(e)):
            for key in USER_KEYS & set(bag):
                take(bag[key])
    return ids


def _diff(event: Any) -> dict[str, Any]:
    """The changes, also when a page loaded only their preview (``diff_preview``, possibly cut short)."""
    preview = getattr(event, "diff_preview", None)
    if preview is not None:
        try:
            value = json.loads(preview) if preview else {}
        except ValueError:
            return {}  # cut at DIFF_PREVIEW characters: the technical details show it
        return value if isinstance(value, dict) else {}
    diff = event.__dict__.get("diff") if hasattr(event, "__dict__") else None
    return diff if isinstance(diff, dict) else {}


def load_names(session: Session, events: Sequence[Any]) -> Names:
    names = Names()
    ids = _referenced_users(events)
    if ids:
        names.users = {str(i): full or user for i, full, user in
                       session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids)))}
    proposal_ids = {e.subject_id for e in events if e.subject_type == "proposal" and (e.subject_id or "").isdigit()}
    for bag in (e.inputs or {} for e in events):
        if str(bag.get("proposal_id", "")).isdigit():
            proposal_ids.add(str(bag["proposal_id"]))
    if proposal_ids:
        names.codes = dict(session.execute(select(cast(Proposal.id, String), Proposal.code)
                                           .where(Proposal.id.in_([int(i) for i in proposal_ids]))).all())
    return names


def display_names(session: Session, events: Sequence[Any]) -> dict[str, str]:
    """actor_id (and referenced user ids) -> the person's name, one query."""
    return load_names(session, events).users


def _compiled_for(event: Any, fallback: CompiledWorkflow | None) -> CompiledWorkflow | None:
    if event.workflow and event.workflow_version:
        try:
            return default_registry().get(event.workflow, event.workflow_version)
        except (KeyError, LookupError):
            return fallback
    return fallback


def state_title(compiled: CompiledWorkflow | None, state: str | None) -> str:
    if not state:
        return ""
    return compiled.title_of(state, lang()) if compiled is not None else state


@functools.lru_cache(maxsize=8)
def _titles(language: str) -> dict[str, str]:
    """The titles of actions that are not transitions, in ``language`` (the current one when first called):
    built once per language, not once per event (an export of a million events asked for them each time)."""
    from app.common.web import ACTION_TITLES  # late: app.common imports the stage services

    return {"create": _("Created"), "edit": _("Edited"), "attach": _("Document added"),
            "remove_attachment": tr(("Gỡ tài liệu", "Document removed")),
            "migrate": _("Moved to a newer lifecycle version"), "checkpoint": tr(OUTCOMES["checkpoint"]),
            **{k: tr(v) for k, v in ACTION_TITLES.items()}}


def event_title(event: Any, compiled: CompiledWorkflow | None) -> str:
    """The transition's own title, else a named domain action."""
    titles = _titles(lang())
    rule = next((r for r in compiled.rules if r.trigger == event.action), None) if compiled else None
    title = tr(rule.title) if rule else titles.get(event.action, event.action.replace("_", " "))
    return _("Refused: %(action)s", action=title) if event.outcome == "refused" else title


def label(key: str, compiled: CompiledWorkflow | None = None) -> str:
    if compiled is not None:
        spec = compiled.input_specs.get(key)
        if spec is not None and spec.title:
            return tr(spec.title.as_dict())
    pair = FIELD_LABELS.get(key)
    return tr(pair) if pair else key.replace("_", " ")


def value_text(key: str, value: Any, names: Names, compiled: CompiledWorkflow | None = None) -> str:
    """One value as a person reads it."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list | dict):
        return _composite_text(key, value, names, compiled)
    keyed = _keyed_text(key, value, names, compiled)
    return keyed if keyed is not None else _shaped_text(value)


def _yes_no(value: bool) -> str:
    return tr(("có", "yes")) if value else tr(("không", "no"))


def _composite_text(key: str, value: list[Any] | dict[str, Any], names: Names,
                    compiled: CompiledWorkflow | None) -> str:
    """A list (a pair is a change: old → new) or a mapping (a document, council points, named values)."""
    if isinstance(value, list) and len(value) == 2 and key not in ("proposals",):
        return f"{value_text(key, value[0], names, compiled)} → {value_text(key, value[1], names, compiled)}"
    if isinstance(value, list):
        return ", ".join(value_text(key, v, names, compiled) for v in value)
    if key == "attachment" or {"kind", "name"} <= set(value):
        code = str(value.get("kind"))
        kind: Pair = ATTACHMENT_KINDS.get(code, (code, code))
        return f"{tr(kind)}: {value.get('name', '')}"
    if key == "points" and compiled is not None:
        titles = {c.key: tr(c.title.as_dict()) for s in compiled.states.values() if s.council
                  for c in s.council.criteria if c.title}
        return "; ".join(f"{titles.get(k, k)}: {v}" for k, v in value.items())
    return "; ".join(f"{label(k, compiled)}: {value_text(k, v, names, compiled)}" for k, v in value.items())


def _keyed_text(key: str, value: Any, names: Names, compiled: CompiledWorkflow | None) -> str | None:
    """A value its key tells how to read (a person, a proposal, money, a digest, a code, a state); else None."""
    spec = compiled.input_specs.get(key) if compiled is not None else None
    if key in USER_KEYS and str(value).isdigit():
        return names.users.get(str(value), tr(("người dùng đã xóa", "deleted user")))
    if key == "proposal_id":
        return names.codes.get(str(value), str(value))
    if key in MONEY_KEYS or (spec is not None and spec.type == "money"):
        try:
            return vnd(int(value))
        except (TypeError, ValueError):
            return str(value)
    if key in DIGEST_KEYS:
        return f"{str(value)[:12]}…"
    code_title = _code_title(key, str(value))
    if code_title is not None:
        return code_title
    if key in ("state", "wf_state", "from_state", "to_state"):
        return state_title(compiled, str(value))
    return None


def _code_title(key: str, code: str) -> str | None:
    """The title of a kind (of document, recusal or change), a category or a sector; None for other keys."""
    tables: tuple[Mapping[str, Any], ...] = {"category": (CATEGORIES,), "sector": (SECTORS,)}.get(key, ())
    if key == "kind":
        from app.council.services import RECUSAL_KINDS  # late, as above
        from app.implementation.services import CHANGE_KINDS

        tables = (ATTACHMENT_KINDS, RECUSAL_KINDS, CHANGE_KINDS)
    for titles in tables:
        if code in titles:
            return tr(titles[code])
    return None


def _shaped_text(value: Any) -> str:
    """A value read by its shape: a time, a date, a written true/false, a decimal number."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return local(dt.datetime.fromisoformat(value)).strftime("%d/%m/%Y %H:%M")
        except ValueError:
            return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return _yes_no(value.lower() == "true")
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return str(value)


def _checkpoint_lines(diff: dict[str, Any]) -> list[Line]:
    """A checkpoint names every chain head that moved (a bulk load: 100,000 of them, megabytes): a person reads
    how many and the digest; the heads themselves stay in the machine columns."""
    heads = diff.get("heads")
    lines = [Line(tr(("Chuỗi được ghi nhận", "Chains recorded")), str(len(heads)))] if isinstance(heads, dict) else []
    if diff.get("digest"):
        lines.append(Line(tr(("Mã tổng hợp", "Digest")), str(diff["digest"])))
    return lines


def lines_of(event: Any, names: Names, compiled: CompiledWorkflow | None) -> list[Line]:
    """The event's inputs and changes, each as label: value (refusal reasons as they were given)."""
    if event.outcome == "checkpoint":
        return _checkpoint_lines(_diff(event))
    out: list[Line] = []
    inputs = {k: v for k, v in (event.inputs or {}).items() if k not in HIDDEN_KEYS}
    diff = _diff(event)
    if "attachment" in diff:
        inputs.pop("kind", None)  # the document line names its kind
    if event.action == "assign_council_member" and "member" in diff:
        inputs.pop("user_id", None)
        diff = {k: v for k, v in diff.items() if k != "member_name"}
    for key, value in inputs.items():
        if value in (None, "") or key in diff:
            continue
        out.append(Line(label(key, compiled), value_text(key, value, names, compiled)))
    for key, value in diff.items():
        if key in HIDDEN_KEYS:
            continue
        out.append(Line(label(key, compiled), value_text(key, value, names, compiled)))
    if event.outcome == "refused":
        for reason in event.reasons or []:
            message = reason.get("message") if isinstance(reason, Mapping) else reason
            out.append(Line(tr(("Lý do", "Reason")), tr(message) if isinstance(message, Mapping) else str(message)))
    return out


def readable(event: Any, names: Names, fallback: CompiledWorkflow | None = None, *,
             with_raw: bool = True) -> ReadableEvent:
    """The event as a person reads it; ``with_raw=False`` leaves out the machine record (an export has it in
    columns of its own, and rendering it per event was a third of the export's time)."""
    compiled = _compiled_for(event, fallback)
    role = ""
    if event.actor_role:
        spec = compiled.definition.roles.get(event.actor_role) if compiled is not None else None
        role = tr(spec.title.as_dict()) if spec is not None and spec.title else event.actor_role
    if event.subject_type == "proposal":
        subject = names.codes.get(event.subject_id or "", f"{tr(SUBJECT_TYPES['proposal'])} {event.subject_id}")
    else:
        subject = f"{tr(SUBJECT_TYPES.get(event.subject_type, (event.subject_type, event.subject_type)))} " \
                  f"{event.subject_id}"
    moved = event.from_state and event.to_state and event.from_state != event.to_state
    states = f"{state_title(compiled, event.from_state)} → {state_title(compiled, event.to_state)}" if moved else ""
    inputs = event.inputs or {}
    comment = event.comment or inputs.get("reason") or inputs.get("comment") or ""
    actor = names.users.get(event.actor_id or "", event.actor_id or tr(("hệ thống", "system")))
    recorded = local(event.occurred_at).strftime("%d/%m/%Y %H:%M")
    historical = getattr(event, "effective_at", None)
    return ReadableEvent(event_title(event, compiled), tr(OUTCOMES.get(event.outcome, (event.outcome,) * 2)),
                         subject, actor, role, states, str(comment), lines_of(event, names, compiled),
                         local(historical).strftime("%d/%m/%Y") if historical else recorded,
                         raw_json(event) if with_raw else "",
                         recorded if historical else "")


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def raw_json(event: Any) -> str:
    """The event's inputs, changes and reasons as JSON with Vietnamese letters as they are (no \\u escapes)."""
    preview = getattr(event, "diff_preview", None)
    record: dict[str, Any] = {"action": event.action, "inputs": event.inputs or {}}
    diff: Any = _diff(event)
    if preview and not diff:  # cut short: show the text, unescaped
        diff = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), preview) + "…"
    if diff:
        record["diff"] = diff
    if event.reasons:
        record["reasons"] = event.reasons
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=1, default=str)


def action_title(action: str) -> str:
    """An action code alone (the audit log's filter), by the first lifecycle that names it."""
    for compiled in default_registry():
        rule = next((r for r in compiled.rules if r.trigger == action), None)
        if rule is not None:
            return tr(rule.title)
    from app.common.web import ACTION_TITLES

    pair = ACTION_TITLES.get(action) or {"create": ("Tạo đề án", "Created"), "edit": ("Sửa đề án", "Edited"),
                                         "attach": ("Thêm tài liệu", "Document added"),
                                         "remove_attachment": ("Gỡ tài liệu", "Document removed"),
                                         "migrate": ("Chuyển sang quy trình mới", "Moved to a newer lifecycle"),
                                         "checkpoint": OUTCOMES["checkpoint"]}.get(action)
    return tr(pair) if pair else action.replace("_", " ")


def readable_events(session: Session, events: Sequence[Any], compiled: CompiledWorkflow | None = None,
                    names: Names | None = None) -> dict[int, ReadableEvent]:
    """A page of events by id, their names and codes loaded once for the page (or given, already loaded)."""
    names = names if names is not None else load_names(session, events)
    return {e.id: readable(e, names, compiled) for e in events}
