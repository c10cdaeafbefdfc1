"""`bbmcheck verify --engine bmc`: the same findings as the explicit engine on the seed's level-1
path, replayed traces that export and replay from files, and located errors for bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbmcheck.cli import main


def _json(argv: list[str], capsys) -> tuple[int, dict]:
    code = main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


def test_bmc_finds_what_the_explicit_engine_finds_on_ttrem1(tmp_path: Path, capsys) -> None:
    code_e, explicit = _json(["verify", "ttrem1"], capsys)
    code_b, bmc = _json(["verify", "ttrem1", "--engine", "bmc", "--bound", "13", "--trace-out", str(tmp_path)],
                        capsys)
    assert code_e == code_b == 1  # the seed's claims are refuted either way
    assert bmc["engine"] == "bmc" and not bmc["complete"]
    violated = 0
    for fe, fb in zip(explicit["findings"], bmc["findings"], strict=True):
        assert fe["property"] == fb["property"]
        if fe["verdict"] == "violated":
            violated += 1
            for key in ("verdict", "violated_on", "persisting_on", "window", "causes", "at_lines", "severity"):
                assert fe[key] == fb[key], (fe["property"], key)
            assert fb["trace"]["replayed"]
            assert len(fb["trace"]["steps"]) == len(fe["trace"]["steps"])  # both shortest
        else:
            assert fe["verdict"] == "holds" and fb["verdict"] == "unknown"  # bounded: never "holds"
    assert violated == 2
    itf = sorted(tmp_path.glob("*.itf.json"))
    assert itf
    assert main(["replay", str(itf[0])]) == 0


@pytest.mark.parametrize("argv, option, message", [
    (["verify", "ttrem1", "--engine", "smt"], "--engine", "invalid value 'smt' for --engine"),
    (["verify", "ttrem1", "--engine", "bmc", "--bound", "0"], "--bound", "--bound must be 1..200"),
    (["verify", "ttrem1", "--engine", "bmc", "--evictions"], "--evictions", "explicit engine only"),
    (["prove", "ttrem1", "--timeout", "0"], "--timeout", "--timeout must be a positive"),
    (["prove", "ttrem1", "--jobs", "0"], "--jobs", "--jobs must be at least 1"),
    (["recheck", "models"], "models", "is not a certificate folder"),
])
def test_bad_smt_options_are_located(argv: list[str], option: str, message: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    col = 1 + sum(len(a) + 1 for a in argv[:argv.index(option)])
    assert err[0].startswith(f"<command-line>:1:{col}: error: "), err[0]
    assert message in err[0]
