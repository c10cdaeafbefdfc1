"""Acceptance harness: does bbmcheck check real kernel and hypervisor C as it is written?

    python bench/real_code.py                       # every case, sources from /tmp/real15
    python bench/real_code.py --sources DIR --json  # the same table as JSON on stdout
    python bench/real_code.py --only contpte --no-mutants
    python bench/real_code.py --no-scenarios        # every case without --scenario (default scenario)
    python bench/real_code.py --auto-maps           # never pass --primitives (automatic map choice)

For each case of the table below (a real function in a real file, the bench/real scenario it needs
today, the primitive maps it wants, the FEAT_BBM levels to check, and our judgement of the function),
the harness runs the command line as a user would:

1. ``bbmcheck extract FILE --function F [--scenario S] [--primitives M] -o TMP`` (and
   ``--list-paths`` when this bbmcheck has it), and reads from stderr the paths dropped as
   contradictory, the paths that update nothing, the loop cuts, the located warnings (unknown calls)
   and any located error;
2. ``bbmcheck verify MODEL --json --no-traces --claims none --level L`` on every extracted model
   (one per control path) and level, and records each property's verdict;
3. a mutation pass: every single deletion of a ``tlbi`` or ``dsb`` line among the function's own
   program lines (not the scenario's prologue or epilogue), verified at 1 vCPU against the unmutated
   model at 1 vCPU. A mutant is *found* when its result is worse (a property newly violated, a
   violation that now persists after completion, or one violated or persisting on more
   implementations), the criterion of tests/mutation_run.py.

The sources are not in the repository. Collect them into --sources DIR under these names (the
commits are those the table was judged at; other commits work, line numbers may move):

    linux_kvm_pgtable.c  torvalds/linux          arch/arm64/kvm/hyp/pgtable.c         f6a27d6dc51b
    linux_mmu.c          torvalds/linux          arch/arm64/mm/mmu.c                  004fc58f917c
    linux_contpte.c      torvalds/linux          arch/arm64/mm/contpte.c              044d659abeec
    xen_p2m.c            xen-project/xen         xen/arch/arm/mmu/p2m.c               c447b7308b13
    gunyah_pgtable.c     quic/gunyah-hypervisor  hyp/mem/pgtable/armv8/src/pgtable.c  36ca3a2a0d89
    hafnium_mm.c         TF-Hafnium/hafnium      src/mm.c                             21bfbdc1d3df

A file that is absent is skipped with a note. The output is sorted and, with --no-timing,
byte-identical from run to run. bench/real_code.md has the table of judgements and the results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "real"

ORIGINS = {
    "linux_kvm_pgtable.c": ("torvalds/linux", "arch/arm64/kvm/hyp/pgtable.c",
                            "f6a27d6dc51b288106adaf053cff9c9b9cc12c4e"),
    "linux_mmu.c": ("torvalds/linux", "arch/arm64/mm/mmu.c", "004fc58f917cfea5d7190139e3ed1b7a13e39c25"),
    "linux_contpte.c": ("torvalds/linux", "arch/arm64/mm/contpte.c", "044d659abeec54401e2fb5ffbe1b6ecd178aa86e"),
    "xen_p2m.c": ("xen-project/xen", "xen/arch/arm/mmu/p2m.c", "c447b7308b1330ec6dcfef37220736c28f41daa0"),
    "gunyah_pgtable.c": ("quic/gunyah-hypervisor", "hyp/mem/pgtable/armv8/src/pgtable.c",
                         "36ca3a2a0d89a46e9566474586dd94f12a04e3d5"),
    "hafnium_mm.c": ("TF-Hafnium/hafnium", "src/mm.c", "21bfbdc1d3dfb34b8f6849af79a32811944baaf6"),
}

PROPERTIES = ("invalid-window", "tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required",
              "nt-misuse")
SHORT = {"invalid-window": "IW", "tlb-conflict": "TC", "stale-translation": "ST", "freed-table-walk": "FT",
         "bbm-required": "BR", "nt-misuse": "NM"}


@dataclass(frozen=True)
class Case:
    file: str  # a name of ORIGINS, looked up in --sources
    function: str
    scenario: str | None  # bench/real/<scenario>.scenario.toml, or None: no --scenario
    maps: tuple[str, ...]  # the primitive maps that fit, best first; none bundled: the tool's choice
    levels: tuple[str, ...]  # FEAT_BBM levels to verify at (the first one for the mutation pass)
    judged: str  # "correct" or "buggy": our reading of the function as its caller uses it
    why: str  # one line: what it does and why we judge so (bench/real_code.md has more)


KVM, LMM, XEN, GUN, HAF = ("linux-kvm-arm64",), ("linux-arm64-mm",), ("xen-arm",), ("gunyah",), ("hafnium",)

CASES = (
    # ---- KVM stage 2 (arch/arm64/kvm/hyp/pgtable.c)
    Case("linux_kvm_pgtable.c", "stage2_try_break_pte", "kvm_try_break_pte", KVM, ("L0",), "correct",
         "the break: CAS to a locked invalid entry, then a VMID flush for a table or a by-IPA flush for a leaf"),
    Case("linux_kvm_pgtable.c", "stage2_make_pte", "kvm_make_pte", KVM, ("L0",), "correct",
         "the make: release store of the new entry over the locked one (after a break)"),
    Case("linux_kvm_pgtable.c", "stage2_put_pte", "kvm_put_pte_table", KVM, ("L0",), "buggy",
         "unlinks a table with a by-IPA flush whose TTL hint is the table's level (fixed by 36e008323926)"),
    Case("linux_kvm_pgtable.c", "stage2_map_walker_try_leaf", "kvm_try_leaf", KVM, ("L0",), "correct",
         "replaces a leaf by another leaf: break, CMOs, make"),
    Case("linux_kvm_pgtable.c", "stage2_map_walk_table_pre", "kvm_table_pre", KVM, ("L0",), "correct",
         "coalesces a table into a block: break with a VMID flush, make, free the old table"),
    Case("linux_kvm_pgtable.c", "stage2_map_walk_leaf", "kvm_walk_leaf", KVM, ("L0",), "correct",
         "splits a block into a new empty table: break with a by-IPA flush, make the table entry"),
    Case("linux_kvm_pgtable.c", "stage2_unmap_walker", "kvm_unmap_walker", KVM, ("L0",), "buggy",
         "unmaps a leaf or an emptied table through stage2_put_pte (the table's TTL hint: 36e008323926)"),
    Case("linux_kvm_pgtable.c", "hyp_unmap_walker", "kvm_hyp_unmap", KVM, ("L0",), "correct",
         "EL2 stage-1 unmap of a leaf: clear, DSB ISHST, TLBI VALE2IS, DSB ISH, ISB (its table path has the "
         "TTL-hint bug of stage2_put_pte; not exercised)"),
    Case("linux_kvm_pgtable.c", "stage2_attr_walker", "kvm_attr_walker", KVM, ("L0",), "correct",
         "changes permission/AF bits of a live leaf in place (no BBM needed; caller flushes)"),
    # ---- Linux kernel mappings (arch/arm64/mm/mmu.c)
    Case("linux_mmu.c", "unmap_hotplug_pte_range", "mmu_unmap_pte_range", LMM, ("L0",), "correct",
         "hot-remove: clear each live pte and flush that page from the TLB"),
    Case("linux_mmu.c", "unmap_hotplug_pmd_range", "mmu_unmap_pmd_range", LMM, ("L0",), "correct",
         "hot-remove: clear a 2 MiB section with one by-VA flush, or descend into its pte table"),
    Case("linux_mmu.c", "free_empty_pte_table", "mmu_free_pte_table", LMM, ("L0",), "correct",
         "unlinks an empty pte table, flushes the walk cache for it, then frees the page"),
    Case("linux_mmu.c", "pmd_free_pte_page", "mmu_free_pte_page", LMM, ("L0",), "correct",
         "ioremap: unlinks a pte table under a pmd, flushes, frees (the caller then writes a block)"),
    Case("linux_mmu.c", "pmd_set_huge", "mmu_pmd_set_huge", LMM, ("L0",), "correct",
         "writes a section entry, refusing any live change except permissions"),
    Case("linux_mmu.c", "alloc_init_cont_pte", "mmu_alloc_init_cont_pte", LMM, ("L0",), "correct",
         "links a new pte table into an empty pmd, then fills ptes (only safe changes of live ones)"),
    # ---- Linux contiguous ptes (arch/arm64/mm/contpte.c)
    Case("linux_contpte.c", "contpte_convert", "contpte_convert", LMM, ("L0",), "correct",
         "fold/unfold: clear all 16 ptes, flush the range, write the new 16 (BBM over the block)"),
    Case("linux_contpte.c", "__contpte_try_unfold", "contpte_unfold", LMM, ("L0",), "correct",
         "unfold a contiguous range through contpte_convert (user mm only)"),
    # ---- Xen on Arm p2m (xen/arch/arm/mmu/p2m.c)
    Case("xen_p2m.c", "__p2m_set_entry", "xen_p2m_set_entry", XEN, ("L0",), "correct",
         "replace/remove a p2m entry: split a superpage with BBM, remove, flush synchronously, write"),
    Case("xen_p2m.c", "p2m_free_entry", "xen_p2m_free_entry", XEN, ("L0",), "correct",
         "frees an unlinked subtree; flushes (if a flush is pending) before freeing each table page"),
    Case("xen_p2m.c", "p2m_create_table", "xen_p2m_create_table", XEN, ("L0",), "correct",
         "links a zeroed table into an invalid entry with write_pte (no break needed)"),
    Case("xen_p2m.c", "p2m_invalidate_table", "xen_p2m_invalidate_table", XEN, ("L0",), "correct",
         "clears the valid bit of every entry of a table; the flush is deferred to the caller"),
    # ---- Gunyah (hyp/mem/pgtable/armv8/src/pgtable.c)
    Case("gunyah_pgtable.c", "pgtable_split_block", "gunyah_split_block", GUN, ("L0",), "correct",
         "split a block: invalid (L0) or nT (L1) entry, TLBI, fill the new table, link it"),
    Case("gunyah_pgtable.c", "pgtable_maybe_merge_block", "gunyah_merge_block", GUN, ("L0",), "correct",
         "merge a table into a block (BBM level 0 build): break, TLBI each page, VMALLE1, write the block, free"),
    # ---- Hafnium (src/mm.c)
    Case("hafnium_mm.c", "mm_replace_entry", "hafnium_replace_entry", HAF, ("L0",), "correct",
         "break (if valid and invalidation on), range TLBI, write the new entry, free the old subtree"),
    Case("hafnium_mm.c", "mm_populate_table_pte", "hafnium_populate_table", HAF, ("L0",), "correct",
         "split a block into a filled table through mm_replace_entry"),
    Case("hafnium_mm.c", "mm_free_page_pte", "hafnium_free_page_pte", HAF, ("L0",), "correct",
         "frees an already unlinked subtree, recursively (no live entry changes)"),
)


# ---------------------------------------------------------------------------------------------
# running bbmcheck


def bbmcheck_cmd() -> list[str]:
    """``sys.executable -m bbmcheck`` when the package runs as a module, else its script."""
    probe = subprocess.run([sys.executable, "-m", "bbmcheck", "--help"], capture_output=True, text=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "bbmcheck"]
    script = Path(sys.executable).parent / "bbmcheck"
    if script.exists():
        return [str(script)]
    found = shutil.which("bbmcheck")
    if found:
        return [found]
    raise SystemExit("real_code.py: no bbmcheck next to this Python (install it, e.g. pip install -e .)")


@dataclass
class Tool:
    cmd: list[str]
    list_paths: bool
    maps: tuple[str, ...]  # bundled primitive maps

    def run(self, args: list[str], timeout: float) -> tuple[int, str, str, float]:
        t0 = time.perf_counter()
        try:
            p = subprocess.run(self.cmd + args, capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, "PYTHONHASHSEED": "0"})
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            return -1, out, f"harness timeout after {timeout:.0f} s", time.perf_counter() - t0
        return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def probe_tool() -> Tool:
    cmd = bbmcheck_cmd()
    helptext = subprocess.run(cmd + ["extract", "--help"], capture_output=True, text=True).stdout
    maps: tuple[str, ...] = ()
    try:
        from importlib import resources

        folder = resources.files("bbmcheck.extract") / "primitives"
        maps = tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))
    except Exception:  # noqa: BLE001 - another layout: every map is tried on the command line
        maps = ()
    return Tool(cmd, "--list-paths" in helptext, maps)


# ---------------------------------------------------------------------------------------------
# extraction

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<kind>error|warning): (?P<msg>.*)$")


@dataclass
class Extraction:
    code: int
    seconds: float
    models: list[Path]
    warnings: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    notes: list[str]
    pruned: int
    no_update: int
    skipped: int
    loop_cut: int
    listed: list[str] | None
    args: list[str]


def located(stderr: str, sources: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    warnings: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    notes: list[str] = []
    for line in stderr.splitlines():
        m = LOCATED.match(line)
        if m:
            where = m.group("file")
            try:
                where = str(Path(where).resolve().relative_to(sources.resolve()))
            except ValueError:
                try:
                    where = str(Path(where).resolve().relative_to(HERE.parent))
                except ValueError:
                    where = Path(where).name
            msg = re.sub(r"primitive map \S*/([A-Za-z0-9_.-]+)\.toml", r"primitive map \1", m.group("msg"))
            item = {"file": where, "line": int(m.group("line")), "col": int(m.group("col")), "message": msg}
            (errors if m.group("kind") == "error" else warnings).append(item)
        elif line.startswith("bbmcheck: wrote "):
            continue
        elif line.startswith("bbmcheck: "):
            notes.append(line.removeprefix("bbmcheck: "))
        elif line.strip() and not line.startswith(("Traceback", "  ")):
            notes.append(line.strip())
    return warnings, errors, notes


def natural(path: Path) -> list[Any]:
    """Sort key: p2 before p10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def path_id(model: str, function: str, n: int) -> str:
    """The path's own short name when bbmcheck gives one (FUNCTION.p3 or FUNCTION.p3.SITUATION), else pN."""
    if model.startswith(function + "."):
        rest = model[len(function) + 1:]
        if re.match(r"p\d+(\.|$)", rest):
            return rest
    return f"p{n}"


