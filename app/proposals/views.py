"""Proposals: the list, the proposal page with its actions, applicant create/edit, attachments."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.access import requires
from app.actions import OPTIONAL_INPUTS, perform
from app.audit.readable import event_title, load_names, readable_events
from app.common.web import stage_view, state_titles
from app.council import services as council
from app.deadlines import today
from app.errors import workflow_reasons
from app.extensions import db_session
from app.formatting import vnd
from app.i18n import lang, tr
from app.idempotency import claim, complete, new_key, valid_key
from app.lifecycle_svg import render as render_lifecycle
from app.lifecycle_svg import transitions_text
from app.models import Attachment, Proposal, Unit
from app.models.stages import Funding
from app.paging import COUNT_LIMIT, Count, bounded_count, page_number, page_rows
from app.proposals.forms import ProposalForm, UploadForm, action_form, commune_choices
from app.proposals.guide import next_step
from app.proposals.search import filtered
from app.proposals.services import (
    add_attachment,
    commune_refusal,
    create_proposal,
    duplicate_of,
    edit_proposal,
    proposal_problems,
    remove_attachment,
    upload_kinds,
    upload_permission,
)
from app.scoping import load_proposal, scope_clause
from app.security import request_id
from app.statuses import status_of
from app.uploads import RejectedFile, discard, display_name, path_of, store
from app.webforms import form_state, rerender
from workflow.audit import events_for
from workflow.errors import InvalidInput, Refused, WorkflowError
from workflow.registry import default_registry

bp = Blueprint("proposals", __name__, template_folder="templates")
bp.add_app_template_global(form_state, "form_state")
STALE_FORM = {"vi": "Biểu mẫu thiếu phiên bản hồ sơ hoặc đã cũ; hãy tải lại trang",
              "en": "The form has no valid version of the proposal or is out of date; reload the page"}
PER_PAGE = 20
SORTS = {"code": Proposal.code, "title": Proposal.title, "year": Proposal.year,
         "requested": Proposal.requested_support, "state": Proposal.wf_state}  # ?sort=key or -key


@bp.route("/proposals")
@requires("logged_in")
def index() -> Any:
    session = db_session()
    count, requested, approved = _count_and_totals(session, filtered(request.args), bool(request.args.get("q")))
    page = page_number(request.args.get("page"))
    sort = request.args.get("sort", "")
    column = SORTS.get(sort.removeprefix("-"))
    order = ((column.desc() if sort.startswith("-") else column.asc(), Proposal.id) if column is not None
             else (Proposal.year.desc(), Proposal.code.desc()))
    rows, has_next = page_rows(session, filtered(request.args, probe=True), Proposal.id, order, page, PER_PAGE)
    first, last = session.execute(select(_end_year(Proposal.year), _end_year(Proposal.year.desc()))).one()
    years = list(range(last, first - 1, -1)) if first is not None else []
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    districts = session.execute(select(Unit.code, Unit.name).where(Unit.level == "district")
                                .order_by(Unit.code)).all()
    return render_template("proposals/index.html", rows=rows, total=count.value, exact=count.exact, page=page,
                           pages=count.pages(PER_PAGE), has_next=has_next, args=args, states=state_titles(),
                           districts=districts, years=years, requested=requested, approved=approved, sort=sort)


def _totals(session: Any, stmt: Any, limit: int | None = None) -> tuple[int, int, int]:
    """Rows, requested and approved support over ``stmt``'s rows (the first ``limit`` + 1 of them)."""
    rows = stmt.with_only_columns(Proposal.id, Proposal.requested_support).order_by(None)
    matching = (rows.limit(limit + 1) if limit is not None else rows).subquery()
    found, requested, approved = session.execute(
        select(func.count(), func.coalesce(func.sum(matching.c.requested_support), 0),
               func.coalesce(func.sum(Funding.approved_amount), 0))
        .select_from(matching).outerjoin(Funding, Funding.proposal_id == matching.c.id)).one()
    return found, requested, approved


def _count_and_totals(session: Any, stmt: Any, search: bool) -> tuple[Count, int | None, int | None]:
    """The list's bounded count and, when it is exact, its totals (the reports give those of larger lists).
    A search reads its matches once for both; the plain list counts from the index alone and reads rows only
    when their number is known to be at most COUNT_LIMIT."""
    if search:
        found, requested, approved = _totals(session, stmt, COUNT_LIMIT)
        count = Count(min(found, COUNT_LIMIT), found <= COUNT_LIMIT)
    else:
        count = bounded_count(session, stmt)
        _found, requested, approved = _totals(session, stmt) if count.exact else (0, 0, 0)
    return (count, requested, approved) if count.exact else (count, None, None)


