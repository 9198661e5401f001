"""Importing past proposals and their decisions from old files (CSV or XLSX), with their historical dates.

One row per event, in the order things happened. A proposal's rows share its ``ref`` (the file's own key,
kept in the create event); its first row is ``created`` and carries the proposal's fields, later rows name a
decision (``submitted``, ``reviewed``, ``appraised``, ``funded``, ``contracted``, ``accepted``, ``settled``,
``evaluated``, ``rejected``, ``withdrawn``, ``terminated``, ``returned`` ... or a trigger or state of the
lifecycle in force on the filing date) with its ``date``. See docs/units.md ("Old files").

Every event goes through ``workflow.operations`` (create, import_event): the same lock, pin, stored move and
hash chain as any other write, with ``effective_at`` (the historical date) beside the real recording time,
and ``imported: true``. Rows are checked first and every problem is reported as ``FILE:LINE: what``; the
caller's transaction then holds everything, so a file is imported whole or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.formatting import LOCAL_TZ
from app.models import Organisation, Proposal, User
from app.models.proposals import CATEGORIES, ORGANISATION_KINDS, SECTORS, district_of
from app.models.stages import BudgetEnvelope, Funding
from app.models.units import Unit, UnitHistory
from app.proposals.services import RECORDED_AMOUNTS, WORKFLOW, next_code, workflow_on
from workflow import operations
from workflow.errors import Conflict, InvalidInput, Refused, WorkflowError
from workflow.machine import CompiledWorkflow
from workflow.storage import utcnow

# Words of old files -> the lifecycle's trigger; a state's name is understood too (the step that reaches it).
ALIASES = {
    "submitted": "submit", "reviewed": "forward", "forwarded": "forward", "recommended": "forward",
    "not_recommended": "not_recommend", "returned": "return_for_revision", "appraised": "shortlist",
    "shortlisted": "shortlist", "funded": "approve_funding", "contracted": "sign_contract", "accepted": "accept",
    "settled": "settle", "evaluated": "evaluate", "withdrawn": "withdraw", "terminated": "terminate",
}
REQUIRED = ("ref", "event", "date")
PROPOSAL_REQUIRED = ("year", "title", "category", "sector", "commune_code", "organisation_tax_code",
                     "total_cost", "requested_support")
TEXT_FIELDS = ("objectives", "expected_results", "expected_output")
INT_FIELDS = ("year", "total_cost", "requested_support", "counterpart_funds", "duration_months", "expected_jobs",
              "amount")
LEGACY_FUND = "Kinh phí khuyến công địa phương (nhập từ hồ sơ cũ)"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_GROUPED = re.compile(r"^\d{1,3}([.\s]\d{3})+$")


class LegacyImportError(Exception):
    """The file's problems, each ``FILE:LINE: what``; nothing of the file was written."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Record:
    """One row of the file: where it is (for messages) and its values, stripped, empty ones left out."""

    source: str
    line: int
    values: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@dataclass
class Summary:
    proposals: int = 0
    events: int = 0
    codes: list[str] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------------------------

def read_file(path: str | Path) -> list[Record]:
    """Rows of a CSV (UTF-8, with or without BOM) or XLSX file (first sheet), the header on line 1."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return list(_records(str(path), _xlsx_rows(path)))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(_records(str(path), csv.reader(fh)))


def read_csv_text(text: str, source: str = "<csv>") -> list[Record]:
    return list(_records(source, csv.reader(io.StringIO(text))))


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T", timespec="seconds") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _records(source: str, rows: Iterable[list[str]]) -> Iterator[Record]:
    header: list[str] | None = None
    for line, row in enumerate(rows, 1):
        if header is None:
            header = [h.strip().lower() for h in row]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise LegacyImportError([f"{source}:{line}: dòng tiêu đề thiếu cột {', '.join(missing)}"])
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            raise LegacyImportError([f"{source}:{line}: {len(row)} ô, dòng tiêu đề có {len(header)} cột"])
        yield Record(source, line, {h: c.strip() for h, c in zip(header, row, strict=False) if h and c.strip()})


# --- checking ---------------------------------------------------------------------------------------------

def parse_date(text: str) -> dt.datetime:
    """ISO (YYYY-MM-DD, optionally with a time) or dd/mm/yyyy, local time in Vietnam; ValueError if neither."""
    if _ISO.match(text):
        moment = dt.datetime.fromisoformat(text)
    elif match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
        try:
            moment = dt.datetime(year, month, day)
        except ValueError:
            raise ValueError(f"'{text}' không phải ngày có thật") from None
    else:
        raise ValueError(f"'{text}' không phải ngày (YYYY-MM-DD hoặc dd/mm/yyyy)")
    return moment.replace(tzinfo=LOCAL_TZ).astimezone(dt.UTC)


@dataclass
class _Planned:
    """A proposal's rows, checked: the first is its creation."""

    ref: str
    rows: list[tuple[Record, dt.datetime]]


