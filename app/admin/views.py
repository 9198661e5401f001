"""The admin area: users (create, deactivate, reset password, API tokens), role grants over units, and units.

Every change is an audit event on the subject's chain (see app.admin.audit). Grants are validated against
the roles the loaded definitions declare and their scope: a district role needs a district, and so on.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from app.access import requires
from app.admin.audit import record
from app.deadlines import today
from app.extensions import db_session
from app.i18n import tr
from app.models import ApiToken, Organisation, RoleGrant, Unit, UnitPeriod, UnitSuccessor, User
from app.models.units import UnitHistory
from app.scoping import role_scopes
from app.security.log import security_event
from app.security.passwords import password_problem

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

LANGUAGE_CHOICES = [SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")]


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=80), Regexp(
        r"^[a-z0-9_.-]+$", message=_l("Use lower-case letters, digits, dot, dash or underscore."))])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=200)])
    organisation_id = SelectField(_l("Organisation"), coerce=int, default=0)
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="vi")
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[DataRequired(), Regexp(r"^[01]$")])


class GrantForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    unit_code = SelectField(_l("Unit"), default="")


class DeleteForm(FlaskForm):
    pass


class CommuneForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Regexp(
        r"^\d{5}$", message=_l("A commune code has 5 digits."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    district_code = SelectField(_l("District (before the 2025 reform)"), default="")


def _units(session: Any) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.level.desc(), Unit.code)))


def _user_form(session: Any) -> UserForm:
    form = UserForm()
    orgs = session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.name))
    form.organisation_id.choices = [SelectChoice("0", _("(none)"))] + [SelectChoice(str(i), name) for i, name in orgs]
    return form


def _grant_form(session: Any) -> GrantForm:
    form = GrantForm()
    form.role.choices = sorted(role_scopes())
    form.unit_code.choices = [SelectChoice("", _("(none: own organisation)"))] + [
        SelectChoice(u.code, f"{u.code} · {u.name}") for u in _units(session)]
    return form


def _commune_form(session: Any) -> CommuneForm:
    form = CommuneForm()
    districts = session.execute(select(Unit.code, Unit.name).where(Unit.level == "district").order_by(Unit.code))
    form.district_code.choices = [SelectChoice("", _("(none: after the reform)"))] + [
        SelectChoice(c, f"{c} · {n}") for c, n in districts]
    return form


def _load_user(session: Any, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _units_around(session: Any, commune_code: str | None) -> set[str]:
    """The commune and every unit above it (district, former district, province)."""
    codes: set[str] = set()
    visited: set[str] = set()
    code = commune_code
    while code and code not in visited and len(visited) < 8:
        visited.add(code)
        unit = session.get(Unit, code)
        if unit is None:
            break
        codes.update(c for c in (unit.code, unit.district_code) if c)
        code = unit.parent_code
    return codes


def _grant_problem(session: Any, user: User, role: str, unit_code: str) -> str | None:
    """Why this grant is not valid, or None: the role must exist and its unit match the role's scope; no admin
    grants to themselves, and no officer's grant covers the grantee's own organisation (separation of duties)."""
    scope = role_scopes().get(role)
    if scope is None:
        return _("Unknown role.")
    if user.id == current_user.id:
        return tr(("Quản trị viên không được tự cấp vai trò cho chính mình.",
                   "An administrator may not grant a role to themselves."))
    organisation = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if scope != "own" and organisation is not None and unit_code in _units_around(session, organisation.commune_code):
        return tr(("Vai trò này bao trùm chính tổ chức của người dùng (xung đột lợi ích).",
                   "This role would cover the user's own organisation (conflict of interest)."))
    if scope == "own":
        if unit_code:
            return _("This role covers the user's own organisation: choose no unit.")
        if user.organisation_id is None:
            return _("This role needs a user who acts for an organisation.")
    else:
        unit = session.get(Unit, unit_code) if unit_code else None
        if unit is None or unit.level != scope:
            return _("This role needs a unit of level: %(level)s.", level=scope)
    if any(g.role == role and (g.unit_code or "") == unit_code for g in user.grants):
        return _("The user already has this role over this unit.")
    return None


def _render_user(user: User, status: int = 200, **forms: Any) -> Any:
    session = db_session()
    forms.setdefault("grant_form", _grant_form(session))
    forms.setdefault("password_form", PasswordForm())
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    return render_template("admin/user.html", user=user, active_form=ActiveForm(), delete_form=DeleteForm(),
                           scopes=role_scopes(), tokens=list(tokens), **forms), status


def _revoke_tokens(session: Any, user: User, reason: str, token_id: int | None = None) -> list[int]:
    from app.api.tokens import revoke_tokens  # app.api.tokens records through app.admin.audit

    return revoke_tokens(session, user, actor_id=str(current_user.id), actor_role="admin", reason=reason,
                         token_id=token_id)


@bp.route("/users", methods=["GET", "POST"])
@requires("admin")
def index() -> Any:
    session = db_session()
    form = _user_form(session)
    if form.validate_on_submit():
        if session.scalar(select(User.id).where(User.username == form.username.data)) is not None:
            form.username.errors.append(_("This username is taken."))
        elif problem := password_problem(form.password.data, form.username.data, form.full_name.data):
            form.password.errors.append(problem)
        else:
            user = User(username=form.username.data, full_name=form.full_name.data.strip(),
                        email=form.email.data or None, organisation_id=form.organisation_id.data or None,
                        language=form.language.data)
            user.set_password(form.password.data)
            session.add(user)
            session.flush()
            record(session, current_user, user, "create_user", outcome="created", inputs={
                "username": user.username, "full_name": user.full_name, "email": user.email,
                "organisation_id": user.organisation_id, "language": user.language})
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id), 303)
    rows = session.scalars(select(User).order_by(User.username))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/users.html", users=rows, form=form), status


@bp.get("/users/<int:user_id>")
@requires("admin")
def user(user_id: int) -> Any:
    return _render_user(_load_user(db_session(), user_id))


@bp.post("/users/<int:user_id>/active")
@requires("admin")
def set_active(user_id: int) -> Any:
    session = db_session()
    user = _load_user(session, user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    if user.id == current_user.id and not active:
        flash(_("You cannot deactivate your own account."), "error")
        return _render_user(user, 409)
    if user.is_active != active:
        record(session, current_user, user, "activate" if active else "deactivate",
               diff={"is_active": [user.is_active, active]})
        user.is_active = active
        if not active:
            user.end_sessions()
            _revoke_tokens(session, user, "deactivated")
        flash(_("Account activated.") if active else _("Account deactivated."), "success")
    return redirect(url_for("admin.user", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/password")
@requires("admin")
def reset_password(user_id: int) -> Any:
    session = db_session()
    user = _load_user(session, user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        return _render_user(user, 400, password_form=form)
    if problem := password_problem(form.password.data, user.username, user.full_name):
        form.password.errors.append(problem)
        return _render_user(user, 422, password_form=form)
    user.set_password(form.password.data)  # ends the user's sessions
    record(session, current_user, user, "reset_password")  # the password itself is never recorded
    _revoke_tokens(session, user, "password_reset")
    security_event("password_reset", for_user_id=user.id)
    flash(_("Password reset for %(name)s.", name=user.username), "success")
    return redirect(url_for("admin.user", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
@requires("admin")
def revoke_token(user_id: int, token_id: int) -> Any:
    session = db_session()
    user = _load_user(session, user_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    if not _revoke_tokens(session, user, "admin", token_id):
        abort(404)  # not this user's, or already revoked
    flash(_("Token revoked."), "success")
    return redirect(url_for("admin.user", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/grants")
@requires("admin")
def add_grant(user_id: int) -> Any:
    session = db_session()
    user = _load_user(session, user_id)
    form = _grant_form(session)
    if not form.validate_on_submit():
        return _render_user(user, 400, grant_form=form)
    role, unit_code = form.role.data, form.unit_code.data or ""
    problem = _grant_problem(session, user, role, unit_code)
    if problem:
        form.unit_code.errors.append(problem)
        return _render_user(user, 422, grant_form=form)
    user.grants.append(RoleGrant(role=role, unit_code=unit_code or None))
    session.flush()
    record(session, current_user, user, "grant_role", inputs={"role": role, "unit_code": unit_code or None})
    flash(_("Role granted."), "success")
    return redirect(url_for("admin.user", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/grants/<int:grant_id>/delete")
@requires("admin")
def remove_grant(user_id: int, grant_id: int) -> Any:
    session = db_session()
    user = _load_user(session, user_id)
    grant = next((g for g in user.grants if g.id == grant_id), None)
    if grant is None:
        abort(404)
    if not DeleteForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id and grant.role == "admin":
        flash(_("You cannot remove your own admin role."), "error")
        return _render_user(user, 409)
    record(session, current_user, user, "revoke_role", inputs={"role": grant.role, "unit_code": grant.unit_code})
    user.grants.remove(grant)
    flash(_("Role removed."), "success")
    return redirect(url_for("admin.user", user_id=user.id), 303)


@bp.route("/units", methods=["GET", "POST"])
@requires("admin")
def units() -> Any:
    session = db_session()
    form = _commune_form(session)
    if form.validate_on_submit():
        if session.get(Unit, form.code.data) is not None:
            form.code.errors.append(_("A unit with this code exists."))
        else:
            district = form.district_code.data or None
            province = session.scalar(select(Unit.code).where(Unit.level == "province"))
            unit = Unit(code=form.code.data, name=form.name.data.strip(), level="commune",
                        parent_code=district or province, district_code=district, active=True, valid_from=today())
            session.add(unit)
            session.add(UnitPeriod(code=unit.code, name=unit.name, level="commune", district_code=district,
                                   valid_from=unit.valid_from))
            session.flush()
            record(session, current_user, unit, "add_commune", outcome="created", inputs={
                "code": unit.code, "name": unit.name, "parent_code": unit.parent_code, "district_code": district})
            flash(_("Commune %(name)s added.", name=unit.name), "success")
            return redirect(url_for("admin.units"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("admin/units.html", units=_units(session), form=form), status


class SuccessorForm(FlaskForm):
    old_code = StringField(validators=[DataRequired(), Regexp(r"^\d{5}$")])
    new_code = StringField(validators=[DataRequired(), Regexp(r"^\d{5}$")])


def _reform_page(session: Any, form: SuccessorForm, status: int = 200) -> Any:
    """Grants on abolished units with the successor to grant instead, proposals a migration would strand
    (with the grant that would let someone act), and the successor table."""
    from workflow.migrate import plan
    from workflow.registry import default_registry

    history = UnitHistory.load(session)
    stale = [(grant, history.successor(grant.unit_code)) for grant in session.scalars(
        select(RoleGrant).join(Unit, Unit.code == RoleGrant.unit_code).where(Unit.valid_to.is_not(None)))]
    registry = default_registry()
    orphans = []
    for compiled in registry:
        if compiled.definition.migrates_from is not None:
            orphans += [(move, compiled) for move in plan(session, compiled, registry) if move.stranded]
    successors = session.scalars(select(UnitSuccessor).order_by(UnitSuccessor.old_code)).all()
    return render_template("admin/reform.html", stale=stale, orphans=orphans, successors=successors,
                           history=history, form=form), status


@bp.get("/reform")
@requires("admin")
def reform() -> Any:
    return _reform_page(db_session(), SuccessorForm())


@bp.post("/reform/successors")
@requires("admin")
def correct_successor() -> Any:
    """An admin corrects where an abolished commune went; audited on the old unit's chain."""
    session = db_session()
    form = SuccessorForm()
    if not form.validate_on_submit():
        return _reform_page(session, form, 400)
    row = session.get(UnitSuccessor, form.old_code.data)
    new = session.get(Unit, form.new_code.data)
    if row is None:
        form.old_code.errors.append(tr(("Mã này không phải đơn vị đã bị bãi bỏ", "No abolished unit has this code")))
    if new is None or new.level != "commune" or new.valid_to is not None:
        form.new_code.errors.append(tr(("Đơn vị kế thừa phải là xã/phường đang hoạt động",
                                        "The successor must be a commune in use today")))
    if form.errors or row is None or new is None:
        return _reform_page(session, form, 422)
    if row.new_code != new.code:
        old_unit = session.get(Unit, row.old_code)
        record(session, current_user, old_unit, "correct_successor", diff={"successor": [row.new_code, new.code]})
        row.new_code, row.source = new.code, f"admin:{current_user.username}"
        flash(tr((f"Đã sửa đơn vị kế thừa của {old_unit.name if old_unit else row.old_code}: {new.name}",
                  f"Successor of {old_unit.name if old_unit else row.old_code} corrected: {new.name}")), "success")
    return redirect(url_for("admin.reform"), 303)
@bp.route("/caps")
@requires("admin")
def caps() -> Any:
    """The support levels in force per version, each with its rule; unconfirmed figures are marked."""
    from app.common.caps import caps_dir, load_caps

    files = [load_caps(path) for path in sorted(caps_dir().glob("*.yaml"))]
    return render_template("admin/caps.html", files=files)