def choose_map(tool: Tool, case: Case, auto: bool) -> str | None:
    if auto:
        return None
    for name in case.maps:
        if name in tool.maps:
            return name
    return None  # none of the fitting maps is bundled: the tool's own choice (its default)


def extract(tool: Tool, code: Path, case: Case, scenario: Path | None, pmap: str | None, out: Path,
            sources: Path, timeout: float) -> Extraction:
    args = ["extract", str(code), "--function", case.function]
    if scenario is not None:
        args += ["--scenario", str(scenario)]
    if pmap is not None:
        args += ["--primitives", pmap]
    listed = None
    if tool.list_paths:
        rc, stdout, _, _ = tool.run(args + ["--list-paths"], timeout)
        # one line per model: "p3  function.p3.table  5 instructions  conditions"; "note: ..." lines
        listed = [line for line in stdout.splitlines() if re.match(r"p\d+\s", line)] if rc == 0 else None
    rc, _, stderr, seconds = tool.run(args + ["-o", str(out)], timeout)
    warnings, errors, notes = located(stderr, sources)
    if rc not in (0, 2) and not errors:
        errors.append({"file": "", "line": 0, "col": 0, "message": f"exit status {rc}: " +
                       (stderr.strip().splitlines() or ["(no message)"])[-1]})
    models = sorted(out.glob("*.toml"), key=natural) if out.is_dir() else []

    def count(pattern: str) -> int:
        total = 0
        for n in notes:
            m = re.search(pattern, n)
            if m:
                total += int(m.group("n")) if "n" in m.groupdict() else 1
        return total

    return Extraction(rc, seconds, models, warnings, errors, notes,
                      pruned=count(r"^(?P<n>\d+) path\(s\) dropped"),
                      no_update=count(r"^path (?:p\d+ )?\[.*\] makes no page-table update"),
                      skipped=count(r"^path (?:p\d+ )?\[.*\] skipped:") + count(r"no standard situation fits"),
                      loop_cut=sum(int(m.group(1)) for w in warnings
                                   for m in [re.search(r"(\d+) path\(s\) that would run it again", w["message"])] if m),
                      listed=listed, args=args)