def _check(records: list[Record], session: Session, history: UnitHistory) -> list[_Planned]:
    problems: list[str] = []
    plans: dict[str, _Planned] = {}
    declared: set[str] = set()  # tax codes of organisations an earlier row of the file names
    now = utcnow()
    for r in records:
        try:
            moment = _row_moment(r, now)
        except ValueError as exc:
            problems.append(f"{r.where}: {exc}")
            continue
        problem = _place_row(r, moment, plans, session, history, declared)
        if problem:
            problems.append(f"{r.where}: {problem}")
    if problems:
        raise LegacyImportError(problems)
    return list(plans.values())


def _row_moment(r: Record, now: dt.datetime) -> dt.datetime:
    """The row's date, once its required fields and whole numbers are checked (grouped numbers are cleaned);
    ValueError saying what is wrong with the row."""
    missing = [name for name in REQUIRED if not r.get(name)]
    if missing:
        raise ValueError(f"thiếu {', '.join(missing)}")
    moment = parse_date(r.get("date"))
    if moment > now:
        raise ValueError(f"ngày {r.get('date')} ở tương lai")
    for name in INT_FIELDS:  # 180.000.000 as Vietnamese writes it (a comma would be decimal: refused)
        if _GROUPED.match(r.get(name)):
            r.values[name] = re.sub(r"[.\s]", "", r.get(name))
    bad_ints = [name for name in INT_FIELDS if r.get(name) and not r.get(name).isdigit()]
    if bad_ints:
        raise ValueError(f"{', '.join(bad_ints)} phải là số nguyên")
    return moment


def _place_row(r: Record, moment: dt.datetime, plans: dict[str, _Planned], session: Session,
               history: UnitHistory, declared: set[str]) -> str | None:
    """Add the row to its proposal's plan: a 'created' row starts one, any other follows it in date order.
    The problem with the row, if any (then nothing is added)."""
    ref, event = r.get("ref"), r.get("event").lower()
    plan = plans.get(ref)
    if event == "created":
        if plan is not None:
            return f"hồ sơ {ref} đã được lập ở dòng {plan.rows[0][0].line}"
        problem = _proposal_problem(r, session, history, moment, declared)
        if not problem:
            plans[ref] = _Planned(ref, [(r, moment)])
        return problem
    if plan is None:
        return f"hồ sơ {ref} chưa có dòng 'created' trước dòng này"
    last_row, last = plan.rows[-1]
    if moment < last:
        return (f"ngày {r.get('date')} trước sự kiện trước đó của hồ sơ {ref} "
                f"(dòng {last_row.line}, {last_row.get('date')}): các sự kiện phải theo thứ tự")
    plan.rows.append((r, moment))
    return None


def _proposal_problem(r: Record, session: Session, history: UnitHistory, moment: dt.datetime,
                      declared: set[str]) -> str | None:
    missing = [name for name in PROPOSAL_REQUIRED if not r.get(name)]
    if missing:
        return f"dòng 'created' cần {', '.join(missing)}"
    for name, known in (("category", CATEGORIES), ("sector", SECTORS)):
        if r.get(name) not in known:
            return f"không có {name} '{r.get(name)}'"
    if int(r.get("requested_support")) > int(r.get("total_cost")):
        return "requested_support lớn hơn total_cost"
    code, day = r.get("commune_code"), moment.astimezone(LOCAL_TZ).date()
    unit = session.get(Unit, code)
    if unit is None or unit.level != "commune":
        return f"không có xã/phường mã '{code}'"
    if not any((start is None or start <= day) and (end is None or day <= end)
               for start, end, _name in history.periods.get(code, [(unit.valid_from, unit.valid_to, "")])):
        return f"xã/phường mã {code} không tồn tại vào ngày {day:%d/%m/%Y}"
    tax = r.get("organisation_tax_code")
    if tax not in declared and session.scalar(select(Organisation.id).where(Organisation.tax_code == tax)) is None:
        if not r.get("organisation_name"):
            return f"không có cơ sở mã số thuế {tax}: cần organisation_name và organisation_kind"
        if r.get("organisation_kind") not in ORGANISATION_KINDS:
            return f"không có organisation_kind '{r.get('organisation_kind')}'"
    declared.add(tax)
    return None


