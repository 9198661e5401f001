"""Forms: the applicant's proposal form, uploads, and action forms built from a transition's inputs."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, ValidationError

from app.i18n import tr
from app.models.proposals import ATTACHMENT_KINDS, CATEGORIES, SECTORS
from app.models.units import active_communes
from app.webforms import Form
from workflow.definitions import InputSpec
from workflow.inputs import BUILTIN_INPUTS

_SEPARATORS = re.compile(r"[.,\s_₫]|VND|đ", re.IGNORECASE)


class MoneyField(StringField):
    """An amount in whole VND; accepts '1.250.000.000' or '1250000000'."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        cleaned = _SEPARATORS.sub("", self.raw or "")
        self.data = int(cleaned) if cleaned.isdigit() else None

    def _value(self) -> str:
        if self.data is None:
            return getattr(self, "raw", "") or ""
        return f"{self.data:,}".replace(",", ".")

    def pre_validate(self, form: Any) -> None:
        if self.data is None:  # only parsing here: the amount's limits are the service's (app.proposals.fields)
            raise ValidationError(str(_l("Enter a whole amount in VND, e.g. 150.000.000")))


def _pairs(table: dict[str, tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(key, tr(titles)) for key, titles in table.items()]


def commune_choices(session: Session, keep: str | None = None) -> list[SelectChoice]:
    """The unit table's active communes (those an admin added too), labelled with their former district."""
    return [SelectChoice(code, f"{name} – {district}" if district else name)
            for code, name, district in active_communes(session, keep)]


class ProposalForm(Form):
    """Widgets and parsing only: every rule on the values (ranges, lengths, support <= total, support +
    counterpart = total) is checked by create_proposal/edit_proposal; :meth:`show` puts its errors on the fields."""

    title = StringField(_l("Title"))
    commune_code = SelectField(_l("Commune / ward"), validators=[DataRequired()])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    sector = SelectField(_l("Sector"), validators=[DataRequired()])
    year = IntegerField(_l("Plan year"), validators=[InputRequired()])
    total_cost = MoneyField(_l("Total cost (VND)"), render_kw={"inputmode": "numeric", "placeholder": "400.000.000"})
    requested_support = MoneyField(_l("Requested support (VND)"), render_kw={"inputmode": "numeric"})
    counterpart_funds = MoneyField(_l("Counterpart funds (VND)"), render_kw={"inputmode": "numeric"})
    duration_months = IntegerField(_l("Duration (months)"), default=12, validators=[InputRequired()])
    objectives = TextAreaField(_l("Objectives"))
    expected_results = TextAreaField(_l("Expected results"))
    expected_jobs = IntegerField(_l("Jobs expected"), default=0, validators=[InputRequired()])
    expected_output = StringField(_l("Expected output"))
    priority_region = BooleanField(_l("Priority region (highland, ethnic-minority, poor or new-rural area)"))
    priority_sector = BooleanField(_l("Priority sector"))
    expected_version = HiddenField()
    idempotency_key = HiddenField()  # new drafts only: a double submit creates one draft

    def __init__(self, communes: list[SelectChoice], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.commune_code.choices = communes
        self.category.choices = _pairs(CATEGORIES)
        self.sector.choices = _pairs(SECTORS)

    def show(self, errors: dict[str, dict[str, str]]) -> list[str]:
        """The service's errors (InvalidInput.errors) on their fields, in the user's language; those of no
        field of the form are returned as page-level reasons."""
        unplaced = []
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None:
                unplaced.append(f"{name}: {tr(message)}")
            else:
                field.errors = [*field.errors, tr(message)]
        return unplaced

    def values(self) -> dict[str, Any]:
        # A text field left out of the post (not merely empty) is empty text, never NULL.
        return {name: "" if field.data is None and isinstance(field, StringField) else field.data
                for name, field in self._fields.items()
                if name not in ("csrf_token", "expected_version", "idempotency_key")}


class UploadForm(Form):
    kind = SelectField(_l("Document type"), validators=[DataRequired()])
    file = FileField(_l("File (PDF, JPEG, PNG, DOCX or XLSX)"), validators=[FileRequired()],
                     render_kw={"accept": ".pdf,.jpg,.jpeg,.png,.docx,.xlsx"})

    def __init__(self, kinds: list[str], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k, tr(ATTACHMENT_KINDS[k])) for k in kinds]


def action_form(requires: tuple[str, ...], specs: dict[str, InputSpec], formdata: Any = None,
                optional: dict[str, tuple[str, list[tuple[str, str]]]] | None = None) -> Form:
    """A form with exactly the transition's inputs (field name = input name) plus expected_version.

    Values are validated by the engine (workflow.inputs), so the rules live in one place; fields here only
    choose the right widget.
    """

    class ActionForm(Form):
        expected_version = HiddenField()

    for name in requires:
        spec = specs.get(name) or BUILTIN_INPUTS[name]
        label = tr(spec.title.as_dict()) if spec.title else name
        if spec.type == "text":
            field: Any = TextAreaField(label)
        elif spec.type == "bool":
            field = BooleanField(label)
        elif spec.type == "choice":
            field = SelectField(label, choices=[SelectChoice(c) for c in spec.choices or []])
        elif spec.type == "date":
            field = StringField(label, render_kw={"type": "date"})
        elif spec.type in ("money", "int", "percent"):
            field = StringField(label, render_kw={"inputmode": "numeric", "data-kind": spec.type})
        else:
            field = StringField(label)
        setattr(ActionForm, name, field)
    for name, (label, choices) in (optional or {}).items():  # choices the handler offers (e.g. an envelope)
        if len(choices) > 1:
            options = [SelectChoice("", "—"), *(SelectChoice(value, text) for value, text in choices)]
            setattr(ActionForm, name, SelectField(label, choices=options, validate_choice=False))
    return ActionForm(formdata=formdata)
