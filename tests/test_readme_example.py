"""Property tests for a stage-2 update helper, as a kernel developer writes them with bbmcheck.

This file is shown in the README and run by the suite.
"""

import pytest

from bbmcheck.pytest_plugin import assert_reachable, assert_safe, assert_violation
from bbmcheck.sequences.edit import edit
from bbmcheck.sequences.load import load_model


@pytest.mark.bbm_levels("L0", "L1", "L2", "L2-noabort")
def test_bbm_coalesce_is_safe_at_every_level(bbm, bbm_level):
    result = bbm.check("ttrem0", level=bbm_level)
    assert_safe(result, properties=["tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required"])
    assert_reachable(result, "new-mapping-used")


def test_direct_block_write_is_safe_on_bbml2_noabort(bbm):
    assert_safe(bbm.check("ttrem2-direct", level="L2-noabort"))


def test_seed_nt_path_conflicts_after_completion(bbm):
    result = bbm.check("ttrem1")
    assert_violation(result, "tlb-conflict", when="nt_fault=never", persisting=True)


def test_dropping_the_dsb_before_the_tlbi_is_caught(bbm):
    without_dsb = edit(load_model("ttrem0"), drop=[1])  # str invalid; [dsb ishst]; tlbi; ...
    result = bbm.check(without_dsb)
    # the TLBI acts on vCPU0 before the invalid entry is visible; vCPU0 then refetches the old
    # table pointer and the old 2 MiB block; the new 1 GiB block joins them (spec row 14)
    assert_violation(result, "tlb-conflict",
                     steps=["u", "u", "t0.1", "w0.1.0", "s0", "u", "u", "u", "p0", "w0.1.0", "l0.1"])
