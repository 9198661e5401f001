"""Login, logout, "change my password" and the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length

from app.access import public, requires
from app.admin.audit import append_event
from app.extensions import db_session, limiter
from app.models import User
from app.models.users import check_password
from app.security import start_session
from app.security.log import security_event
from app.security.passwords import password_problem

bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class LanguageForm(FlaskForm):
    lang = StringField(validators=[AnyOf(("vi", "en"))])
    next = HiddenField()


def safe_next(target: str | None) -> str:
    """Only same-site relative paths, so a crafted link cannot send a user elsewhere after login. Control
    characters (CR/LF: header injection) and backslashes (read as "/" by browsers) make a target unsafe."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and not urlsplit(target).netloc):
        return target
    return url_for("review.my_work")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_ip_limit() -> str:
    return current_app.config["LOGIN_IP_RATE_LIMIT"]


def _username_and_address() -> str:
    """Throttle key: the username tried, from this address. Guessing one user's password is slowed without
    letting anyone lock a user out from elsewhere; the per-address limit bounds spraying many usernames."""
    return f"login:{request.form.get('username', '').strip().lower()[:80]}@{request.remote_addr}"


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], key_func=_username_and_address)
@limiter.limit(_login_ip_limit, methods=["POST"])
def login() -> Any:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        username = form.username.data.strip()
        user = db_session().scalar(select(User).where(User.username == username))
        # One hash computation whether or not the user exists, so timing does not tell.
        password_ok = check_password(user.password_hash if user is not None else None, form.password.data)
        if user is not None and user.is_active and password_ok:
            lang = session.get("lang")
            session.clear()  # a fresh session on login: no fixation
            if lang:
                session["lang"] = lang
            login_user(user)
            start_session(user)
            security_event("login", user_id=user.id, username=user.username)
            return redirect(safe_next(form.next.data))
        security_event("login_failed", username=username[:80], known_user=user is not None,
                       reason="inactive" if user is not None and password_ok else "credentials")
        form.password.errors.append(_("Wrong username or password."))
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@requires("logged_in")
def logout() -> Any:
    security_event("logout")
    current_user.end_sessions()  # a copy of this session's cookie is worthless from now on
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires("logged_in")
@limiter.limit(_login_limit, methods=["POST"], key_func=lambda: f"password:{current_user.id}")
def change_password() -> Any:
    """The user's own password: the current one, then a new one that passes the policy. Every other session
    of the user ends; this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("The current password is wrong."))
            security_event("password_change_failed")
        elif problem := password_problem(form.password.data, current_user.username, current_user.full_name):
            form.password.errors.append(problem)
        else:
            current_user.set_password(form.password.data)
            append_event(db_session(), current_user, "account.change_password", actor_id=str(current_user.id),
                         actor_role="self")
            start_session(current_user)
            security_event("password_changed")
            flash(_("Your password has been changed. Other sessions have been logged out."), "success")
            return redirect(url_for("review.my_work"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/language", methods=["POST"])
@public
def language() -> Any:
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["lang"] = form.lang.data
    if current_user.is_authenticated:
        current_user.language = form.lang.data
    return redirect(safe_next(form.next.data), 303)
