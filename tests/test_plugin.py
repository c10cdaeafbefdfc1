"""The pytest plugin, exercised as a user would: a fresh project that only has bbmcheck installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bbmcheck.pytest_plugin import assert_safe, assert_violation
from bbmcheck.sequences.load import bundled_models

README = Path(__file__).resolve().parent.parent / "README.md"


def test_plugin_in_a_fresh_project(pytester):
    pytester.makepyfile(test_helper="""
        import pytest
        from bbmcheck.pytest_plugin import assert_safe, assert_violation

        @pytest.mark.bbm_levels("L0", "L2-noabort")
        def test_bbm_is_safe(bbm, bbm_level):
            assert_safe(bbm.check("ttrem0", level=bbm_level), properties=["tlb-conflict"])

        def test_seed_conflicts(bbm):
            assert_violation(bbm.check("ttrem1"), "tlb-conflict", persisting=True)

        def test_seed_is_not_safe(bbm):
            assert_safe(bbm.check("ttrem1"), properties=["tlb-conflict"])
    """)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    out = result.stdout.str()
    assert "tlb-conflict is VIOLATED only on nt_fault=never" in out
    assert "ITF trace written to " in out and "violated: tlb-conflict" in out


def test_model_files_are_test_items(pytester):
    src = bundled_models()["ttrem0"].read_text()
    pytester.makefile(".toml", good=src, bad=src.replace('invalid-window = "violated"', 'invalid-window = "holds"'))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "good.toml", "bad.toml")
    result.assert_outcomes(passed=1, failed=1)
    assert "expected claims-hold, but a claim is refuted" in result.stdout.str()


def test_assert_safe_refuses_an_incomplete_search(bbm):
    with pytest.raises(AssertionError, match="search incomplete"):
        assert_safe(bbm.check("ttrem0", max_states=10))


def test_assert_violation_fails_when_the_property_holds(bbm):
    with pytest.raises(AssertionError, match="expected stale-translation to be violated"):
        assert_violation(bbm.check("ttrem0"), "stale-translation")


def test_assert_violation_steps_are_replayed_not_compared(bbm):
    result = bbm.check("ttrem1")
    # a path the search did not report (vCPU1, and a later walk) that also shows the window
    assert_violation(result, "invalid-window", steps=["u", "u", "u", "w1.1.0"])
    with pytest.raises(AssertionError, match="do not show invalid-window"):
        assert_violation(result, "invalid-window", steps=["w1.1.0"])


def test_readme_failure_message_is_real_output(bbm, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BBMCHECK_TRACE_DIR", "traces")
    with pytest.raises(AssertionError) as err:
        assert_safe(bbm.check("ttrem1"), properties=["tlb-conflict"])
    block = re.search(r"<!-- failure-message -->\n```\n(.*?)```", README.read_text(), re.S)
    assert block, "README lacks the failure-message block"
    assert block.group(1) == str(err.value) + "\n"
    assert (tmp_path / "traces" / "ttrem1.L1.tlb-conflict.itf.json").exists()


def test_readme_shows_the_example_test_file_verbatim():
    example = (Path(__file__).parent / "test_readme_example.py").read_text()
    assert f"```python\n{example}```" in README.read_text()