# --- writing ----------------------------------------------------------------------------------------------

def import_records(session: Session, records: list[Record], importer: User, *, province_code: str) -> Summary:
    """Import every record in the caller's transaction (the caller commits, or rolls back on an error).
    Raises LegacyImportError with every problem found, each ``FILE:LINE: what``."""
    history = UnitHistory.load(session)
    plans = _check(records, session, history)
    envelopes = _Envelopes(session, importer, province_code, plans)
    summary = Summary()
    for plan in plans:
        record = None
        try:
            record, moment = plan.rows[0]
            proposal = _create(session, record, importer, moment, province_code)
            summary.proposals += 1
            summary.codes.append(proposal.code)
            compiled = workflow_on(moment.astimezone(LOCAL_TZ).date(), WORKFLOW)
            for record, moment in plan.rows[1:]:
                _apply(session, proposal, compiled, record, moment, importer, envelopes)
                summary.events += 1
        except WorkflowError as exc:
            assert record is not None
            raise LegacyImportError([f"{record.where}: {_message(exc)}"]) from exc
        except _RowProblem as exc:
            assert record is not None
            raise LegacyImportError([f"{record.where}: {exc}"]) from exc
    session.flush()
    return summary


class _RowProblem(Exception):
    pass


def _message(exc: WorkflowError) -> str:
    """The engine's message, in Vietnamese."""
    if isinstance(exc, InvalidInput):
        return "; ".join(m["vi"] for m in exc.errors.values())
    if isinstance(exc, Conflict):
        return exc.message["vi"]
    if isinstance(exc, Refused):
        return "; ".join(r.message["vi"] for r in exc.reasons)
    return str(exc)


def _create(session: Session, r: Record, importer: User, moment: dt.datetime, province_code: str) -> Proposal:
    org = session.scalar(select(Organisation).where(Organisation.tax_code == r.get("organisation_tax_code")))
    if org is None:
        org = Organisation(name=r.get("organisation_name"), kind=r.get("organisation_kind"),
                           tax_code=r.get("organisation_tax_code"), commune_code=r.get("commune_code"))
        session.add(org)
    values: dict[str, Any] = {name: r.get(name) for name in ("title", "category", "sector", *TEXT_FIELDS)}
    values.update({name: int(r.get(name)) for name in ("year", "total_cost", "requested_support",
                                                       "counterpart_funds", "duration_months", "expected_jobs")
                   if r.get(name)})
    values.setdefault("counterpart_funds", values["total_cost"] - values["requested_support"])
    for flag in ("priority_region", "priority_sector"):
        values[flag] = r.get(flag).lower() in ("1", "true", "x", "có", "co")
    code = next_code(session, values["year"])  # before the new row joins the session (autoflush)
    proposal = Proposal(code=code, organisation=org, created_by=importer, created_at=moment, **values)
    proposal.commune_code = r.get("commune_code")
    proposal.district_code = district_of(session, proposal.commune_code)
    proposal.province_code = province_code
    day = moment.astimezone(LOCAL_TZ).date()
    inputs = {name: getattr(proposal, name) for name in RECORDED_AMOUNTS}
    inputs.update(source=r.where, ref=r.get("ref"))
    operations.create(session, proposal, importer.actor(), workflow_on(day, WORKFLOW), inputs=inputs,
                      effective_at=moment)
    return proposal


