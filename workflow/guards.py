"""Named, parameterised guard predicates with bilingual failure messages.

A guard reads *facts* about the subject through :meth:`GuardContext.fact`: an attribute of the subject, or a
zero-argument method it calls. The engine never knows what a proposal is; the subject's class decides how a
fact such as ``attachment_kinds`` or ``council`` is computed.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from workflow.errors import InvalidInput
from workflow.explain import GUARD, SEPARATION
from workflow.inputs import clean_value

if TYPE_CHECKING:
    from workflow.definitions import GuardRef
    from workflow.permissions import Actor

Message = dict[str, str]
GuardOutcome = bool | Message


@dataclass
class GuardContext:
    """What a guard may look at: the subject, the actor, the inputs given, and the state being left."""

    subject: Any
    actor: Actor | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    session: Any = None
    state: Any = None  # workflow.definitions.State of the source state
    definition: Any = None  # workflow.machine.CompiledWorkflow
    _cache: dict[str, Any] = field(default_factory=dict)

    def fact(self, name: str, default: Any = None) -> Any:
        if name in self._cache:
            return self._cache[name]
        value = getattr(self.subject, name, default)
        if callable(value):
            value = value()
        self._cache[name] = value
        return value

    def fact_about(self, name: str, *args: Any) -> Any:
        """A fact that depends on what is being asked (e.g. the amount requested): the subject's method called
        with ``args`` (a plain attribute is taken as it is); None when the subject has no such fact. Not cached:
        the arguments differ."""
        value = getattr(self.subject, name, None)
        return value(*args) if callable(value) else value


@dataclass(frozen=True)
class Param:
    name: str
    types: tuple[type, ...]
    required: bool
    default: Any = None


@dataclass(frozen=True)
class Guard:
    name: str
    fn: Callable[..., GuardOutcome]
    params: tuple[Param, ...]
    message: Message
    reason: str = GUARD  # the Reason code of a failure: SEPARATION for a separation-of-duties guard (403)

    def bind(self, ref: GuardRef) -> tuple[dict[str, Any], list[str]]:
        """Match a reference's parameters to this guard's signature; returns (params, errors)."""
        errors: list[str] = []
        given = dict(ref.params)
        if ref.positional:
            if len(self.params) != 1:
                names = ", ".join(p.name for p in self.params) or "none"
                errors.append(
                    f"guard '{self.name}' takes named parameters ({names}), not a single value"
                )
                return {}, errors
            given = {self.params[0].name: ref.positional[0]}
        known = {p.name: p for p in self.params}
        for key in given:
            if key not in known:
                errors.append(f"guard '{self.name}' has no parameter '{key}' (takes: {', '.join(known) or 'none'})")
        bound: dict[str, Any] = {}
        for p in self.params:
            if p.name not in given:
                if p.required:
                    errors.append(f"guard '{self.name}' needs parameter '{p.name}'")
                else:
                    bound[p.name] = p.default
                continue
            value = given[p.name]
            if not _fits(value, p.types) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
                wanted = " or ".join("a list of names" if t is list else t.__name__ for t in p.types)
                errors.append(
                    f"guard '{self.name}' parameter '{p.name}' must be {wanted}, got {type(value).__name__} {value!r}"
                )
            bound[p.name] = value
        return bound, errors

    def evaluate(self, ctx: GuardContext, params: Mapping[str, Any]) -> Message | None:
        """None when the guard passes, else the bilingual failure message."""
        outcome = self.fn(ctx, **params)
        if outcome is True:
            return None
        if isinstance(outcome, dict):
            return outcome
        return {k: v.format(**params) for k, v in self.message.items()}


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


_ANNOTATION_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "str": (str,),
    "bool": (bool,),
    "list[str]": (list,),
    "list": (list,),
}

def guard(name: str, message: Message, reason: str = GUARD) -> Callable[[Callable[..., GuardOutcome]], Guard]:
    """Make ``fn(ctx, *, param: type = default)`` the guard ``name``. This registers nothing: a definition may
    name only the guards listed in ``GUARDS`` at the end of this module."""

    def make(fn: Callable[..., GuardOutcome]) -> Guard:
        params = []
        for p in list(inspect.signature(fn).parameters.values())[1:]:
            annotation = str(p.annotation).replace(" ", "").removesuffix("|None")
            types = _ANNOTATION_TYPES[annotation]  # guards declare simple parameter types only
            required = p.default is inspect.Parameter.empty
            params.append(Param(p.name, types, required, None if required else p.default))
        return Guard(name, fn, tuple(params), message, reason)

    return make


def _registry(guards: Iterable[Guard]) -> dict[str, Guard]:
    registry: dict[str, Guard] = {}
    for g in guards:
        if registry.setdefault(g.name, g) is not g:
            raise ValueError(f"guard '{g.name}' is registered twice")
    return registry


def get(name: str) -> Guard | None:
    return REGISTRY.get(name)


# --- built-in guards used by the shipped definitions -------------------------------------------------------

DEFAULT_DOSSIER = ["business_registration", "quotes", "non_duplication"]


@guard("dossier_complete", {
    "vi": "Hồ sơ chưa đủ: cần {kinds}",
    "en": "The dossier is incomplete: it needs {kinds}",
})
def dossier_complete(ctx: GuardContext, kinds: list[str] | None = None) -> GuardOutcome:
    wanted = list(kinds or DEFAULT_DOSSIER)
    have = set(ctx.fact("attachment_kinds", ()) or ())
    missing = [k for k in wanted if k not in have]
    if not missing:
        return True
    return {lang: prefix + ", ".join(_titles(ctx, missing, lang))
            for lang, prefix in (("vi", "Hồ sơ còn thiếu: "), ("en", "The dossier is missing: "))}


def _titles(ctx: GuardContext, kinds: list[str], lang: str) -> list[str]:
    """Document kinds by their titles where the subject names them (fact ``document_titles``), else by code."""
    titles = ctx.fact("document_titles", None) or {}
    return [titles[k].get(lang, k) if k in titles else k for k in kinds]


@guard("fields_present", {"vi": "Chưa điền đủ thông tin bắt buộc", "en": "Required fields are empty"})
def fields_present(ctx: GuardContext, fields: list[str]) -> GuardOutcome:
    empty = [f for f in fields if ctx.fact(f) in (None, "", 0)]
    if not empty:
        return True
    return {"vi": "Chưa điền: " + ", ".join(empty), "en": "Empty fields: " + ", ".join(empty)}


@guard("max_times", {
    "vi": "Đã thực hiện '{trigger}' tối đa {times} lần",
    "en": "'{trigger}' has already been done the maximum of {times} times",
})
def max_times(ctx: GuardContext, trigger: str, times: int, state: str | None = None) -> GuardOutcome:
    """At most ``times`` fires of ``trigger`` in all, or only those fired from ``state`` when it is given."""
    fired = ctx.fact("wf_fired_by", {}) or {}
    return len(fired.get(f"{trigger}@{state}" if state else trigger, ())) < times


@guard("support_within_cap", {
    "vi": "Kinh phí đề nghị hỗ trợ vượt mức trần của nội dung",
    "en": "The requested support exceeds the category's cap",
})
def support_within_cap(ctx: GuardContext) -> GuardOutcome:
    problem = ctx.fact("cap_problem")
    return problem or True


@guard("council_quorum", {
    "vi": "Chưa đủ số thành viên hội đồng chấm điểm",
    "en": "Not enough council members have scored",
})
def council_quorum(ctx: GuardContext) -> GuardOutcome:
    """The council was formed with at least ``min_members``, and sheets from members who did not recuse reach
    the quorum share of everyone assigned (a recusal never lowers the bar)."""
    council = ctx.state.council if ctx.state is not None else None
    result = ctx.fact("council_result")
    if council is None or result is None:
        return {"vi": "Chưa có hội đồng thẩm định", "en": "No appraisal council has been set up"}
    if result.assigned < council.min_members:
        return {
            "vi": f"Hội đồng mới có {result.assigned}/{council.min_members} thành viên",
            "en": f"The council has {result.assigned} of {council.min_members} members",
        }
    share = Fraction(council.quorum).limit_denominator(100)  # 0.6667 -> 2/3
    needed = max(1, math.ceil(result.assigned * share))
    if result.submitted < needed:
        return {
            "vi": f"Mới có {result.submitted} phiếu chấm hợp lệ, cần ít nhất {needed}",
            "en": f"{result.submitted} valid score sheets submitted, at least {needed} needed",
        }
    return True


@guard("min_average_score", {
    "vi": "Điểm trung bình chưa đạt {min}",
    "en": "The average score is below {min}",
})
def min_average_score(ctx: GuardContext, min: float) -> GuardOutcome:
    result = ctx.fact("council_result")
    average = getattr(result, "average", None) if result is not None else ctx.fact("average_score")
    if average is None:
        return {"vi": "Chưa có điểm thẩm định", "en": "No appraisal score yet"}
    if average >= min:
        return True
    return {
        "vi": f"Điểm trung bình {average:.1f} chưa đạt {min:g}",
        "en": f"The average score {average:.1f} is below {min:g}",
    }


@guard("below_average_score", {
    "vi": "Điểm trung bình đạt {min}, không thể loại",
    "en": "The average score reaches {min}; it cannot be rejected on score",
})
def below_average_score(ctx: GuardContext, min: float) -> GuardOutcome:
    result = ctx.fact("council_result")
    average = getattr(result, "average", None) if result is not None else ctx.fact("average_score")
    return average is not None and average < min


@guard("no_veto", {
    "vi": "Có thành viên hội đồng đánh giá 'không đủ điều kiện'",
    "en": "A council member marked the proposal 'not eligible'",
})
def no_veto(ctx: GuardContext) -> GuardOutcome:
    result = ctx.fact("council_result")
    return not getattr(result, "vetoed", False)


@guard("not_council_former", {
    "vi": "Người lập hội đồng không được làm thành viên hội đồng",
    "en": "Whoever forms the council may not sit on it",
}, reason=SEPARATION)
def not_council_former(ctx: GuardContext, member: str = "user_id") -> GuardOutcome:
    """Separation of duties: the member being assigned (the input ``member`` names) is neither the officer
    assigning nor anyone who assigned a member of this council (the ``council_result`` fact's formers). Without
    that input (a page asking whether the action is open) it passes."""
    candidate = ctx.inputs.get(member)
    if candidate in (None, ""):
        return True
    if ctx.actor is not None and str(candidate) == str(ctx.actor.user_id):
        return {"vi": "Người lập hội đồng không được tự phân công mình làm thành viên",
                "en": "Whoever forms the council may not sit on it"}
    formers = getattr(ctx.fact("council_result"), "former_user_ids", None) or ()
    if str(candidate) in formers:
        return {"vi": "Người này đã tham gia lập hội đồng nên không được làm thành viên",
                "en": "This user helped form the council and may not sit on it"}
    return True


@guard("within_budget", {
    "vi": "Dự toán ngân sách không đủ",
    "en": "The budget envelope cannot cover this amount",
})
def within_budget(ctx: GuardContext, amount: str = "approved_amount") -> GuardOutcome:
    # The amount comes from the inputs, so ``operations.fire`` alone refuses an over-budget decision; the
    # subject's fact finds the envelope (the input ``envelope_id`` or the only one that fits).
    given = ctx.inputs.get(amount) if ctx.inputs else None
    if given is None or given == "":
        return True  # listing actions: no amount yet, the decision itself is checked
    specs = getattr(ctx.definition, "input_specs", {}) or {}
    spec = specs.get(amount)
    try:
        value = clean_value(amount, spec, given) if spec is not None else given
    except InvalidInput:
        return True  # a malformed amount is the input check's error (InvalidInput), not a refusal
    problem = ctx.fact_about("budget_problem", value, dict(ctx.inputs))
    return problem or True


@guard("min_progress", {
    "vi": "Tiến độ báo cáo chưa vượt {percent}%",
    "en": "Reported progress is not above {percent}%",
})
def min_progress(ctx: GuardContext, percent: int) -> GuardOutcome:
    progress = ctx.fact("progress_percent", 0) or 0
    return progress > percent  # "above", as the message and the advance rule say


@guard("acceptance_records", {
    "vi": "Thiếu hồ sơ nghiệm thu",
    "en": "Acceptance records are missing",
})
def acceptance_records(ctx: GuardContext) -> GuardOutcome:
    wanted = ctx.fact("acceptance_kinds_required", ()) or ()
    have = set(ctx.fact("attachment_kinds", ()) or ())
    missing = [k for k in wanted if k not in have]
    if not missing:
        return True
    return {"vi": "Thiếu hồ sơ nghiệm thu: " + ", ".join(_titles(ctx, missing, "vi")),
            "en": "Acceptance records missing: " + ", ".join(_titles(ctx, missing, "en"))}


@guard("indicators_recorded", {
    "vi": "Chưa ghi nhận đủ các chỉ số đánh giá",
    "en": "Not every evaluation indicator has been recorded",
})
def indicators_recorded(ctx: GuardContext) -> GuardOutcome:
    state = ctx.state
    wanted = [i.key for i in (state.indicators or [])] if state is not None else []
    have = ctx.fact("recorded_indicators", ()) or ()
    missing = [k for k in wanted if k not in have]
    if not missing:
        return True
    return {"vi": "Chưa ghi nhận: " + ", ".join(missing), "en": "Not recorded: " + ", ".join(missing)}


# --- the 2026 programme: plan rounds and priority ------------------------------------------------------------

@guard("round_open", {
    "vi": "Đợt đăng ký kế hoạch không nhận hồ sơ",
    "en": "The plan round is not open for filing",
})
def round_open(ctx: GuardContext) -> GuardOutcome:
    """The ``round_problem`` fact: why the proposal's round does not take a filing now (None when it does)."""
    return ctx.fact("round_problem") or True


@guard("eligible_beneficiary", {
    "vi": "Cơ sở hoặc địa điểm không thuộc đối tượng được hỗ trợ",
    "en": "The applicant or the site is not eligible for support",
})
def eligible_beneficiary(ctx: GuardContext) -> GuardOutcome:
    """The ``eligibility_problem`` fact: why the beneficiary kind or the location is not eligible."""
    return ctx.fact("eligibility_problem") or True


@guard("priority_confirmed", {
    "vi": "Cán bộ chưa xác nhận đối tượng ưu tiên (địa bàn, ngành nghề) của đề án",
    "en": "An officer has not yet confirmed the proposal's priority flags (region, sector)",
})
def priority_confirmed(ctx: GuardContext) -> GuardOutcome:
    return ctx.fact("priority_confirmed_at") is not None


@guard("registration_ended", {
    "vi": "Chưa hết hạn nhận hồ sơ đăng ký",
    "en": "The registration window has not ended yet",
})
def registration_ended(ctx: GuardContext) -> GuardOutcome:
    return bool(ctx.fact("registration_ended"))


@guard("plan_compiled", {
    "vi": "Chưa tổng hợp danh mục kế hoạch",
    "en": "The plan list has not been compiled",
})
def plan_compiled(ctx: GuardContext) -> GuardOutcome:
    return ctx.fact("plan_total") is not None


@guard("approval_attached", {
    "vi": "Chưa đính kèm quyết định phê duyệt của UBND tỉnh",
    "en": "The People's Committee's decision is not attached",
})
def approval_attached(ctx: GuardContext) -> GuardOutcome:
    return ctx.fact("decision_file_sha256") is not None


# The guards a definition may name (workflow check refuses any other), in one table.
GUARDS: tuple[Guard, ...] = (
    dossier_complete, fields_present, max_times, support_within_cap, council_quorum, min_average_score,
    below_average_score, no_veto, within_budget, min_progress, acceptance_records, indicators_recorded, round_open,
    eligible_beneficiary, priority_confirmed, registration_ended, plan_compiled, approval_attached,
    not_council_former,
)
REGISTRY: dict[str, Guard] = _registry(GUARDS)
