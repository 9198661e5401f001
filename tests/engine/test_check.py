"""`python -m workflow check`: the broken-definition corpus, exit codes, --strict and the shipped files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from workflow.__main__ import main
from workflow.definitions import load_text
from workflow.errors import DefinitionError
from workflow.verify import check_paths

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BROKEN = sorted((HERE / "broken").glob("*.yaml"))
GOOD = HERE / "good"
EXPECT = re.compile(r"^# expect: (\d+): (.+)$", re.MULTILINE)
WITH = re.compile(r"^# with: (.+)$", re.MULTILINE)


def _case(path: Path) -> tuple[list[tuple[int, str]], list[Path]]:
    text = path.read_text(encoding="utf-8")
    expects = [(int(line), culprit.strip()) for line, culprit in EXPECT.findall(text)]
    withs = [(path.parent / w.strip()).resolve() for w in WITH.findall(text)]
    return expects, withs


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_definition_is_rejected_naming_culprit_and_line(path: Path, capsys: pytest.CaptureFixture[str]):
    expects, withs = _case(path)
    assert expects, f"{path.name} states no '# expect: LINE: culprit'"
    code, out, _ = _run(capsys, "check", *map(str, withs), str(path))
    assert code == 1, out
    lines = out.splitlines()
    for line, culprit in expects:
        prefix = f"{path}:{line}: error: "
        assert any(x.startswith(prefix) and culprit in x for x in lines), (
            f"expected an error on line {line} naming {culprit!r}; got:\n{out}")


# Each rule of the issue, as the problem code that reports it; the corpus must exercise every one.
RULES = {
    "yaml": "YAML syntax",
    "extra_forbidden": "unknown key",
    "bool_type": "wrong type",
    "literal_error": "unknown scope",
    "greater_than": "version not positive",
    "int_type": "version not an integer",
    "duplicate_key": "duplicate key",
    "undefined_state": "undefined state in a transition",
    "undefined_role": "undefined role in roles / editable_by",
    "undefined_trigger": "undefined trigger in separate_from",
    "undefined_guard": "undefined guard",
    "undefined_input": "undefined input",
    "initial": "not exactly one initial state",
    "guard_params": "guard parameters that do not fit",
    "unreachable": "unreachable state",
    "dead_end": "non-final dead end",
    "final_exit": "final state with a way out",
    "no_final_reachable": "no final reachable",
    "no_final": "no final state at all",
    "no_role": "transition with no role",
    "read_only_only": "transition with only read-only roles",
    "ambiguous": "ambiguous trigger",
    "migration": "bad migrates_from map",
    "duplicate_version": "the same (workflow, version) twice",
    "input": "a choice without choices, min above max",
    "initial_final": "a state both initial and final",
    "council": "a repeated criterion, a pass mark above the maximum",
    "undefined_notice": "a notice key missing from workflow/notices.yaml",
    "reminders": "reminders on a state without a deadline",
    "period": "versions of one workflow whose effective_from dates overlap or leave a gap",
}


def test_corpus_covers_every_rule():
    codes: set[str] = set()
    for path in BROKEN:
        _, withs = _case(path)
        _, problems = check_paths([*withs, path])
        codes.update(p.code for p in problems if p.severity == "error")
    missing = {code: rule for code, rule in RULES.items() if code not in codes}
    assert not missing, f"no broken file exercises: {missing}"


def test_every_problem_of_a_file_is_reported_at_once():
    with pytest.raises(DefinitionError) as exc:
        load_text("workflow: Bad\nversion: -1\ntitle: {vi: x, fr: y}\nroles: {a: {scope: town}}\n"
                  "states: []\ntransitions: {}\nextra: 1\n", "f.yaml")
    messages = [str(p) for p in exc.value.problems]
    assert [m.split(":")[1] for m in messages] == ["1", "2", "3", "4", "5", "6", "7"], messages
    assert all(m.startswith("f.yaml:") for m in messages)


def test_verify_reports_every_problem_at_once(capsys: pytest.CaptureFixture[str]):
    code, out, _ = _run(capsys, "check", str(HERE / "broken" / "guard_params.yaml"))
    assert code == 1
    assert out.count(": error: ") == 5


def test_a_directory_named_like_a_file_is_searched_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = tmp_path / "looks_like.yaml"
    folder.mkdir()
    (folder / "v1.yaml").write_text((GOOD / "demo_v1.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = _run(capsys, "check", str(folder))
    assert code == 0
    assert "1 definition(s) checked" in err


def test_non_utf8_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("workflow: demo\ntitle: {vi: 'Đề án'}\n".encode("utf-16"))
    code, out, _ = _run(capsys, "check", str(path))
    assert code == 1
    assert "not UTF-8" in out


BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))


@pytest.mark.parametrize(("text", "message"), [
    (BOMB, "expands to more than"),
    ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
], ids=["alias_bomb", "deep_nesting"])
def test_hostile_yaml_is_an_error_not_a_crash(text: str, message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, _ = _run(capsys, "check", str(path))
    assert code == 1
    assert message in out


# --- exit codes ----------------------------------------------------------------------------------------------

def test_shipped_definitions_pass_check(capsys: pytest.CaptureFixture[str]):
    code, out, err = _run(capsys, "check", "--strict", str(ROOT / "definitions"))
    assert code == 0, out
    assert out == ""
    assert "5 definition(s) checked: 0 error(s), 0 warning(s)" in err


@pytest.mark.parametrize("name", ["v1.yaml", "v2.yaml"])
def test_each_shipped_file_loads_and_verifies(name: str):
    loaded, problems = check_paths([ROOT / "definitions" / "khuyen_cong"])
    assert not [p for p in problems if p.severity == "error"]
    assert any(item.path.endswith(name) for item in loaded)


def test_good_corpus_passes(capsys: pytest.CaptureFixture[str]):
    code, out, _ = _run(capsys, "check", "--strict", str(GOOD))
    assert (code, out) == (0, "")


def test_warnings_fail_only_with_strict(capsys: pytest.CaptureFixture[str]):
    alone = str(GOOD / "demo_v2.yaml")  # its migrates_from cannot be checked without v1: a warning
    code, out, _ = _run(capsys, "check", alone)
    assert code == 0
    assert ": warning: " in out and "migrates_from" in out
    code, _, _ = _run(capsys, "check", "--strict", alone)
    assert code == 1


@pytest.mark.parametrize("argv", [
    [],
    ["check", "--no-such-option", "definitions"],
    ["frobnicate"],
    ["check", "/no/such/path.yaml"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert err


def test_folder_without_definitions_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = _run(capsys, "check", str(tmp_path))
    assert code == 2
    assert "no .yaml/.yml definition" in err


def test_cli_runs_as_a_module():
    ok = subprocess.run([sys.executable, "-m", "workflow", "check", "definitions/"], cwd=ROOT,
                        capture_output=True, text=True)
    bad = subprocess.run([sys.executable, "-m", "workflow", "check", str(HERE / "broken" / "dead_end.yaml")],
                         cwd=ROOT, capture_output=True, text=True)
    packaged = subprocess.run([sys.executable, "-m", "workflow", "check"], cwd=ROOT, capture_output=True, text=True)
    usage = subprocess.run([sys.executable, "-m", "workflow", "check", "--strict", "--no-such-option"], cwd=ROOT,
                           capture_output=True, text=True)
    assert (ok.returncode, bad.returncode, packaged.returncode, usage.returncode) == (0, 1, 0, 2)
    assert "dead_end.yaml:10: error: state 'limbo' is not final and has no way out" in bad.stdout
    # no path: the definitions packaged with the engine, the same files as the repository's definitions/
    assert packaged.stderr.split(" definition(s)")[0] == ok.stderr.split(" definition(s)")[0]


def test_the_example_in_the_docs_is_sound(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    doc = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    example = doc.split("## A complete small example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    code, out, _ = _run(capsys, "check", "--strict", str(path))
    assert (code, out) == (0, "")


def test_a_file_named_twice_is_checked_once(capsys: pytest.CaptureFixture[str]):
    v1 = GOOD / "demo_v1.yaml"
    code, out, err = _run(capsys, "check", str(GOOD), str(v1), str(GOOD / ".." / "good" / "demo_v1.yaml"))
    assert (code, out) == (0, "")
    assert "3 definition(s) checked" in err