def _step(compiled: CompiledWorkflow, state: str, word: str) -> tuple[str, str | None]:
    """(trigger, destination) for an event word of the file, from ``state``."""
    from_here = compiled.rules_from.get(state, {})
    trigger = ALIASES.get(word, word)
    if trigger in from_here:
        return trigger, None
    reaching = {(r.trigger, r.dest) for rules in from_here.values() for r in rules if r.dest == word}
    if len(reaching) == 1:
        return next(iter(reaching))
    possible = sorted({*from_here, *(r.dest for rules in from_here.values() for r in rules)})
    raise _RowProblem(f"'{word}' không thể tiếp sau trạng thái {state} ({compiled.workflow} v{compiled.version}; "
                      f"có thể: {', '.join(possible) or 'không, hồ sơ đã đóng'})")


def _apply(session: Session, proposal: Proposal, compiled: CompiledWorkflow, r: Record, moment: dt.datetime,
           importer: User, envelopes: _Envelopes) -> None:
    trigger, dest = _step(compiled, proposal.wf_state, r.get("event").lower())
    inputs: dict[str, Any] = {"source": r.where}
    for name in ("amount", "number"):
        if r.get(name):
            inputs[name] = int(r.get(name)) if name == "amount" else r.get(name)
    operations.import_event(session, proposal, importer.actor(), trigger, effective_at=moment, dest=dest,
                            inputs=inputs, comment=r.get("note") or None)
    _record_facts(session, proposal, trigger, r, moment, envelopes)


def _record_facts(session: Session, proposal: Proposal, trigger: str, r: Record, moment: dt.datetime,
                  envelopes: _Envelopes) -> None:
    """The money rows later pages and reports read (funding, contract, acceptance, settlement)."""
    day = moment.astimezone(LOCAL_TZ).date()
    if trigger == "approve_funding":
        amount = int(r.get("amount") or proposal.requested_support)
        envelope = envelopes.for_year(proposal.year)
        from app.funding.services import move_money

        move_money(session, envelope, amount, proposal.id, "commit", envelopes.actor_id)
        session.add(Funding(proposal_id=proposal.id, envelope_id=envelope.id, approved_amount=amount,
                            decision_number=r.get("number") or "(hồ sơ cũ)", decision_date=day,
                            content=proposal.objectives))
        session.flush()
        return
    funding = session.scalar(select(Funding).where(Funding.proposal_id == proposal.id))
    if funding is None:
        return
    if trigger == "sign_contract":
        funding.contract_number, funding.contract_date = r.get("number") or None, day
    elif trigger == "accept":
        funding.accepted_on = day
        funding.acceptance_conclusion = r.get("note") or None
    elif trigger == "settle":
        funding.disbursed_total = int(r.get("amount") or funding.approved_amount)
        funding.refund_amount = 0


class _Envelopes:
    """One envelope per plan year for the money of imported files, sized to what the file funds that year."""

    def __init__(self, session: Session, importer: User, province: str, plans: list[_Planned]):
        self.session, self.importer, self.province = session, importer, province
        self.actor_id = str(importer.id)
        self.needed: dict[int, int] = {}
        for plan in plans:
            created = plan.rows[0][0]
            for r, _moment in plan.rows[1:]:
                if ALIASES.get(r.get("event").lower(), r.get("event").lower()) in ("approve_funding", "funded"):
                    year = int(created.get("year"))
                    amount = int(r.get("amount") or created.get("requested_support"))
                    self.needed[year] = self.needed.get(year, 0) + amount
        self.made: dict[int, BudgetEnvelope] = {}

    def for_year(self, year: int) -> BudgetEnvelope:
        if year not in self.made:
            from app.funding.services import create_envelope

            taken = self.session.scalar(select(BudgetEnvelope.id).where(
                BudgetEnvelope.province_code == self.province, BudgetEnvelope.fund == LEGACY_FUND,
                BudgetEnvelope.year == year))
            if taken is not None:
                raise _RowProblem(f"kinh phí năm {year} đã được nhập trước đây (dự toán '{LEGACY_FUND} {year}'): "
                                  f"hãy nhập mọi hồ sơ cũ của một năm trong cùng một tệp")
            self.made[year] = create_envelope(self.session, self.importer, self.province, {
                "fund": LEGACY_FUND, "year": year, "amount": self.needed[year]})
        return self.made[year]


def import_file(session: Session, path: str | Path, importer: User, *, province_code: str) -> Summary:
    return import_records(session, read_file(path), importer, province_code=province_code)
