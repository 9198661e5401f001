"""Language and time zone: Vietnamese by default, English selectable; catalogues compiled on start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, session
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import pass_context

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues(root: Path = TRANSLATIONS) -> None:
    """Compile each catalogue (.po) whose .mo is missing or older, so a fresh clone needs no build step."""
    for po in root.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        tmp = mo.with_suffix(f".mo.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as target:
                write_mo(target, catalog)
            tmp.replace(mo)  # atomic, so concurrent workers never read half a file
        except OSError:  # a read-only install keeps the committed .mo
            tmp.unlink(missing_ok=True)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if has_request_context():
        chosen = session.get("lang")
        if chosen in languages:
            return str(chosen)
        if current_user and current_user.is_authenticated and current_user.language in languages:
            return current_user.language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def lang() -> str:
    return str(get_locale() or "vi")


def tr(text: Mapping[str, str] | tuple[str, str] | None) -> str:
    """Pick the user's language from a bilingual message ({vi, en} or a (vi, en) pair)."""
    if text is None:
        return ""
    if isinstance(text, tuple):
        return text[1] if lang() == "en" else text[0]
    return text.get(lang()) or text.get("vi") or next(iter(text.values()), "")


@pass_context
def tr_filter(_context: Any, text: Mapping[str, str] | tuple[str, str] | None) -> str:
    """``tr`` for templates. Taking the context stops Jinja from folding a constant ``("…", "…")|tr`` once,
    at compile time, in whatever language was current then."""
    return tr(text)
