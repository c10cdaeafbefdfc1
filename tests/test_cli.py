"""CLI tier: exit codes, the report, JSON, determinism, the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bbmcheck.cli import main
from bbmcheck.sequences.load import bundled_models


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_ttrem1_refutes_the_seed(capsys):
    code, out, err = run(capsys, "verify", "ttrem1")
    assert code == 1
    assert "invalid-window     VIOLATED only on nt_fault=always; transient  [claimed holds: REFUTED]" in out
    assert "tlb-conflict       VIOLATED only on nt_fault=never; persists after completion" in out
    assert "stale-translation  holds  [claimed holds: ok]" in out
    assert "freed-table-walk   holds  [claimed holds: ok]" in out
    assert "implementations that take a Translation fault on nT=1 blocks (RMRRPW)" in out
    assert "shortest counterexample after completion" in out and "replayed" in out
    assert "explored 1,409 states" in out  # by address (tests/golden: 14,085 searched together)
    assert "searched address by address: 5 searches for 5 representative addresses" in out
    assert "states/s" in err and "Traceback" not in err


def test_verify_ttrem0_holds_its_claims(capsys):
    code, out, _ = run(capsys, "verify", "ttrem0")
    assert code == 0
    assert "invalid-window     VIOLATED; transient  [claimed violated: ok]" in out


def test_level_override_changes_the_verdict(capsys):
    code, out, _ = run(capsys, "verify", "ttrem2-direct", "--level", "L1", "--no-traces")
    assert code == 1 and "bbm-required       VIOLATED" in out
    code, out, _ = run(capsys, "verify", "ttrem2-direct", "--level", "L2-noabort", "--no-traces")
    assert code == 0 and "tlb-conflict       holds" in out


def test_choice_pinning(capsys):
    code, out, _ = run(capsys, "verify", "ttrem1", "--nt-fault", "never", "--nt-cache", "none", "--no-traces")
    assert "invalid-window     holds" in out
    assert "tlb-conflict       VIOLATED; transient" in out
    assert code == 1


def test_json_output_is_data_and_deterministic(capsys):
    code1, out1, _ = run(capsys, "verify", "ttrem1", "--json")
    code2, out2, _ = run(capsys, "verify", "ttrem1", "--json")
    assert code1 == code2 == 1
    assert out1 == out2
    data = json.loads(out1)
    assert data["model"] == "ttrem1" and data["exit_code"] == 1
    props = {f["property"]: f for f in data["findings"]}
    assert props["tlb-conflict"]["verdict"] == "violated"
    assert props["tlb-conflict"]["persisting_when"] == ["nt_fault=never and nt_cache=shadow"]
    assert props["stale-translation"]["verdict"] == "holds"
    assert props["invalid-window"]["trace"]["path"] == "u u w0.1.0"
    assert "seconds" not in data["stats"]


def test_text_output_is_byte_identical(capsys):
    outs = {run(capsys, "verify", name)[1] for name in ["split-nt"] * 3}
    assert len(outs) == 1


def test_state_cap_exit_3(capsys):
    code, out, _ = run(capsys, "verify", "ttrem0", "--max-states", "20")
    assert code == 3 and "INCOMPLETE (state cap of 20 states reached)" in out and "UNKNOWN" in out


def test_list_shows_every_bundled_model(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in bundled_models():
        assert name in out
    assert "L2-noabort" in out or "L2" in out


def test_installed_console_script_finds_bundled_models(tmp_path):
    """From a directory outside the source tree, the installed 'bbmcheck' resolves 'ttrem1'."""
    exe = Path(sys.executable).parent / "bbmcheck"
    assert exe.exists(), "bbmcheck console script is not installed next to this Python"
    proc = subprocess.run([str(exe), "verify", "ttrem1", "--no-traces"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "tlb-conflict" in proc.stdout


def test_help_lists_every_command_and_option(capsys):
    code, out, err = run(capsys, "--help")
    assert code == 0 and err == ""
    for name in ("verify", "show", "replay", "extract", "prove", "recheck", "list"):
        assert f"\n  {name} " in out, name
    code, out, err = run(capsys, "verify", "--help")
    assert code == 0 and err == "" and "usage: bbmcheck verify [OPTIONS] [MODEL]" in out
    for option in ("--level LEVEL", "--vcpus N", "--cutoff, --no-cutoff", "--json", "--timeout SECONDS",
                   "--max-states N", "[default: 2000000]", "--claims MODE", "the model's [claims]",
                   "pip install 'bbmcheck[cluster]'"):
        assert option in " ".join(out.split()), option  # however wide the terminal


def test_no_command_shows_the_help_and_is_a_usage_error(capsys):
    code, out, err = run(capsys)
    assert code == 2 and "verify" in out and "recheck" in out
    assert err == "<command-line>:1:1: error: Missing command.\n"


def test_unknown_command_suggests_once(capsys):
    code, out, err = run(capsys, "verfiy", "ttrem1")
    assert code == 2 and out == ""
    assert err == "<command-line>:1:1: error: No such command 'verfiy'. Did you mean 'verify'?\n"


def test_cli_imports_no_library_before_a_command_runs():
    """Start-up (issue 14): importing the CLI and answering --help or a usage error loads no command
    line library and none of the modules a command calls."""
    probe = ("import sys\nfrom bbmcheck.cli import main\n"
             "codes = [main(['--help']), main(['verify', '--help']), main(['verify', '--frobnicate'])]\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click', 'rich') or m.startswith(("
             "'bbmcheck.verify', 'bbmcheck.engines', 'bbmcheck.smt', 'bbmcheck.extract', 'bbmcheck.system', "
             "'bbmcheck.sequences', 'bbmcheck.arch')))\n"
             "print(codes, heavy)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[0, 0, 2] []", proc.stdout[-500:]
