"""The notice catalogue: every key the shipped definitions name exists; a bad template is FILE:LINE."""

from __future__ import annotations

import pytest

from workflow.definitions import load_file
from workflow.errors import DefinitionError
from workflow.notices import ESCALATION, OVERDUE, REMINDER, catalogue, declared, load_catalogue


def test_a_template_with_an_unknown_placeholder_is_reported_with_its_line(tmp_path):
    path = tmp_path / "notices.yaml"
    lines = [f"{key}:\n  title: {{vi: t}}\n  subject: {{vi: s}}\n  body: {{vi: b}}\n"
             for key in (REMINDER, OVERDUE, ESCALATION)]
    path.write_text("".join(lines) + "broken:\n  title: {vi: t}\n  subject: {vi: 'Hồ sơ {cod}'}\n  body: {vi: b}\n")
    with pytest.raises(DefinitionError) as exc:
        load_catalogue(path)
    (problem,) = exc.value.problems
    assert str(problem).startswith(f"{path}:15: error: notice 'broken' subject.vi: unknown placeholder {{cod}}")


def test_renders_in_each_language_with_vietnamese_as_the_fallback():
    template = catalogue()["proposal_returned"]
    params = {"code": "KC-1", "title": "Máy sấy chè", "comment": "Thiếu báo giá", "due": "15/02/2027", "url": "/p/1"}
    assert template.render("en", params)[0] == "[GrantFlow] Proposal KC-1 returned for revision"
    assert template.render("vi", params)[0] == "[GrantFlow] Đề án KC-1 được trả lại để hoàn thiện"


def test_a_fired_transition_declares_its_own_and_its_target_states_notices():
    definition = load_file("definitions/khuyen_cong/v2.yaml").definition
    found = declared(definition, "forward", "local_review", "provincial_appraisal")
    assert [(d.key, d.roles) for d in found] == [("proposal_state_changed", ("applicant",)),
                                                  ("proposal_forwarded", ("centre_officer",))]
    assert declared(definition, "edit", "draft", "draft") == []
