"""Pydantic models of the proposal API's payloads and answers (the shared field types are app.api.types)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    create_model,
)

from app.api.spec import MAX_ID
from app.api.types import (
    MAX_VND,
    NO_NUL,
    STRICT_INPUT,
    ExpectedVersion,
    IsoDate,
    RowId,
    UtcDatetime,
    _no_null_defaults,
    text,
)
from app.models.proposals import ATTACHMENT_KINDS

# The proposal's fields and their ranges are declared once, with the service that checks them.
from app.proposals.fields import PROPOSAL_FIELDS
from workflow.definitions import InputSpec
from workflow.registry import Registry, default_registry

# commune_code may be omitted on create: the organisation's commune is used.
ProposalCreate = create_model(  # type: ignore[call-overload]
    "ProposalCreate", __config__=STRICT_INPUT,
    **{name: (ann, Field(default=None) if name == "commune_code" else default)
       for name, (ann, default) in PROPOSAL_FIELDS.items()},
    round_id=(StrictInt | None, Field(default=None, description=(
        "The plan round to file into; by default the province's local round of the proposal's year"))),
)
# Every field optional but never null; only the fields sent are changed.
ProposalPatch = create_model(  # type: ignore[call-overload]
    "ProposalPatch", __config__=STRICT_INPUT, expected_version=ExpectedVersion,
    **{name: (ann, Field(default=None)) for name, (ann, _) in PROPOSAL_FIELDS.items()},
)

UPLOAD_SCHEMA = {
    "type": "object", "required": ["kind", "file"],
    "properties": {"kind": {"type": "string", "enum": list(ATTACHMENT_KINDS)},
                   "file": {"type": "string", "contentMediaType": "application/octet-stream"}},
}


class ProposalQuery(BaseModel):
    """Query string of the proposal list (unknown parameters are ignored; an absent one is None)."""

    model_config = ConfigDict(json_schema_extra=_no_null_defaults)

    state: str = Field(default=None, max_length=64, pattern=NO_NUL,  # type: ignore[assignment]
                       description="A workflow state")
    unit: str = Field(default=None, max_length=16, pattern=NO_NUL,  # type: ignore[assignment]
                      description="A commune, district or province code")
    q: str = Field(default=None, max_length=200, pattern=NO_NUL,  # type: ignore[assignment]
                   description="Text search; ignores Vietnamese diacritics")
    category: str = Field(default=None, max_length=32, pattern=NO_NUL)  # type: ignore[assignment]
    year: int = Field(default=None, ge=1900, le=2200)  # type: ignore[assignment]
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)


# --- action inputs ------------------------------------------------------------------------------------------

def _input_annotation(spec: InputSpec) -> Any:
    bounds = {k: v for k, v in (("ge", spec.min), ("le", spec.max)) if v is not None}
    if spec.type in ("text", "string"):
        return text(255 if spec.type == "string" else 10_000)
    if spec.type == "money":
        return Annotated[StrictInt, Field(**{"ge": 0, "le": MAX_VND, **bounds}, description="Integer VND")]  # type: ignore[call-overload]
    if spec.type in ("int", "percent"):
        limits = {"ge": 0, "le": 100} if spec.type == "percent" else {"ge": -MAX_ID - 1, "le": MAX_ID}
        return Annotated[StrictInt, Field(**{**limits, **bounds})]  # type: ignore[call-overload]
    if spec.type == "date":
        return IsoDate
    if spec.type == "bool":
        return StrictBool
    if spec.type == "choice":
        return Literal[tuple(spec.choices or ())]
    return Annotated[list[text(100) | RowId], Field(min_length=1)]  # type: ignore[misc]  # user_list


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def action_models(registry: Registry | None = None) -> dict[str, tuple[str, type[BaseModel]]]:
    """trigger -> (English title, body model): the inputs any rule of the trigger requires, plus
    expected_version. Which inputs are required depends on the rule that applies, so the engine says."""
    return _action_models(registry or default_registry())


@lru_cache(maxsize=4)
def _action_models(registry: Registry) -> dict[str, tuple[str, type[BaseModel]]]:
    """Built once per loaded registry (keyed by identity), so a new definitions folder gets new models."""
    inputs: dict[str, dict[str, InputSpec]] = {}
    titles: dict[str, str] = {}
    for compiled in registry:  # ascending versions: the latest spec of an input wins
        for rule in compiled.rules:
            titles[rule.trigger] = rule.title["en"]
            specs = inputs.setdefault(rule.trigger, {})
            for name in rule.requires:
                specs[name] = compiled.input_specs[name]
    from app.actions import OPTIONAL_INPUTS

    models = {}
    for trigger, specs in inputs.items():
        fields = {name: (_input_annotation(spec), Field(default=None, description=(
            spec.title.get("en") if spec.title else name))) for name, spec in sorted(specs.items())}
        for extra in OPTIONAL_INPUTS.get(trigger, []):  # e.g. approve_funding's envelope_id: a row's id
            fields[extra.name] = (RowId | None, Field(default=None, description=extra.title["en"]))
        model = create_model(f"{_camel(trigger)}Action", __config__=STRICT_INPUT,  # type: ignore[call-overload]
                             expected_version=ExpectedVersion, **fields)
        models[trigger] = (titles[trigger], model)
    return models


# --- answers ------------------------------------------------------------------------------------------------

class UnitOut(BaseModel):
    code: str
    name: str
    level: Literal["province", "district", "commune"]
    parent_code: str | None
    district_code: str | None
    active: bool


class UnitList(BaseModel):
    items: list[UnitOut]


class OrganisationOut(BaseModel):
    id: int
    name: str
    kind: str
    tax_code: str


class AttachmentOut(BaseModel):
    id: int
    kind: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: UtcDatetime


class ActionOut(BaseModel):
    trigger: str
    title: str
    target: str
    requires: list[str]


class ProposalSummary(BaseModel):
    id: int
    code: str
    title: str
    organisation: str
    commune_code: str | None
    district_code: str | None
    category: str
    sector: str
    year: int
    requested_support: int
    state: str
    state_title: str
    version: int


class ProposalPage(BaseModel):
    items: list[ProposalSummary]
    total: int = Field(description="Matching proposals, counted up to 10,000")
    total_exact: bool = Field(description="False when more than ``total`` match")
    page: int
    per_page: int
    pages: int


class ProposalOut(BaseModel):
    id: int
    code: str
    title: str
    organisation: OrganisationOut
    commune_code: str | None
    district_code: str | None
    province_code: str
    category: str
    sector: str
    year: int
    total_cost: int
    requested_support: int
    counterpart_funds: int
    duration_months: int
    objectives: str
    expected_results: str
    expected_jobs: int
    expected_output: str
    priority_region: bool
    priority_sector: bool
    created_at: UtcDatetime
    fund: str = Field(description="local | national")
    round_id: int | None
    priority_confirmed: bool = Field(description="an officer has confirmed or corrected the priority flags")
    state: str
    state_title: str
    version: int
    workflow: str
    workflow_version: int
    attachments: list[AttachmentOut]
    allowed_actions: list[ActionOut]
    editable: bool


class EventOut(BaseModel):
    seq: int
    occurred_at: UtcDatetime = Field(description="when it was recorded here")
    effective_at: UtcDatetime | None = Field(
        default=None, description="records imported from old files only: when it happened (the historical date)")
    actor_id: str | None
    actor_role: str | None
    actor_unit: str | None
    action: str
    from_state: str | None
    to_state: str | None
    workflow: str | None
    workflow_version: int | None
    comment: str | None
    inputs: Any
    diff: Any
    outcome: str
    reasons: Any
    request_id: str | None
    hash: str


class History(BaseModel):
    proposal_id: int
    items: list[EventOut]


class VerifyRunOut(BaseModel):
    """A whole-trail verification run (it goes on in the background): ``ok`` is null until it ends."""

    id: int
    status_url: str
    running: bool
    finished: bool
    total: int
    checked: int
    ok: bool | None
    head_digest: str | None
    problems: list[str]
    error: str | None