def _end_year(order: Any) -> Any:
    """The first year of the user's proposals in ``order``: a walk of the (scope, year) index that stops at the
    first row in scope (MIN/MAX with the scope's other conditions would read every row)."""
    return (select(Proposal.year).where(scope_clause(current_user)).order_by(order).limit(1)
            .scalar_subquery())


def workflow_year_default() -> int:
    return today().year + 1  # proposals are filed for next year's plan


def _render_form(form: ProposalForm, proposal: Proposal | None, status: int = 200,
                 reasons: list[str] | None = None) -> Any:
    return render_template("proposals/form.html", form=form, proposal=proposal, reasons=reasons or []), status


def _refused_form(form: ProposalForm, proposal: Proposal | None) -> Any:
    """Fields the form could not read (or an unusable commune): the form again, 422, with those messages and
    the service's verdict on every other field, so one answer names all the problems of the post."""
    unread = {name for name, field in form._fields.items() if field.errors}
    reasons = form.show(proposal_problems(form.values(), proposal=proposal, unread=unread))
    return _render_form(form, proposal, 422, reasons)


@bp.route("/proposals/new", methods=["GET", "POST"])
@requires("applicant")
def new() -> Any:
    session = db_session()
    form = ProposalForm(commune_choices(session))
    if request.method == "GET":
        form.year.data = form.year.data or workflow_year_default()
        form.commune_code.data = current_user.organisation.commune_code
        form.idempotency_key.data = new_key()
        return _render_form(form, None)
    refusal = commune_refusal(session, form.commune_code.data or None, today())
    if not form.validate() or refusal:
        if refusal:
            form.commune_code.errors = [*form.commune_code.errors, tr(refusal)]
        return _refused_form(form, None)
    key = form.idempotency_key.data or ""
    earlier = claim(session, current_user.id, key, "POST", request.path) if valid_key(key) else None
    if earlier is not None and earlier.location:  # the same form sent twice: show the draft it created
        return redirect(earlier.location, 303)
    try:
        proposal = create_proposal(session, current_user, form.values(),
                                   province_code=current_app.config["PROVINCE_CODE"], request_id=request_id())
    except InvalidInput as exc:
        session.rollback()
        return _render_form(form, None, 422, form.show(exc.errors))
    except WorkflowError as exc:
        session.rollback()
        return _render_form(form, None, status_of(exc), workflow_reasons(exc))
    location = url_for("proposals.detail", pid=proposal.id)
    if earlier is None and valid_key(key):
        complete(session, current_user.id, key, 303, location)
    flash(_("Draft %(code)s created.", code=proposal.code), "success")
    return redirect(location, 303)


def context(proposal: Proposal) -> dict[str, Any]:
    """What the proposal page and its forms need: the compiled workflow, allowed and refused actions."""
    session = db_session()
    compiled = default_registry().for_subject(proposal)
    actor = current_user.actor()
    allowed = compiled.allowed_actions(proposal, actor, session=session)
    allowed_triggers = {a.trigger for a in allowed}
    refused = []
    for trigger, rules in compiled.rules_from.get(proposal.wf_state, {}).items():
        if trigger not in allowed_triggers:
            explanation = compiled.explain(proposal, actor, trigger, session=session)
            refused.append((rules[0].title, [tr(r.message) for r in explanation.reasons]))
    events = council.visible_events(proposal, current_user, events_for(session, "proposal", str(proposal.id)))
    loaded = load_names(session, events)  # users and codes of the whole history: one query each
    names = loaded.users
    edit = compiled.explain_edit(proposal, actor)
    stage = stage_view(proposal)
    return {
        "proposal": proposal, "compiled": compiled, "actor": actor, "allowed": allowed, "refused": refused,
        "edit": edit, "events": events, "names": names, "stage": stage,
        "next_step": next_step(session, proposal, current_user, compiled, allowed, events, names,
                               editable=edit.allowed, stage=stage),
        "readable": readable_events(session, events, compiled, loaded),
        "diagram": render_lifecycle(compiled, proposal.wf_state, lang()),
        "diagram_text": transitions_text(compiled, proposal.wf_state, lang()),
        "upload_kinds": upload_kinds(proposal, compiled, actor),
        "state_title": compiled.title_of(proposal.wf_state, lang()),
        "input_label": partial(input_label, compiled), "input_value": partial(input_value, compiled),
        "role_titles": {name: tr(role.title.as_dict()) if role.title else name
                        for name, role in compiled.definition.roles.items()},
    }


