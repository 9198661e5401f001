"""The API endpoints. Thin: load in scope (404), validate the payload, operate through the engine, answer."""

from __future__ import annotations

import math
from typing import Any

from flask import current_app, g, jsonify, request, url_for
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import requires
from app.actions import perform
from app.api import errors as api_errors
from app.api.errors import invalid
from app.api.routes import Routes
from app.api.serialize import event_out, proposal_out, proposal_summary, unit_out
from app.api.spec import documented
from app.council import services as council
from app.deadlines import today
from app.extensions import db_session
from app.models import Attachment, Proposal, Unit
from app.paging import bounded_count, page_rows
from app.proposals.schemas import (
    UPLOAD_SCHEMA,
    AttachmentOut,
    History,
    ProposalCreate,
    ProposalOut,
    ProposalPage,
    ProposalPatch,
    ProposalQuery,
    UnitList,
    action_models,
)
from app.proposals.search import filtered
from app.proposals.services import (
    add_attachment,
    commune_refusal,
    create_proposal,
    edit_proposal,
    upload_permission,
)
from app.scoping import load_proposal
from app.statuses import edit_refusal_status, status_of
from app.uploads import RejectedFile, discard, display_name, store
from workflow import audit
from workflow.errors import Refused
from workflow.registry import default_registry

ALL_ERRORS = (401, 403, 404, 409, 422)
routes = Routes()


def _json_body(model: type[BaseModel], *, empty_ok: bool = False) -> BaseModel:
    """The request body validated against ``model`` (pydantic errors become 422s in the caller's language)."""
    data = request.get_data()
    if empty_ok and not data.strip():
        data = b"{}"
    return model.model_validate_json(data)


def _commune_problem(session: Session, code: str | None, current: str | None = None) -> Any:
    """A 422 naming the successor when ``code`` (other than the proposal's ``current`` one) cannot be filed in."""
    refusal = None if code == current else commune_refusal(session, code, today())
    return invalid("commune_code", refusal) if refusal else None


def _edit_refusal_status(proposal: Proposal) -> int:
    return edit_refusal_status(default_registry().for_subject(proposal), current_user.actor(), proposal)


@routes.get("/units")
@documented("The administrative units: province, districts, communes", response=UnitList, errors=())
@requires("logged_in")
def units() -> Any:
    rows = db_session().scalars(select(Unit).order_by(Unit.level, Unit.code))
    return jsonify(UnitList(items=[unit_out(u) for u in rows]).model_dump(mode="json"))


@routes.post("/proposals")
@documented("Create a draft proposal for the caller's organisation", body=ProposalCreate, response=ProposalOut,
            status=201, errors=(401, 403, 422), headers={"Location": "The new proposal's URL"})
@requires("applicant")
def create() -> Any:
    payload = _json_body(ProposalCreate)
    session = db_session()
    fields = payload.model_dump(exclude_none=True)
    problem = _commune_problem(session, fields.get("commune_code"))
    if problem is not None:
        return problem
    proposal = create_proposal(session, current_user, fields, province_code=current_app.config["PROVINCE_CODE"],
                               request_id=g.request_id)
    response = jsonify(proposal_out(session, proposal, current_user).model_dump(mode="json"))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_proposal", proposal_id=proposal.id)
    return response


@routes.get("/proposals")
@documented("The proposals in the caller's scope, filtered and paginated", query=ProposalQuery,
            response=ProposalPage, errors=(401, 422))
@requires("logged_in")
def list_proposals() -> Any:
    query = ProposalQuery.model_validate(request.args.to_dict())
    stmt = filtered({k: str(v) for k, v in query.model_dump(exclude_none=True).items()})
    session = db_session()
    count = bounded_count(session, stmt)
    rows, _more = page_rows(session, stmt, Proposal.id, (Proposal.created_at.desc(), Proposal.id.desc()),
                            query.page, query.per_page)
    page = ProposalPage(items=[proposal_summary(p) for p in rows], total=count.value, total_exact=count.exact,
                        page=query.page, per_page=query.per_page, pages=math.ceil(count.value / query.per_page))
    return jsonify(page.model_dump(mode="json"))


