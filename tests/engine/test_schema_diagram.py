"""The JSON Schema file is current, the Mermaid diagram is right, and workflow/ never imports Flask."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow.__main__ import main
from workflow.definitions import json_schema, load_file
from workflow.diagram import mermaid

ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMA = ROOT / "definitions" / "schema.json"
SHIPPED = sorted((ROOT / "definitions").rglob("*.yaml"))


def test_schema_file_is_current(capsys: pytest.CaptureFixture[str]):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == json_schema()
    assert SCHEMA.read_text(encoding="utf-8") == printed, (
        "definitions/schema.json is stale: run `python -m workflow schema > definitions/schema.json`")


def test_schema_accepts_shipped_and_rejects_a_typo():
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for path in SHIPPED:
        # as an editor sees it: JSON has no dates, so effective_from is a YYYY-MM-DD string
        data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        assert validator.is_valid(data), path
        data["trasitions"] = data.pop("transitions")
        assert not validator.is_valid(data)


# --- diagram -------------------------------------------------------------------------------------------------

V1 = ROOT / "definitions" / "khuyen_cong" / "v1.yaml"


def test_diagram_has_every_state_edge_and_role():
    d = load_file(V1).definition
    text = mermaid(d)
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> draft" in lines
    assert "    draft --> district_review: submit (applicant)" in lines
    assert "    returned --> district_review: submit (applicant)" in lines
    assert "    district_review --> returned: return_for_revision (district_officer)" in lines
    assert "    provincial_appraisal --> returned: return_for_revision (centre_officer)" in lines
    for name, state in d.states.items():
        assert any(line.endswith(f" as {name}") for line in lines), name
        assert (f"    {name} --> [*]" in lines) == state.final
    edges = sum(len(t.source) for t in d.transitions)
    assert sum(" --> " in line and "[*]" not in line for line in lines) == edges
    assert "classDef" not in text


def test_diagram_highlight_and_language(capsys: pytest.CaptureFixture[str]):
    assert main(["diagram", str(V1), "--highlight", "funded", "--lang", "vi"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("    class funded current")
    assert "classDef current" in out
    assert '    state "Đã giao kế hoạch, kinh phí" as funded' in out


def test_diagram_usage_and_load_errors(capsys: pytest.CaptureFixture[str]):
    assert main(["diagram", str(V1), "--highlight", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err
    broken = Path(__file__).parent / "broken" / "unknown_scope.yaml"
    assert main(["diagram", str(broken)]) == 1
    assert "town" in capsys.readouterr().err


def test_diagram_escapes_quotes_in_titles(tmp_path: Path):
    src = (Path(__file__).parent / "good" / "demo_v1.yaml").read_text(encoding="utf-8")
    path = tmp_path / "q.yaml"
    path.write_text(src.replace("review: {deadline", 'review: {title: {vi: \'Xét "nhanh"\'}, deadline'),
                    encoding="utf-8")
    assert '    state "Xét #quot;nhanh#quot;" as review' in mermaid(load_file(path).definition, lang="vi")


def test_readme_shows_the_current_v1_diagram():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```mermaid\n" + mermaid(load_file(V1).definition) + "```" in readme


# --- framework-free ------------------------------------------------------------------------------------------

def test_no_module_in_workflow_imports_flask():
    offenders = []
    for path in sorted((ROOT / "workflow").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"flask", "app"}]
    assert not offenders


def test_importing_every_workflow_module_loads_no_flask():
    code = (
        "import importlib, pkgutil, sys, workflow\n"
        "for m in pkgutil.iter_modules(workflow.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('workflow.' + m.name)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in {'flask', 'werkzeug', 'app'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
