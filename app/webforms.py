"""Errors in place for the hand-written forms (stage panels, rounds, funding, council sheets).

A handler whose service refuses the posted values calls :func:`rerender`: it notes the form's typed values and
the messages per field, then answers with the page the form lives on, status 422. The page's fields (the
``_forms.html`` macros) read :func:`form_state` to show the typed value, the message beside the field and the
summary at the top; nothing is stored (the request is rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from babel import support
from flask import flash, g, make_response, request
from flask_babel import get_locale
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from app.errors import workflow_reasons
from app.i18n import TRANSLATIONS as TRANSLATIONS_DIR
from app.i18n import tr
from workflow.errors import InvalidInput, Refused, WorkflowError

NOT_SAVED = ("Chưa lưu: vui lòng xem lại các ô được đánh dấu trong biểu mẫu bên dưới.",
             "Not saved: please check the marked fields in the form below.")


@dataclass
class FormState:
    """One form of the page: the values typed (None when it was not the form posted) and its messages."""

    form_id: str
    values: MultiDict[str, str] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)  # messages about the form as a whole
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (element id, label), as rendered

    @property
    def posted(self) -> bool:
        return self.values is not None

    def value(self, name: str, default: Any = "") -> Any:
        if self.values is None:
            return "" if default is None else default
        return self.values.get(name, "")

    def checked(self, name: str, value: str, default: bool = False) -> bool:
        if self.values is None:
            return default
        return value in self.values.getlist(name)

    def note(self, name: str, element_id: str, label: str) -> str:
        """Called by each field as it renders, so the summary (rendered after the fields) can link to them."""
        self.fields[name] = (element_id, label)
        return ""

    def summary(self) -> list[tuple[str | None, str]]:
        """(link target or None, message) for the summary at the top of the form."""
        items: list[tuple[str | None, str]] = [(None, message) for message in self.general]
        for name, messages in self.errors.items():
            element_id, label = self.fields.get(name, (None, name))
            items += [(f"#{element_id}" if element_id else None, f"{label}: {message}") for message in messages]
        return items


def form_state(form_id: str) -> FormState:
    states: dict[str, FormState] = g.setdefault("form_states", {})
    return states.setdefault(form_id, FormState(form_id))


def note_errors(form_id: str, errors: Mapping[str, list[str]] | None = None,
                general: list[str] | None = None) -> FormState:
    state = form_state(form_id)
    state.values = MultiDict(request.form.items(multi=True))
    state.values.pop("csrf_token", None)
    state.errors = {name: list(messages) for name, messages in (errors or {}).items()}
    state.general = list(general or [])
    return state


def field_errors(exc: WorkflowError) -> tuple[dict[str, list[str]], list[str]]:
    """A workflow error as messages per input (an InvalidInput) or for the form as a whole (guards)."""
    if isinstance(exc, InvalidInput):
        # a service may name a nested input "points.capacity"; its field is "points_capacity"
        return {name.replace(".", "_"): [tr(message)] for name, message in exc.errors.items()}, []
    return {}, workflow_reasons(exc)


def correctable(exc: WorkflowError) -> bool:
    """Errors the user fixes in the same form: bad values, unmet guards. Permission, state and conflicts go
    to the error page (the form itself is no longer the right one)."""
    return isinstance(exc, InvalidInput) or (isinstance(exc, Refused) and exc.kind == "guard")


def rerender(form_id: str, exc: WorkflowError | None, page: Callable[[], Any], status: int = 422,
             errors: Mapping[str, list[str]] | None = None, general: list[str] | None = None) -> Any:
    """The page the form lives on again, with the typed values and the messages, and ``status``. Messages
    about a field go beside it (and in the form's summary); messages about the whole form (an unmet guard) go
    to the top of the page, where they show even when the refused form is no longer offered."""
    if exc is not None:
        errors, general = field_errors(exc)
    if form_id:
        note_errors(form_id, errors)
    for message in general or []:
        flash(message, "error")
    if errors:
        flash(tr(NOT_SAVED), "error")
    response = make_response(page())
    response.status_code = status
    return response


class WTFormsTranslations:
    """WTForms' own messages ("This field is required.") in the page's language. WTForms ships no Vietnamese,
    so app/translations/<lang>/LC_MESSAGES/wtforms.po carries it (a missing entry falls back to English)."""

    def _catalogue(self) -> support.NullTranslations:
        locale = str(get_locale() or "vi")
        if locale not in _CATALOGUES:
            _CATALOGUES[locale] = support.Translations.load(str(TRANSLATIONS_DIR), [locale], domain="wtforms")
        return _CATALOGUES[locale]

    def gettext(self, string: str) -> str:
        return str(self._catalogue().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(self._catalogue().ungettext(singular, plural, n))


_CATALOGUES: dict[str, support.NullTranslations] = {}


TRANSLATIONS = WTFormsTranslations()


class Form(FlaskForm):
    """The base of every web form: messages in the page's language."""

    class Meta(FlaskForm.Meta):  # type: ignore[name-defined,misc]
        def get_translations(self, form: Any) -> WTFormsTranslations:
            return TRANSLATIONS