# ---------------------------------------------------------------------------------------------
# verification


@dataclass
class Verdicts:
    level: str
    code: int
    seconds: float
    verdict: dict[str, str] = field(default_factory=dict)  # property -> violated / holds / unknown
    profile: dict[str, tuple[list[str], list[str], bool]] = field(default_factory=dict)
    universe: list[str] = field(default_factory=list)
    error: str = ""
    states: int = 0

    def violated(self) -> list[str]:
        return [p for p in PROPERTIES if self.verdict.get(p) == "violated"]

    def alarm(self) -> bool:
        """A violation other than invalid-window (a false alarm for a correct function)."""
        return any(p != "invalid-window" for p in self.violated())


_CACHE: dict[tuple[str, str | None, int | None], Verdicts] = {}


def verify(tool: Tool, model: Path, level: str | None, vcpus: int | None, budget: argparse.Namespace) -> Verdicts:
    """Verify one model file; a model whose text differs from one verified before only in its
    name, title and source has the same result (bbmcheck's output is deterministic) and is not
    verified again (its time is then 0)."""
    text = model.read_text(encoding="utf-8")
    key = ("\n".join(line for line in text.split("\n") if not line.startswith(("name = ", "title = ", "source = "))),
           level, vcpus)
    if key in _CACHE:
        hit = _CACHE[key]
        return Verdicts(hit.level, hit.code, 0.0, dict(hit.verdict), dict(hit.profile), list(hit.universe),
                        hit.error, hit.states)
    v = _verify(tool, model, level, vcpus, budget)
    _CACHE[key] = v
    return v


