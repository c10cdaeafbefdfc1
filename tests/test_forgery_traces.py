"""Forged and malformed traces (issue 12, traces): `replay` and `show` recompute every derived
``#meta`` field and every state from the re-execution and refuse a trace that says otherwise.

Exit 4 with the field named: a well-formed trace the re-execution contradicts (forged or stale).
Exit 2 with a location: a file that is not a well-formed bbmcheck trace (wrong types, numbers out of
range, nesting, no states), refused before anything is built. Always one stderr line, no traceback,
and quickly (``vcpus`` of 10^9 is refused, not built).
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from bbmcheck.cli import main
from bbmcheck.report.export import documents
from bbmcheck.report.itf import render as itf_text
from bbmcheck.sequences.load import load_model
from bbmcheck.verify import verify


@pytest.fixture(scope="module")
def genuine() -> dict[str, dict[str, Any]]:
    """Real traces of a buggy model, by stem."""
    return {stem: doc for stem, doc in documents(verify(load_model("coalesce-ipa-tlbi")))}


def conflict(genuine: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(genuine["coalesce-ipa-tlbi.tlb-conflict"])


def run(tmp_path: Path, capsys, doc_or_text: Any, command: str = "replay") -> tuple[int, str, str]:
    path = tmp_path / "t.itf.json"
    path.write_text(doc_or_text if isinstance(doc_or_text, str) else itf_text(doc_or_text), encoding="utf-8")
    argv = [command, str(path)] + (["--format", "text"] if command == "show" else [])
    start = time.monotonic()
    code = main(argv)
    assert time.monotonic() - start < 30
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def one_error(err: str, tmp_path: Path) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.match(rf"^{re.escape(str(tmp_path / 't.itf.json'))}:\d+:\d+: error: ", lines[0]), lines[0]
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def test_genuine_traces_replay(genuine, tmp_path, capsys):
    for doc in genuine.values():
        code, out, err = run(tmp_path, capsys, doc)
        assert code == 0 and "confirmed" in out, err


# (field, forged value): each is refused with exit 4 and the field named
FORGED_META = [
    ("finding", "tlb-conflict: vCPU0 IPA 0x0: nothing to see here"),
    ("description", "bbmcheck counterexample: tlb-conflict in ttrem0 at L1"),
    ("severity", "warning"),
    ("rules", "RNONE"),
    ("property_rules", "RNONE"),
    ("offending_line", 1),
    ("offending_line", "30"),
    ("persisting", True),
    ("persisting", 1),
    ("addresses", ["0x0"]),
    ("model", "ttrem1"),
    ("format", "TLA"),
    ("format-description", "https://example.com"),
    ("tool_version", "9"),
]


@pytest.mark.parametrize(("field", "value"), FORGED_META, ids=[f"{f}={v!r}" for f, v in FORGED_META])
@pytest.mark.parametrize("command", ["replay", "show"])
def test_forged_meta_field_is_refused_naming_it(field, value, command, genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"][field] = value
    code, out, err = run(tmp_path, capsys, doc, command)
    line = one_error(err, tmp_path)
    assert code == 4 and out == "", err
    assert f"#meta.{field}" in line, line


def test_a_finding_from_another_trace_is_refused(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["finding"] = genuine["coalesce-ipa-tlbi.stale-translation"]["#meta"]["finding"]
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 4 and "#meta.finding" in one_error(err, tmp_path)


def test_persisting_flag_is_derived_for_both_traces(genuine, tmp_path, capsys):
    for stem in ("coalesce-ipa-tlbi.tlb-conflict", "coalesce-ipa-tlbi.tlb-conflict.after-completion"):
        doc = copy.deepcopy(genuine[stem])
        assert doc["#meta"]["persisting"] == stem.endswith("after-completion")
        doc["#meta"]["persisting"] = not doc["#meta"]["persisting"]
        code, _, err = run(tmp_path, capsys, doc)
        assert code == 4 and "#meta.persisting" in one_error(err, tmp_path)


def test_another_property_is_refused(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["property"] = "nt-misuse"
    code, _, err = run(tmp_path, capsys, doc)
    line = one_error(err, tmp_path)
    assert code == 4 and "#meta.property" in line and "does not show" in line


def test_unknown_or_extra_or_missing_meta_fields(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["confirmed_by"] = "Arm"
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 4 and "#meta.confirmed_by: unexpected field" in one_error(err, tmp_path)
    doc = conflict(genuine)
    del doc["#meta"]["rules"]
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 4 and "#meta.rules is missing" in one_error(err, tmp_path)


def test_choices_not_explored_is_refused(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["choices"] = "nt_fault=sometimes"
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 4 and "#meta.choices" in one_error(err, tmp_path)


def test_stale_model_hash_is_refused(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["model_sha256"] = "0" * 64
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 4 and "stale trace" in one_error(err, tmp_path)


def test_a_valid_but_wrong_vcpu_count_does_not_replay(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["vcpus"] = 1
    code, _, err = run(tmp_path, capsys, doc)
    line = one_error(err, tmp_path)
    assert code == 4 and "'vcpus'" in line and "step 0" in line


@pytest.mark.parametrize("value", [0, -1, 2.7, 10**9, 65, True, None, "2", [2], 2.0])
def test_vcpus_out_of_range_is_refused_before_building(value, genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"]["vcpus"] = value
    code, _, err = run(tmp_path, capsys, doc)
    line = one_error(err, tmp_path)
    assert code == 2 and "#meta.vcpus must be a whole number 1..64" in line, line


@pytest.mark.parametrize(("field", "value", "phrase"), [
    ("level", "L9", "is not a FEAT_BBM level"),
    ("level", 1, "must be a non-empty string"),
    ("rmrrpw", "sometimes", "is not a reading of RMRRPW"),
    ("property", "everything", "is not a bbmcheck property"),
    ("property", None, "must be a non-empty string"),
    ("model_sha256", "abc", "must be 64 lowercase hex digits"),
    ("source", "", "must be a non-empty string"),
    ("source", "a\x00b", "contains a NUL character"),
    ("choices", {"x": 1}, "must be a non-empty string"),
    ("version", "1.0\x1b[31m", "is not a version"),
])
def test_malformed_meta_is_located(field, value, phrase, genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["#meta"][field] = value
    code, _, err = run(tmp_path, capsys, doc)
    line = one_error(err, tmp_path)
    assert code == 2 and f"#meta.{field} {phrase}" in line, line
    assert "\x1b" not in err


def test_states_tampered_are_refused_naming_step_and_field(genuine, tmp_path, capsys):
    base = conflict(genuine)
    cases = []
    d = copy.deepcopy(base)
    d["states"][3]["pc"] += 1
    cases.append((d, "step 3 does not replay: 'pc'"))
    d = copy.deepcopy(base)
    d["states"][5]["explanation"] = "all good"
    cases.append((d, "step 5 does not replay: 'explanation'"))
    d = copy.deepcopy(base)
    d["states"][-1]["events"] = []
    cases.append((d, "'events'"))
    d = copy.deepcopy(base)
    d["states"][2]["extra"] = 1
    cases.append((d, "unexpected field 'extra'"))
    d = copy.deepcopy(base)
    d["states"][2]["#meta"] = {"index": 7}
    cases.append((d, "step 2: '#meta'"))
    d = copy.deepcopy(base)
    d["states"] = d["states"][:-1]
    cases.append((d, "does not show the violation"))
    d = copy.deepcopy(base)
    d["states"] = d["states"][:1]
    cases.append((d, "does not show the violation"))
    d = copy.deepcopy(base)
    d["states"][1]["action"]["code"] = "p0"  # nothing is stored yet: not enabled
    cases.append((d, "step 1 does not replay: action p0 is not enabled"))
    d = copy.deepcopy(base)
    d["states"][2]["action"]["code"] = "w1.2.0"  # enabled, but the state recorded is vCPU0's walk
    cases.append((d, "step 2 does not replay"))
    d = copy.deepcopy(base)
    d["states"][-1]["action"]["code"] = "l9.0"
    cases.append((d, "names no vCPU/address"))
    d = copy.deepcopy(base)
    d["states"][1]["action"]["line"] = 1.0
    cases.append((d, "step 1 does not replay: 'action'"))
    d = copy.deepcopy(base)
    d["vars"] = ["pc"]
    cases.append((d, "'vars'"))
    d = copy.deepcopy(base)
    d["signature"] = "trust me"
    cases.append((d, "unexpected top-level field 'signature'"))
    for doc, phrase in cases:
        code, out, err = run(tmp_path, capsys, doc)
        assert err, (phrase, out)
        line = one_error(err, tmp_path)
        assert code == 4 and phrase in line, (phrase, line)


def test_forged_values_beside_true_text_are_refused(genuine, tmp_path, capsys):
    """The values a state carries (read back by ``trace.itf.read_states``) are compared like its
    text: a value changed with the text left true is named."""
    base = conflict(genuine)
    walking = next(i for i, st in enumerate(base["states"]) if st["vcpus"][0]["walk_at"])
    cached = next(i for i, st in enumerate(base["states"]) if st["vcpus"][0]["tlb_ids"]["#set"])
    cases = []
    d = copy.deepcopy(base)
    d["states"][2]["stores_visible"]["#map"][0][1] += 1
    cases.append((d, "step 2 does not replay: 'stores_visible'"))
    d = copy.deepcopy(base)
    d["states"][walking]["vcpus"][0]["walk_at"][1] += 1
    cases.append((d, f"step {walking} does not replay: 'vcpus'"))
    d = copy.deepcopy(base)
    tlb = d["states"][cached]["vcpus"][0]["tlb_ids"]
    tlb["#set"] = [b + 1 for b in tlb["#set"]]
    cases.append((d, f"step {cached} does not replay: 'vcpus'"))
    d = copy.deepcopy(base)
    d["states"][1]["vcpus"][0]["tlbis_applied_pcs"] = {"#set": [0]}
    cases.append((d, "step 1 does not replay: 'vcpus'"))
    for doc, phrase in cases:
        code, _, err = run(tmp_path, capsys, doc)
        line = one_error(err, tmp_path)
        assert code == 4 and phrase in line, (phrase, line)


@pytest.mark.parametrize(("text", "phrase", "where"), [
    ('{"#meta": {"tool": "bbmcheck"}, "states": []}', "#meta.vcpus", None),
    ("[" * 100_000 + "]" * 100_000, "nested more than 32 deep", (1, 33)),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested more than 32 deep", (1, 6 * 32 + 1)),
    ("{", "not JSON", None),
    ("[]", "not an ITF trace", None),
    ('{"#meta": {"tool": "other"}, "states": []}', "not a bbmcheck trace", None),
    ('{"#meta": {"tool": "bbmcheck"}, "states": {}}', "not an ITF trace", None),
    ("\xff", "cannot read trace", None),
])
def test_malformed_files_are_one_located_line(text, phrase, where, tmp_path, capsys):
    path = tmp_path / "t.itf.json"
    if text == "\xff":
        path.write_bytes(b"\xff\xfe")
        code = main(["replay", str(path)])
        err = capsys.readouterr().err
    else:
        code, _, err = run(tmp_path, capsys, text)
    line = one_error(err, tmp_path)
    assert code == 2 and phrase in line, line
    if where:
        assert line.startswith(f"{path}:{where[0]}:{where[1]}: "), line


def test_empty_states_and_null_vcpus(genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["states"] = []
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 2 and "'states' is empty" in one_error(err, tmp_path)
    doc = conflict(genuine)
    doc["#meta"]["vcpus"] = None
    code, _, err = run(tmp_path, capsys, doc)
    assert code == 2 and "#meta.vcpus" in one_error(err, tmp_path)


@pytest.mark.parametrize("code_value", ["", "l", "u1.", "zz", "x" * 100, 3, None, "init"])
def test_bad_action_codes_are_malformed(code_value, genuine, tmp_path, capsys):
    doc = conflict(genuine)
    doc["states"][2]["action"]["code"] = code_value
    code, _, err = run(tmp_path, capsys, doc)
    line = one_error(err, tmp_path)
    if code_value == "l":  # well formed, a lookup of nothing
        assert code == 4 and "names no vCPU/address" in line
    else:
        assert code == 2 and "state 2 has no valid action code" in line, line


def test_show_renders_the_replayed_document_not_the_file(genuine, tmp_path, capsys):
    """Whatever the file says beyond what replays cannot reach a view: the views of a genuine trace
    are the views of the document the re-execution rebuilds."""
    doc = conflict(genuine)
    code, out, err = run(tmp_path, capsys, doc, "show")
    assert code == 0, err
    from bbmcheck.report import trace_text

    assert out == trace_text.render(doc)
    assert json.loads(itf_text(doc)) == doc
