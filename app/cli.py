"""Flask CLI: init-db, demo, import-legacy, create-user, create-token, revoke-token, audit-verify
(``flask --app app COMMAND``)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.schema import upgrade


def _session():  # type: ignore[no-untyped-def]
    return current_app.extensions["db_sessionmaker"]()


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Run the migrations up to the latest revision and load the administrative units."""
    from app.units_data import seed_units

    upgrade(current_app.config["DATABASE_URL"])
    with _session() as session:
        added = seed_units(session)
        session.commit()
    click.echo(f"Database migrated; {added} administrative units added.")


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) when proposals exist.")
def demo(if_empty: bool) -> None:
    """Load the demo data (Thái Nguyên, 2016–2020 and 2025–2026) and print the demo logins."""
    from app.demo import has_data, load, print_logins

    with _session() as session:
        if has_data(session):
            if not if_empty:
                raise click.ClickException("the database already has proposals; demo data loads only into an "
                                           "empty database (use --if-empty to skip quietly)")
            click.echo("Demo data already present.")
        else:
            summary = load(session)
            session.commit()
            click.echo(summary)
        print_logins(session, click.echo)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True, help="applicant, district_officer, commune_officer, centre_officer, ...")
@click.option("--unit", "unit_code", default=None, help="Unit code the role covers (district, commune or 19).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", default="")
@click.option("--organisation", "organisation_tax_code", default=None,
              help="Tax code of the applicant's organisation (applicants only).")
def create_user(username: str, role: str, unit_code: str | None, password: str, full_name: str,
                organisation_tax_code: str | None) -> None:
    """Create a user with one role grant."""
    from app.models import Organisation, RoleGrant, Unit, User
    from app.scoping import role_scopes
    from app.security.passwords import password_problem

    if problem := password_problem(password, username, full_name):
        raise click.BadParameter(problem, param_hint="--password")
    if role not in role_scopes():
        raise click.BadParameter(f"unknown role; one of: {', '.join(sorted(role_scopes()))}", param_hint="--role")
    with _session() as session:
        if session.scalar(select(User).where(User.username == username)):
            raise click.ClickException(f"user {username!r} already exists")
        if role_scopes()[role] != "own" and (unit_code is None or session.get(Unit, unit_code) is None):
            raise click.BadParameter("give the code of an existing unit", param_hint="--unit")
        organisation = None
        if organisation_tax_code:
            organisation = session.scalar(select(Organisation).where(Organisation.tax_code == organisation_tax_code))
            if organisation is None:
                raise click.BadParameter("no organisation with this tax code", param_hint="--organisation")
        elif role == "applicant":
            raise click.BadParameter("an applicant acts for an organisation", param_hint="--organisation")
        user = User(username=username, full_name=full_name or username, organisation=organisation)
        user.set_password(password)
        user.grants = [RoleGrant(role=role, unit_code=None if role_scopes()[role] == "own" else unit_code)]
        session.add(user)
        session.commit()
    click.echo(f"User {username} created with role {role}.")


@click.command("create-token")
@with_appcontext
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.option("--days", type=click.IntRange(1, 3660), default=None, help="Valid for this many days "
              "(default: API_TOKEN_DAYS, 90).")
def create_token(username: str, name: str, days: int | None) -> None:
    """Issue an API token for USERNAME and print it (it is shown only once)."""
    from app.api.tokens import issue_token

    with _session() as session:
        user = _user(session, username)
        token = issue_token(session, user, name, days=days or current_app.config["API_TOKEN_DAYS"])
        session.commit()
    click.echo(token)


@click.command("revoke-token")
@with_appcontext
@click.argument("username")
@click.option("--id", "token_id", type=int, default=None, help="The token's id (see the admin page).")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every live token of the user.")
def revoke_token(username: str, token_id: int | None, revoke_all: bool) -> None:
    """Revoke one API token of USERNAME (--id) or all of them (--all)."""
    from app.api.tokens import revoke_tokens

    if (token_id is None) == (not revoke_all):
        raise click.UsageError("give exactly one of --id or --all")
    with _session() as session:
        user = _user(session, username)
        ids = revoke_tokens(session, user, actor_id="system:cli", actor_role="operator", token_id=token_id)
        session.commit()
    if token_id is not None and not ids:
        raise click.ClickException(f"user {username!r} has no live token {token_id}")
    click.echo(f"Revoked {len(ids)} token(s) of {username}.")


@click.command("import-legacy")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "username", required=True, help="The administrator recorded as importing the file.")
@click.option("--province", default=None, help="Province code of the records (default: the demo's, 19).")
def import_legacy(path: str, username: str, province: str | None) -> None:
    """Import past proposals and their decisions from a CSV or XLSX file, with their historical dates
    (docs/units.md, "Old files"). All or nothing: any bad row is reported as FILE:LINE and nothing is written."""
    from app.legacy import LegacyImportError, import_file
    from app.units_data import PROVINCE

    with _session() as session:
        user = _user(session, username)
        if "admin" not in user.roles:
            raise click.ClickException(f"{username} không phải quản trị viên: chỉ quản trị viên được nhập hồ sơ cũ")
        try:
            summary = import_file(session, path, user, province_code=province or PROVINCE[0])
        except LegacyImportError as exc:
            session.rollback()
            for problem in exc.problems:
                click.echo(problem, err=True)
            raise click.ClickException(f"không nhập gì từ {path}: {len(exc.problems)} lỗi") from None
        session.commit()
    click.echo(f"Đã nhập {summary.proposals} hồ sơ, {summary.events} sự kiện từ {path}")


def _user(session, username: str):  # type: ignore[no-untyped-def]
    from app.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@click.command("audit-verify")
@with_appcontext
def audit_verify() -> None:
    """Verify every audit hash chain, checkpoint signature (given AUDIT_PUBLIC_KEY_FILE) and subject row in the
    app's database; exits non-zero when broken."""
    from workflow import seal

    raise SystemExit(seal.cli_verify(current_app.config["DATABASE_URL"],
                                     public_key_path=current_app.config.get("AUDIT_PUBLIC_KEY_FILE")))


@click.command("backup")
@with_appcontext
@click.option("--to", "destination", default="var/backups", show_default=True, type=click.Path(file_okay=False),
              help="Directory that receives the new backup directory.")
def backup_command(destination: str) -> None:
    """Back up the database and the uploaded files, with a manifest of sha256s (safe while serving)."""
    from pathlib import Path

    from app.backup import backup

    target = backup(current_app.config["DATABASE_URL"], Path(current_app.config["UPLOAD_DIR"]), Path(destination))
    click.echo(f"Backup written to {target}")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--yes", is_flag=True, help="Replace the current database and uploads without asking.")
def restore_command(source: str, yes: bool) -> None:
    """Restore a backup over the current database and uploads (stop the service first), then verify the trail."""
    from pathlib import Path

    from app.backup import BackupError, check, restore
    from workflow import audit

    try:
        check(Path(source))
        if not yes:
            click.confirm("This replaces the current database and uploaded files. Continue?", abort=True)
        current_app.extensions["db_engine"].dispose()  # no pooled connection may outlive the old database
        manifest = restore(Path(source), current_app.config["DATABASE_URL"], Path(current_app.config["UPLOAD_DIR"]))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored the backup of {manifest['created_at']} ({len(manifest['uploads'])} files).")
    raise SystemExit(audit.cli_verify(current_app.config["DATABASE_URL"]))


def register(app: Flask) -> None:
    for command in (init_db, demo, import_legacy, create_user, create_token, revoke_token, audit_verify, backup_command,
                    restore_command):
        app.cli.add_command(command)