def input_label(compiled: Any, key: str) -> str:
    spec = compiled.input_specs.get(key)
    return tr(spec.title.as_dict()) if spec is not None and spec.title else key


def input_value(compiled: Any, key: str, value: Any) -> Any:
    spec = compiled.input_specs.get(key)
    return vnd(value) if spec is not None and spec.type == "money" and isinstance(value, int) else value


@bp.route("/proposals/<int:pid>")
@requires("logged_in")
def detail(pid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid)
    ctx = context(proposal)
    upload_form = g.get("upload_form") or UploadForm(ctx["upload_kinds"])  # a refused upload, with its messages
    return render_template("proposals/detail.html", upload_form=upload_form, event_title=event_title, **ctx)


@bp.route("/proposals/<int:pid>/edit", methods=["GET", "POST"])
@requires("logged_in")
def edit(pid: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, pid)
    compiled = default_registry().for_subject(proposal)
    permitted = compiled.explain_edit(proposal, current_user.actor())
    if not permitted.allowed:
        abort(403, description="; ".join(tr(r.message) for r in permitted.reasons))
    form = ProposalForm(commune_choices(session, keep=proposal.commune_code),
                        obj=proposal if request.method == "GET" else None)
    if request.method == "GET":
        form.expected_version.data = proposal.wf_version
        return _render_form(form, proposal)
    if not form.validate():
        return _refused_form(form, proposal)
    version_given = request.form.get("expected_version", "")
    if not (version_given.isascii() and version_given.isdigit()):
        return _render_form(form, proposal, 409, [tr(STALE_FORM)])
    version = int(version_given)
    try:
        edit_proposal(session, proposal, current_user, form.values(), version, request_id=request_id())
    except InvalidInput as exc:
        session.rollback()
        return _render_form(form, proposal, 422, form.show(exc.errors))
    except WorkflowError as exc:
        session.rollback()
        return _render_form(form, proposal, status_of(exc), workflow_reasons(exc))
    flash(_("Changes saved."), "success")
    return redirect(url_for("proposals.detail", pid=proposal.id), 303)


@bp.route("/proposals/<int:pid>/actions/<trigger>", methods=["GET", "POST"])
@requires("logged_in")
def action(pid: int, trigger: str) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, pid)
    compiled = default_registry().for_subject(proposal)
    explanation = compiled.explain(proposal, current_user.actor(), trigger, session=session)
    requires_ = explanation.requires
    optional = {extra.name: (tr(extra.title), extra.choices(session, proposal))
                for extra in OPTIONAL_INPUTS.get(trigger, [])}
    form = action_form(requires_, compiled.input_specs, request.form if request.method == "POST" else None,
                       optional=optional)
    title = _action_title(compiled, trigger)
    if request.method == "GET":
        if not explanation.allowed:
            status = status_of(Refused(explanation))
            return _render_action(proposal, None, trigger, title, status,
                                  [tr(r.message) for r in explanation.reasons])
        form.expected_version.data = proposal.wf_version
        return _render_action(proposal, form, trigger, title)
    version_given = request.form.get("expected_version", "")
    if version_given and not (version_given.isascii() and version_given.isdigit()):
        return _render_action(proposal, form, trigger, title, 409, [tr(STALE_FORM)])
    inputs = {name: request.form.get(name, "") for name in requires_}
    inputs.update({name: request.form[name] for name in optional if request.form.get(name)})
    for name in requires_:
        spec = compiled.input_specs.get(name)
        if spec is not None and spec.type == "bool":  # yes/no radios; an old checkbox sends "y"
            inputs[name] = "false" if request.form.get(name, "false") in ("", "false") else "true"
    try:
        perform(session, proposal, trigger, current_user.actor(), inputs,
                int(version_given) if version_given else None, request_id=request_id())
    except InvalidInput as exc:
        session.rollback()
        for name, message in exc.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, tr(message)]
        return _render_action(proposal, form, trigger, title, 422, workflow_reasons(exc))
    except WorkflowError as exc:
        session.rollback()
        return _render_action(proposal, form, trigger, title, status_of(exc), workflow_reasons(exc))
    flash(_("Done: %(action)s.", action=title), "success")
    return redirect(url_for("proposals.detail", pid=proposal.id), 303)


