"""The Arm rules the checker applies, as data: properties, event causes, and the spec §9.3 table.

Each property names its Arm rule ids; each cause an event can carry has its severity, sentence,
rule ids and §9.3 row; each §9.3 row the model implements is listed with its outcomes per FEAT_BBM
level, its rule ids and whether it is architecture text [ARCH] or a modelling decision [INF].
Commands (``system/commands.py``) cite rows by number and causes by key; findings cite the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

PROPERTIES: tuple[str, ...] = (
    "invalid-window",
    "tlb-conflict",
    "stale-translation",
    "freed-table-walk",
    "bbm-required",
    "nt-misuse",
)


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    severity: str  # "error" or "warning"
    rules: str
    summary: str


PROPERTY_INFO: dict[str, PropertyInfo] = {
    p.name: p
    for p in (
        PropertyInfo(
            "invalid-window",
            "warning",
            "IWZCBG, RMRRPW",
            "a vCPU access to an address mapped both before and after the update takes a "
            "translation fault",
        ),
        PropertyInfo(
            "tlb-conflict",
            "error",
            "RFVQCK, I_HYQMB, RMRRPW, RFCPSG, R_FWRMB",
            "a TLB lookup can match two or more entries at a level that permits a TLB conflict abort",
        ),
        PropertyInfo(
            "stale-translation",
            "error",
            "RDDMVT, RGPPYH, RFFWJK, ITHWDH",
            "a translation from a replaced or freed descriptor is used after the update is complete, "
            "or two translations of one address differ in output address or attributes",
        ),
        PropertyInfo(
            "freed-table-walk",
            "error",
            "RRVJDB, RLXHLD, RBKKRB",
            "a walk (in flight or through a walk cache) reads a table page after it was freed",
        ),
        PropertyInfo(
            "bbm-required",
            "error",
            "RWHZWS, RDDMVT, RKFLJB, RPVTFW",
            "the change needs break-before-make at this FEAT_BBM level and the sequence does not do it",
        ),
        PropertyInfo(
            "nt-misuse",
            "error",
            "RDFJNG, IPJZBK",
            "nT set without FEAT_BBML1, or on a descriptor other than a block",
        ),
    )
}


@dataclass(frozen=True)
class Row:
    """One row of spec §9.3: event → allowed outcomes per level."""

    number: int
    event: str
    outcomes: dict[str, str]  # level value -> outcome letters (F, C, 1, A, S, U, ...)
    rules: str
    tag: str  # "ARCH" or "INF"


def _same(outcome: str) -> dict[str, str]:
    return {"L0": outcome, "L1": outcome, "L2": outcome, "L2-noabort": outcome}


ROWS: dict[int, Row] = {
    r.number: r
    for r in (
        Row(1, "walk reads an invalid entry", _same("F"), "IWZCBG", "ARCH"),
        Row(2, "walk reads valid leaf, AF=1, nT=0: translate, may be cached", _same("1"),
            "INDFND, RFFWJK", "ARCH"),
        Row(3, "walk reads valid leaf with AF=0: Access flag fault, never cached", _same("F"),
            "RXFXTY", "ARCH"),
        Row(4, "walk reads valid table entry: pointer may be cached in the walk cache", _same("1"),
            "RRVJDB", "ARCH"),
        Row(5, "walk reads block with nT=1",
            {"L0": "U", "L1": "F|1,C", "L2": "F|1,C|1", "L2-noabort": "F|1"}, "RMRRPW, IPJZBK", "ARCH"),
        Row(6, "lookup matches >=2 entries differing only in size",
            {"L0": "C,1,A", "L1": "C,1", "L2": "C,1", "L2-noabort": "1"}, "RFVQCK, RNGLXZ, I_HYQMB",
            "ARCH"),
        Row(7, "lookup matches >=2 entries differing in size and permissions",
            {"L0": "C,1,A", "L1": "C,1", "L2": "C,1", "L2-noabort": "1"}, "RJQQTC", "ARCH"),
        Row(8, "lookup matches >=2 entries differing in OA or memory attributes", _same("C,1,A"),
            "RWHZWS, RPVTFW, RFVQCK", "ARCH"),
        Row(9, "access after the new store, before a covering TLBI completed", _same("S,new"),
            "RFFWJK, RGPPYH", "ARCH"),
        Row(10, "access after a covering broadcast TLBI and the issuer's DSB ISH", _same("new"),
            "RLXHLD, RYNJCP, ICPZSM", "ARCH"),
        Row(11, "non-IS (local) TLBI: other PEs keep their entries", _same("S"), "IDMCXY, RQRNJC",
            "ARCH"),
        Row(12, "table replaced but only a leaf-only TLBI: cached table pointers survive", _same("S,U"),
            "RSQXYZ, RRVJDB", "ARCH"),
        Row(13, "TLBI with a wrong TTL hint: as if no TLBI", _same("S"), "RSQXYZ", "ARCH"),
        Row(14, "TLBI without a DSB after the invalidating store: old entry may be refetched",
            _same("S"), "RTGVWD, RDDMVT", "ARCH"),
        Row(15, "new entry written before the TLBI completed: old and new coexist", _same("C,1,A"),
            "RDDMVT", "ARCH"),
        Row(16, "invalid -> valid store: F until visible, no TLBI needed", _same("F,new"), "IWZCBG",
            "ARCH"),
        Row(17, "table<->block written directly, pure size change",
            {"L0": "C,1,A", "L1": "C,1", "L2": "C,1", "L2-noabort": "1"}, "RKFLJB, I_HYQMB", "ARCH"),
        Row(18, "nT merge: table -> block(nT=1); TLBI; nT 1->0; [TLBI]",
            {"L0": "U", "L1": "S,F,C", "L2": "S,F,C", "L2-noabort": "S,F"}, "RMRRPW, I_HYQMB", "ARCH"),
        Row(19, "nT split: block nT 0->1; TLBI; block -> table; TLBI",
            {"L0": "U", "L1": "S,F,C", "L2": "S,F,C", "L2-noabort": "S,F"}, "RMRRPW", "ARCH"),
        Row(20, "stage-2 conflict abort from a size change with BBML1/2 goes to EL2",
            {"L0": "-", "L1": "EL2", "L2": "EL2", "L2-noabort": "n/a"}, "R_FWRMB", "ARCH"),
        Row(23, "table page freed before TLBI + DSB: walks may read freed memory", _same("U"),
            "RRVJDB", "ARCH"),
    )
}


@dataclass(frozen=True)
class Cause:
    """Why an event happened: what a finding says about it."""

    severity: str  # "error", "warning" or "info" (a witness)
    text: str
    rules: str
    row: int | None  # the spec §9.3 row, when the cause is one row's outcome


CAUSES: dict[str, Cause] = {
    "invalid": Cause("warning", "translation fault: the walk reads an invalid entry", "IWZCBG", 1),
    "nt-fault": Cause("warning", "translation fault on an nT=1 block (IMPLEMENTATION DEFINED)", "RMRRPW", 5),
    "rmrrpw": Cause("error", "TLB conflict abort possible: an nT=1 block is used while an overlapping entry "
                    "is cached; at stage 2 it is taken to EL2, which KVM of the seed's era treats as fatal",
                    "RMRRPW, R_FWRMB", 5),
    "oa-attr": Cause("error", "TLB conflict abort or amalgamation: matching entries differ in output address "
                     "or memory attributes", "RFVQCK, RWHZWS", 8),
    "size": Cause("error", "TLB conflict abort possible: matching entries differ in block size; at stage 2 "
                  "it is taken to EL2", "RFVQCK, I_HYQMB, R_FWRMB", 6),
    "nt-shadow": Cause("warning", "TLB conflict abort possible: an nT=1 entry cached as a shadow and the "
                       "nT=0 entry stored after nT was cleared both match: no TLBI issued after the clear "
                       "has removed the shadow yet", "I_HYQMB, spec §8.2 item 3", 18),
    "freed": Cause("error", "the walk reads a table page that was freed (it may hold anything now)",
                   "RRVJDB, RLXHLD", 23),
    "after-completion": Cause("error", "a TLB entry that differs from the final mapping is used after the "
                              "sequence completed", "RGPPYH, RFFWJK", 9),
    "incoherent": Cause("error", "two translations of one address exist at once with different output "
                        "addresses or attributes", "ITHWDH, RWHZWS", 15),
    "nt-store-l0": Cause("error", "an nT=1 block is stored without FEAT_BBML1 (bit 16 is RES0)", "RDFJNG", 5),
    "nt-not-block": Cause("error", "nT is set on a descriptor that is not a block", "IPJZBK", 5),
    "nt-walk-l0": Cause("error", "a walk reads an nT=1 block without FEAT_BBML1: UNPREDICTABLE", "RDFJNG", 5),
    "new-mapping": Cause("info", "translates through the final mapping", "RDDMVT step 5", 10),
}