def _verify(tool: Tool, model: Path, level: str | None, vcpus: int | None, budget: argparse.Namespace) -> Verdicts:
    args = ["verify", str(model), "--json", "--no-traces", "--claims", "none", "--jobs", "1",
            "--timeout", str(budget.timeout), "--max-states", str(budget.max_states)]
    if level is not None:
        args += ["--level", level]
    if vcpus is not None:
        args += ["--vcpus", str(vcpus)]
    rc, stdout, stderr, seconds = tool.run(args, budget.timeout * 2 + 60)
    v = Verdicts(level or "", rc, seconds)
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        v.error = (lines[-1] if lines else f"exit status {rc}, no JSON")[:300]
        return v
    v.level = str(doc.get("level", level or ""))
    v.universe = list(doc.get("universe", []))
    v.states = int(doc.get("stats", {}).get("states", 0))
    for f in doc.get("findings", []):
        prop = f.get("property", "?")
        v.verdict[prop] = str(f.get("verdict", "?"))
        if v.verdict[prop] == "violated":
            v.profile[prop] = (sorted(f.get("violated_on", [])), sorted(f.get("persisting_on", [])),
                               bool(f.get("persisting")))
    return v


def worse(orig: Verdicts, mut: Verdicts) -> str:
    """Why the mutant's result is worse than the original's ('' if it is not): the criterion of
    tests/mutation_run.py, on the JSON report."""
    same = orig.universe == mut.universe
    for prop, (on, pers_on, pers) in sorted(mut.profile.items()):
        if prop not in orig.profile:
            return f"{prop} newly violated"
        o_on, o_pers_on, o_pers = orig.profile[prop]
        if pers and not o_pers:
            return f"{prop} now persists after completion"
        if same and not set(on) <= set(o_on):
            return f"{prop} violated on more implementations"
        if same and not set(pers_on) <= set(o_pers_on):
            return f"{prop} persists on more implementations"
    return ""