@routes.get("/proposals/<int:proposal_id>")
@documented("A proposal, with its state, version and the actions the caller may take now", response=ProposalOut)
@requires("logged_in")
def get_proposal(proposal_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    return jsonify(proposal_out(session, proposal, current_user).model_dump(mode="json"))


@routes.patch("/proposals/<int:proposal_id>")
@documented("Edit a proposal's fields while its state allows it (send expected_version)", body=ProposalPatch,
            response=ProposalOut, errors=ALL_ERRORS)
@requires("logged_in")
def patch_proposal(proposal_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    payload = _json_body(ProposalPatch)
    changes = payload.model_dump(exclude_unset=True)
    expected_version = changes.pop("expected_version", None)
    if not changes:
        return invalid("", {"vi": "Không có trường nào để sửa", "en": "No field to change"})
    problem = _commune_problem(session, changes.get("commune_code"), proposal.commune_code)
    if problem is not None:
        return problem
    try:
        edit_proposal(session, proposal, current_user, changes, expected_version, request_id=g.request_id)
    except Refused as exc:
        response = api_errors.from_refused(exc)
        response.status_code = _edit_refusal_status(proposal)
        return response
    return jsonify(proposal_out(session, proposal, current_user).model_dump(mode="json"))


@routes.post("/proposals/<int:proposal_id>/attachments")
@documented("Upload a document (PDF, JPEG, PNG, DOCX or XLSX, checked by content)", multipart=UPLOAD_SCHEMA,
            response=AttachmentOut, status=201, errors=(401, 403, 404, 409, 413, 422))
@requires("logged_in")
def upload(proposal_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    actor = current_user.actor()
    refusal, kinds = upload_permission(proposal, default_registry().for_subject(proposal), actor)
    if not kinds:
        status = status_of(Refused(refusal))
        return api_errors.error_response(status, api_errors.HTTP_MESSAGES[status], [api_errors.reason("edit", {
            "vi": "Không thể thêm tài liệu cho đề án ở trạng thái này",
            "en": "Documents cannot be added to this proposal in its current state"}, proposal.wf_state)])
    kind, file = request.form.get("kind", ""), request.files.get("file")
    if kind not in kinds:
        return invalid("kind", {"vi": "Loại tài liệu phải là một trong: " + ", ".join(kinds),
                                "en": "The document type must be one of: " + ", ".join(kinds)})
    if file is None:
        return invalid("file", {"vi": "Chưa chọn tệp", "en": "No file was sent"})
    try:
        stored, mime, size, digest = store(file.stream)
    except RejectedFile as exc:
        return invalid("file", exc.message)
    attachment = Attachment(kind=kind, original_name=display_name(file.filename), stored_name=stored,
                            content_type=mime, size=size, sha256=digest, uploaded_by_id=current_user.id)

    try:
        add_attachment(session, proposal, actor, attachment, request_id=g.request_id)
    except BaseException:
        discard(stored)  # no row, no file
        raise
    response = jsonify(AttachmentOut.model_validate(attachment, from_attributes=True).model_dump(mode="json"))
    response.status_code = 201
    return response


@routes.post("/proposals/<int:proposal_id>/actions/<trigger>")
@documented("Take an action: the inputs the transition requires, plus expected_version", response=ProposalOut,
            errors=ALL_ERRORS, expand=("trigger", action_models))
@requires("logged_in")
def act(proposal_id: int, trigger: str) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    known = action_models().get(trigger)
    if known is None:
        return api_errors.error_response(404, {"vi": f"Không có thao tác '{trigger}'",
                                               "en": f"There is no action '{trigger}'"})
    payload = _json_body(known[1], empty_ok=True)
    inputs = payload.model_dump(exclude_none=True)
    expected_version = inputs.pop("expected_version", None)
    perform(session, proposal, trigger, current_user.actor(), inputs, expected_version, request_id=g.request_id)
    return jsonify(proposal_out(session, proposal, current_user).model_dump(mode="json"))


@routes.get("/proposals/<int:proposal_id>/history")
@documented("The proposal's audit events, oldest first", response=History)
@requires("logged_in")
def history(proposal_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    events = council.visible_events(proposal, current_user,
                                    audit.events_for(session, Proposal.wf_type(), proposal.wf_subject_id()))
    return jsonify(History(proposal_id=proposal.id, items=[event_out(e) for e in events]).model_dump(mode="json"))