def _action_title(compiled: Any, trigger: str) -> str:
    rule = next((r for r in compiled.rules if r.trigger == trigger), None)
    if rule is None:
        abort(404)
    return tr(rule.title)


def _render_action(proposal: Proposal, form: Any, trigger: str, title: str, status: int = 200,
                   reasons: list[str] | None = None) -> Any:
    return render_template("proposals/action.html", proposal=proposal, form=form, trigger=trigger, title=title,
                           reasons=reasons or []), status


@bp.route("/proposals/<int:pid>/attachments", methods=["POST"])
@requires("logged_in")
def upload(pid: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, pid)
    compiled = default_registry().for_subject(proposal)
    actor = current_user.actor()
    refusal, kinds = upload_permission(proposal, compiled, actor)
    if not kinds:  # 403 without the role, 409 in a state that takes no documents
        abort(status_of(Refused(refusal)), description=_("Documents cannot be added to this proposal in its current state."))
    form = UploadForm(kinds)
    if not form.validate():
        return _refused_upload(pid, form)
    try:
        stored, mime, size, digest = store(form.file.data.stream)
    except RejectedFile as exc:
        form.file.errors = [tr(exc.message)]
        return _refused_upload(pid, form)
    attachment = Attachment(kind=form.kind.data, original_name=display_name(form.file.data.filename),
                            stored_name=stored, content_type=mime, size=size, sha256=digest,
                            uploaded_by_id=current_user.id)

    duplicate = duplicate_of(proposal, digest)
    replacing = _replaced(session, proposal, request.form.get("replaces", ""))
    try:
        add_attachment(session, proposal, actor, attachment, request_id=request_id())
        if replacing is not None:
            remove_attachment(session, proposal, actor, replacing, replaced_by=attachment, request_id=request_id())
    except BaseException:
        discard(stored)  # no row, no file
        raise
    flash(_("Document uploaded."), "success")
    if duplicate is not None and duplicate is not replacing:
        flash(tr((f"Lưu ý: tệp này trùng nội dung với tài liệu đã tải lên “{duplicate.original_name}”.",
                  f"Note: this file has the same content as “{duplicate.original_name}”, already uploaded.")),
              "warning")
    return redirect(url_for("proposals.detail", pid=proposal.id, _anchor="attachments"), 303)


def _replaced(session: Any, proposal: Proposal, given: str) -> Attachment | None:
    """The live document an upload replaces (the form's ``replaces``), only while the dossier may be edited."""
    if not given.isdigit():
        return None
    old = session.get(Attachment, int(given))
    if old is None or old.proposal_id != proposal.id or old.removed_at is not None:
        abort(404)
    return old


@bp.route("/proposals/<int:pid>/attachments/<int:aid>/remove", methods=["POST"])
@requires("logged_in")
def remove(pid: int, aid: int) -> Any:
    """Remove a document before submission: audited, the file kept for the record (docs/privacy.md)."""
    session = db_session()
    proposal = load_proposal(session, current_user, pid)
    attachment = _replaced(session, proposal, str(aid))
    assert attachment is not None
    try:
        remove_attachment(session, proposal, current_user.actor(), attachment, request_id=request_id())
    except WorkflowError as exc:
        session.rollback()
        abort(status_of(exc), description="; ".join(workflow_reasons(exc)))
    flash(tr(("Đã gỡ tài liệu khỏi hồ sơ (tệp vẫn được lưu trong nhật ký).",
              "Document removed from the dossier (the file is kept for the record).")), "success")
    return redirect(url_for("proposals.detail", pid=proposal.id, _anchor="attachments"), 303)


def _refused_upload(pid: int, form: UploadForm) -> Any:
    """The proposal page again with the upload form's messages beside its fields (422); nothing stored."""
    g.upload_form = form
    return rerender("upload-form", None, lambda: detail(pid))


@bp.route("/proposals/<int:pid>/attachments/<int:aid>")
@requires("logged_in")
def download(pid: int, aid: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, pid)  # the same scope check as the proposal page
    attachment = session.get(Attachment, aid)
    if attachment is None or attachment.proposal_id != proposal.id or not path_of(attachment.stored_name).exists():
        abort(404)
    return send_file(path_of(attachment.stored_name), mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.original_name, max_age=0)
