"""Notifications: the in-app inbox, e-mail preferences, the admins' view of the outbox, and the worker command.

Notices are declared in the definitions (``notify:``, ``reminders:``, ``action_notify:``), written to the outbox
in the same transaction as the change that caused them (``outbox.write_outbox``, an engine hook) and delivered
by ``flask --app app worker``.
"""

from __future__ import annotations

import signal
from typing import Any

import click
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select, update

from app.access import requires
from app.extensions import db_session
from app.i18n import tr
from app.models import Notification, NotificationPreference
from app.models.notifications import DEAD, PENDING
from app.notifications.mail import MailSettings, render
from app.notifications.worker import Worker, WorkerSettings
from workflow.notices import catalogue
from workflow.storage import utcnow

bp = Blueprint("notifications", __name__, url_prefix="/notifications", cli_group=None, template_folder="templates")
PAGE = 30


def unread_count(user: Any) -> int:
    return db_session().scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


@bp.app_context_processor
def _header() -> dict[str, Any]:
    def unread() -> int:
        return unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread}


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


@bp.route("/")
@requires("logged_in")
def inbox() -> Any:
    page = _page()
    rows = db_session().scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc()).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    items = [{"n": n, "text": render(n, request.host_url.rstrip("/"))} for n in rows[:PAGE]]
    return render_template("notifications/inbox.html", items=items, page=page, more=len(rows) > PAGE)


@bp.route("/<int:nid>/open", methods=["POST"])
@requires("logged_in")
def open_notice(nid: int) -> Any:
    """Mark one notice read and go to what it is about."""
    session = db_session()
    notice = session.get(Notification, nid)
    if notice is None or notice.user_id != current_user.id:
        abort(404)
    if notice.read_at is None:
        notice.read_at = utcnow()
    return redirect(notice.link)


@bp.route("/read-all", methods=["POST"])
@requires("logged_in")
def read_all() -> Any:
    db_session().execute(update(Notification).where(Notification.user_id == current_user.id,
                                                    Notification.read_at.is_(None)).values(read_at=utcnow()))
    return redirect(url_for("notifications.inbox"))


@bp.route("/preferences", methods=["GET", "POST"])
@requires("logged_in")
def preferences() -> Any:
    session = db_session()
    optional = {key: t for key, t in catalogue().items() if not t.statutory}
    if request.method == "POST":
        wanted = set(request.form.getlist("email"))
        session.query(NotificationPreference).filter_by(user_id=current_user.id).delete()
        session.add_all(NotificationPreference(user_id=current_user.id, key=key, email=False)
                        for key in optional if key not in wanted)
        flash(tr(("Đã lưu tùy chọn thông báo", "Notification preferences saved")), "success")
        return redirect(url_for("notifications.preferences"))
    off = set(session.scalars(select(NotificationPreference.key).where(
        NotificationPreference.user_id == current_user.id, NotificationPreference.email.is_(False))))
    statutory = {key: t for key, t in catalogue().items() if t.statutory}
    return render_template("notifications/preferences.html", optional=optional, statutory=statutory, off=off)


@bp.route("/outbox")
@requires("admin")
def outbox_admin() -> Any:
    """E-mails that failed: pending with the last error, and the dead letters."""
    page = _page()
    rows = db_session().scalars(
        select(Notification).where((Notification.email_status == DEAD)
                                   | ((Notification.email_status == PENDING) & Notification.last_error.is_not(None)))
        .order_by(Notification.id.desc()).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    counts = dict(db_session().execute(select(Notification.email_status, func.count())
                                       .group_by(Notification.email_status)).all())
    return render_template("notifications/outbox.html", rows=rows[:PAGE], page=page, more=len(rows) > PAGE,
                           counts=counts)


@bp.route("/outbox/<int:nid>/retry", methods=["POST"])
@requires("admin")
def retry(nid: int) -> Any:
    notice = db_session().get(Notification, nid)
    if notice is None:
        abort(404)
    if notice.email_status in (DEAD, PENDING):
        notice.email_status, notice.attempts, notice.next_attempt_at = PENDING, 0, utcnow()
        flash(tr(("Thư sẽ được gửi lại", "The e-mail will be sent again")), "success")
    return redirect(url_for("notifications.outbox_admin"))


@bp.cli.command("worker")
@click.option("--once", is_flag=True, help="Sweep once, deliver what is due, and exit.")
def worker_command(once: bool) -> None:
    """Deliver notification e-mails and run the deadline sweep (run as many as you like on PostgreSQL)."""
    from app.notifications.reminders import sweep

    stopping: list[bool] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    worker = Worker(current_app.extensions["db_engine"], MailSettings.from_config(current_app.config),
                    WorkerSettings.from_env(dict(current_app.config)))
    if current_app.extensions["db_engine"].dialect.name == "sqlite":
        click.echo("SQLite: run one worker process only.")
    click.echo(f"worker {worker.name}: SMTP {worker.mail.host}:{worker.mail.port}")
    worker.run(lambda session: sweep(session), once=once, should_stop=lambda: bool(stopping))