# ---------------------------------------------------------------------------------------------
# model files


def program_block(text: str) -> tuple[int, int]:
    """(first, end) line indices of the program lines in a model file written by extract."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("program = '''")) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "'''")
    return start, end


def model_field(text: str, key: str) -> str:
    m = re.search(rf'^{key} = "((?:[^"\\]|\\.)*)"', text, re.M)
    return json.loads(f'"{m.group(1)}"') if m else ""


def program_text(text: str) -> str:
    start, end = program_block(text)
    return "\n".join(text.split("\n")[start:end])


def scenario_context(scenario: Path | None) -> tuple[int, int]:
    """(prologue lines, epilogue lines) the scenario adds around the function's own."""
    if scenario is None:
        return 0, 0
    try:
        data = tomllib.loads(scenario.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return 0, 0
    return len(data.get("prologue", [])), len(data.get("epilogue", []))


def own_lines(code: Path, case: Case, scenario: Path | None, pmap: str | None) -> dict[str, tuple[str, ...]]:
    """Model name -> the function's own instruction lines, from bbmcheck's Python API (Extracted.lines):
    the only way to tell them from a context the default scenario adds. {} when the API differs."""
    try:
        from bbmcheck.extract.extract import extract as api_extract

        models, _ = api_extract(str(code), case.function, str(scenario) if scenario else None, primitives=pmap)
        return {m.sequence.name: tuple(m.lines) for m in models}
    except Exception:  # noqa: BLE001 - another API, or a refusal the command line reports anyway
        return {}


def body_span(text: str, context: tuple[int, int], own: tuple[str, ...] | None) -> range:
    """The line indices of the function's own program lines in a model file: where ``own`` (from the
    API) occurs in the program, else the program less the scenario's prologue and epilogue."""
    start, end = program_block(text)
    lines = [" ".join(line.split("//")[0].split()) for line in text.split("\n")]
    if own:
        want = [" ".join(line.split()) for line in own]
        for i in range(start, end - len(want) + 1):
            if lines[i:i + len(want)] == want:
                return range(i, i + len(want))
    pro, epi = context
    return range(start + pro, end - epi)


def mutants(text: str, body: range) -> list[tuple[str, str]]:
    """(description, model text) for each deletion of one tlbi or dsb among the function's lines."""
    lines = text.split("\n")
    out = []
    for n, i in enumerate(body):
        op = lines[i].split("//")[0].strip().split(" ")[0].lower()
        if op in ("tlbi", "dsb"):
            mutated = lines[:i] + lines[i + 1:]
            out.append((f"delete body line {n + 1} '{lines[i].strip()}'", "\n".join(mutated)))
    return out


# ---------------------------------------------------------------------------------------------
# one case


def run_case(tool: Tool, case: Case, sources: Path, opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    code = sources / case.file
    row: dict[str, Any] = {"file": case.file, "function": case.function, "judged": case.judged, "why": case.why,
                           "origin": dict(zip(("repo", "path", "commit"), ORIGINS.get(case.file, ("", "", "")),
                                              strict=True))}
    if not code.is_file():
        row["outcome"] = "skipped"
        row["note"] = f"{code} is absent"
        return row
    scenario = None
    if case.scenario is not None and not opts.no_scenarios:
        scenario = SCENARIOS / f"{case.scenario}.scenario.toml"
        if not scenario.is_file():
            row["outcome"] = "harness error"
            row["note"] = f"missing scenario {scenario.relative_to(HERE.parent)}"
            return row
    pmap = choose_map(tool, case, opts.auto_maps)
    row["scenario"] = str(scenario.relative_to(HERE.parent)) if scenario else None
    row["primitives"] = pmap or "(tool default)"
    out = work / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{case.file}-{case.function}")
    ex = extract(tool, code, case, scenario, pmap, out, sources, opts.timeout)
    seconds = ex.seconds
    row["extract"] = {"exit": ex.code, "warnings": ex.warnings, "errors": ex.errors, "notes": ex.notes,
                      "listed_paths": ex.listed}
    after = len(ex.models) + ex.no_update + ex.skipped
    row["paths"] = {"before_pruning": after + ex.pruned, "after_pruning": after, "pruned": ex.pruned,
                    "models": len(ex.models), "no_update": ex.no_update, "skipped": ex.skipped,
                    "loop_cut": ex.loop_cut}
    if ex.listed is not None:
        row["paths"]["listed"] = len(ex.listed)
    programs = {program_text(m.read_text(encoding="utf-8")) for m in ex.models}
    row["paths"]["distinct_programs"] = len(programs)
    row["unknown_calls"] = sorted({m.group(1) for w in ex.warnings
                                   for m in [re.match(r"unknown call '([^']*)'", w["message"])] if m})
    if not opts.no_from_code:
        fc = ["verify", "--from-code", str(code), "--function", case.function, "--json", "--no-traces",
              "--claims", "none", "--jobs", "1", "--timeout", str(opts.timeout), "--max-states", str(opts.max_states)]
        fc += ["--scenario", str(scenario)] if scenario is not None else []
        fc += ["--primitives", pmap] if pmap is not None else []
        rc, stdout, stderr, secs = tool.run(fc, opts.timeout * 2 + 60)
        seconds += secs
        _, errs, _ = located(stderr, sources)
        try:
            doc = json.loads(stdout)
            reports = len(doc) if isinstance(doc, list) else 1
        except json.JSONDecodeError:
            reports = 0
        row["from_code_json"] = {"exit": rc, "reports": reports, "error": errs[0]["message"] if errs else ""}
    levels = tuple(opts.level) if opts.level else case.levels
    paths = []
    context = scenario_context(scenario)
    own = own_lines(code, case, scenario, pmap) if ex.models else {}
    mut_tried = mut_found = 0
    survivors: list[str] = []
    budget = opts
    for n, model in enumerate(ex.models, 1):
        text = model.read_text(encoding="utf-8")
        start, end = program_block(text)
        name = model_field(text, "name")
        span = body_span(text, context, own.get(name))
        prow: dict[str, Any] = {"id": path_id(name, case.function, n), "model": name,
                                "title": model_field(text, "title"), "program_lines": end - start,
                                "body_lines": len(span), "body_from": "api" if name in own else "scenario",
                                "levels": {}}
        for level in levels:
            v = verify(tool, model, level, None, budget)
            seconds += v.seconds
            prow["levels"][level] = {"exit": v.code, "verdicts": {p: v.verdict.get(p, "-") for p in PROPERTIES},
                                     "alarm": v.alarm(), "states": v.states, "error": v.error}
        paths.append(prow)
    row["path_results"] = paths
    # mutation pass: the first level, 1 vCPU, each mutant against its unmutated model
    if not opts.no_mutants and ex.models:
        level = levels[0]
        cands: list[tuple[str, Path, str, str]] = []  # (path id, model, description, text)
        seen: set[str] = set()
        for prow, model in zip(paths, ex.models, strict=True):
            mtext = model.read_text(encoding="utf-8")
            for desc, text in mutants(mtext, body_span(mtext, context, own.get(model_field(mtext, "name")))):
                key = text.split("'''")[1] if "'''" in text else text  # same program: the same mutant
                if key in seen:
                    continue
                seen.add(key)
                cands.append((prow["id"], model, desc, text))
        if len(cands) > opts.max_mutants:  # evenly spread, deterministic
            step = len(cands) / opts.max_mutants
            cands = [cands[int(k * step)] for k in range(opts.max_mutants)]
        originals: dict[Path, Verdicts] = {}
        details: list[dict[str, Any]] = []
        for pid, model, desc, text in cands:
            if model not in originals:
                originals[model] = verify(tool, model, level, 1, budget)
                seconds += originals[model].seconds
            if any(v == "unknown" for v in originals[model].verdict.values()) or originals[model].error:
                details.append({"path": pid, "mutant": desc, "found": False, "why": "", "error": "",
                                "skipped": "the unmutated model is inconclusive"})
                continue
            mfile = model.with_name(model.stem + f".mut{len(details) + 1}.toml")
            mfile.write_text(text, encoding="utf-8")
            mv = verify(tool, mfile, level, 1, budget)
            seconds += mv.seconds
            why = worse(originals[model], mv) if not mv.error else ""
            mut_tried += 1
            if why:
                mut_found += 1
            else:
                survivors.append(f"{pid}: {desc}" + (f" ({mv.error})" if mv.error else ""))
            details.append({"path": pid, "mutant": desc, "found": bool(why), "why": why, "error": mv.error})
        row["mutants"] = {"tried": mut_tried, "found": mut_found, "level": level, "details": details,
                          "skipped": sum(1 for d in details if d.get("skipped"))}
    row["seconds"] = round(seconds, 1)
    row["outcome"] = outcome(row, ex)
    return row


def outcome(row: dict[str, Any], ex: Extraction) -> str:
    if ex.errors and not ex.models:
        if all(e["message"].startswith("no path of ") for e in ex.errors):
            return "no model"  # every path was found to update nothing (unknown helpers, plain stores)
        return "refused" if ex.code == 2 else "tool error"
    if not ex.models:
        return "no model"
    verified = [lv for p in row["path_results"] for lv in p["levels"].values()]
    if any(lv["error"] or lv["exit"] not in (0, 1, 3) for lv in verified):
        return "tool error"
    alarm = any(lv["alarm"] for lv in verified)
    unknown = any(v == "unknown" for lv in verified for v in lv["verdicts"].values())
    if row["judged"] == "correct":
        return "false alarm" if alarm else ("inconclusive" if unknown else "ok")
    return "bug found" if alarm else ("inconclusive" if unknown else "bug missed")


# ---------------------------------------------------------------------------------------------
# report


def verdict_cell(row: dict[str, Any]) -> str:
    """Paths grouped by level and by what they violate: 'L0: IW x54; IW,TC,ST,BR x15 (p2 p14 p20 ...)'."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in row.get("path_results", []):
        for level, lv in p["levels"].items():
            if lv["error"]:
                what = "error"
            else:
                bad = [SHORT[k] for k in PROPERTIES if lv["verdicts"].get(k) == "violated"]
                unk = [SHORT[k] + "?" for k in PROPERTIES if lv["verdicts"].get(k) == "unknown"]
                what = ",".join(bad + unk) or "none"
            groups.setdefault((level, what), []).append(p["id"])
    cells = []
    for (level, what), ids in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
        shown = " ".join(ids[:4]) + (" ..." if len(ids) > 4 else "")
        cells.append(f"{level} {what}: {len(ids)} ({shown})")
    return "<br>".join(cells) if cells else "-"


MAX_NOTES = 8


def markdown(rows: list[dict[str, Any]], tool: Tool, timing: bool) -> str:
    out = ["# bbmcheck on real code", "",
           f"bbmcheck: `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(tool.cmd))}`; "
           f"bundled maps: {', '.join(tool.maps) or '?'}; extract --list-paths: "
           f"{'yes' if tool.list_paths else 'no'}", "",
           "Verdicts list the violated properties per path and level (IW invalid-window, TC tlb-conflict, "
           "ST stale-translation, FT freed-table-walk, BR bbm-required, NM nt-misuse; `X?` unknown). "
           "'alarm' is a violation other than invalid-window on some path.", "",
           "| function | file | paths (before / after pruning) | models (distinct programs) | unknown calls "
           "| violated: paths (ids) | alarm | judged | outcome | mutants found / tried |"
           + (" time (s) |" if timing else ""),
           "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if timing else "")]
    for r in rows:
        if r.get("outcome") in ("skipped", "harness error"):
            out.append(f"| {r['function']} | {r['file']} | - | - | - | - | - | {r['judged']} | {r['outcome']}: "
                       f"{r.get('note', '')} | - |" + (" - |" if timing else ""))
            continue
        pa = r["paths"]
        alarm = any(lv["alarm"] for p in r["path_results"] for lv in p["levels"].values())
        mut = r.get("mutants")
        mcell = f"{mut['found']} / {mut['tried']}" if mut else "-"
        failed = bool(r["extract"]["errors"]) and not pa["models"] and r["outcome"] != "no model"
        counts = "? / ?" if failed else f"{pa['before_pruning']} / {pa['after_pruning']}"
        out.append(f"| {r['function']} | {r['file']} | {counts} | {pa['models']} ({pa['distinct_programs']}) | "
                   f"{len(r['unknown_calls'])} | {verdict_cell(r)} | {'yes' if alarm else 'no'} | {r['judged']} | "
                   f"{r['outcome']} | {mcell} |" + (f" {r['seconds']} |" if timing else ""))
    out += ["", "## Details", ""]
    for r in rows:
        out.append(f"### {r['function']} ({r['file']}): {r.get('outcome')}")
        out.append("")
        if r.get("note"):
            out.append(f"- {r['note']}")
        if "extract" not in r:
            out.append("")
            continue
        out.append(f"- scenario: {r['scenario'] or '(none)'}; primitives: {r['primitives']}")
        for e in r["extract"]["errors"]:
            where = f" {e['file']}:{e['line']}:{e['col']}" if e["file"] else ""
            out.append(f"- error{where}: {e['message']}")
        if r["unknown_calls"]:
            out.append(f"- unknown calls (ignored): {', '.join(f'`{c}`' for c in r['unknown_calls'])}")
        for w in r["extract"]["warnings"]:
            if not w["message"].startswith("unknown call "):
                out.append(f"- warning {w['file']}:{w['line']}:{w['col']}: {w['message']}")
        fc = r.get("from_code_json")
        if fc:
            out.append(f"- `verify --from-code ... --json`: exit {fc['exit']}"
                       + (f", {fc['reports']} JSON report(s)" if fc["reports"] else "")
                       + (f": {fc['error']}" if fc["error"] else ""))
        notes = r["extract"]["notes"]
        for n in notes[:MAX_NOTES]:
            out.append(f"- note: {n[:400]}")
        if len(notes) > MAX_NOTES:
            out.append(f"- ({len(notes) - MAX_NOTES} more notes in --json)")
        for p in r["path_results"]:
            for level, lv in p["levels"].items():
                bad = [k for k in PROPERTIES if lv["verdicts"].get(k) == "violated"]
                out.append(f"- {p['id']}@{level} ({p['body_lines']} lines of its own): "
                           f"{', '.join(bad) or 'no violation'}{' ERROR ' + lv['error'] if lv['error'] else ''}"
                           f" -- {p['title'][:300]}")
        mut = r.get("mutants")
        if mut:
            if mut["skipped"]:
                out.append(f"- {mut['skipped']} mutant(s) not tried: the unmutated model is inconclusive")
            for d in mut["details"]:
                if not d["found"] and not d.get("skipped"):
                    error = f" ({d['error']})" if d["error"] else ""
                    out.append(f"- mutant survived: {d['path']}: {d['mutant']}{error}")
        out.append("")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", default="/tmp/real15", help="folder of the real files (default /tmp/real15)")
    ap.add_argument("--only", action="append", default=[], help="only cases whose file or function contains this")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of markdown")
    ap.add_argument("--no-mutants", action="store_true", help="skip the mutation pass")
    ap.add_argument("--max-mutants", type=int, default=12, help="mutants per function at most (default 12)")
    ap.add_argument("--no-scenarios", action="store_true", help="run every case without --scenario")
    ap.add_argument("--no-from-code", action="store_true", help="skip the 'verify --from-code --json' run")
    ap.add_argument("--auto-maps", action="store_true", help="never pass --primitives")
    ap.add_argument("--level", action="append", help="verify at this level instead of each case's (repeatable)")
    ap.add_argument("--timeout", type=float, default=120.0, help="bbmcheck --timeout per command (default 120)")
    ap.add_argument("--max-states", type=int, default=500_000, help="bbmcheck --max-states (default 500000)")
    ap.add_argument("--no-timing", action="store_true", help="leave wall times out (byte-identical output)")
    ap.add_argument("--keep", metavar="DIR", help="keep the extracted models and mutants in DIR")
    opts = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the temporary folder is removed
    sources = Path(opts.sources)
    tool = probe_tool()
    cases = sorted((c for c in CASES if not opts.only or any(s in c.file or s in c.function for s in opts.only)),
                   key=lambda c: (c.file, c.function))
    work = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="real_code."))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for case in cases:
            sys.stderr.write(f"real_code: {case.file} {case.function}\n")
            rows.append(run_case(tool, case, sources, opts, work))
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    if opts.no_timing:
        for r in rows:
            r.pop("seconds", None)
    if opts.json:
        doc = {"tool": {"command": [Path(c).name for c in tool.cmd[:1]] + tool.cmd[1:], "maps": list(tool.maps),
                        "list_paths": tool.list_paths},
               "sources": {k: dict(zip(("repo", "path", "commit"), v, strict=True))
                           for k, v in sorted(ORIGINS.items())},
               "cases": rows}
        sys.stdout.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    else:
        sys.stdout.write(markdown(rows, tool, not opts.no_timing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
