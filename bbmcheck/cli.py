"""The command line: ``bbmcheck verify`` and ``bbmcheck list``.

Thin by design: parse options into :class:`bbmcheck.verify.Options`, call the library, render.
Exit codes: 0 every claim holds, 1 a claim is refuted, 2 bad input or usage, 3 inconclusive
(state or time cap, or a vacuous model), 4 internal error (for example a counterexample that
failed to replay). Errors are one line ``file:line:col: error: ...`` on stderr; the command line
itself is the file ``<command-line>``.
"""

from __future__ import annotations

import os
import re
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from .arch.config import ChoiceSpace, FeatBBM, L2Nt, NtCache, NtFault, Rmrrpw
from .errors import InputError, did_you_mean
from .report.escape import terminal
from .sequences.load import bundled_models, load_model, resolve
from .sequences.schema import Sequence

if TYPE_CHECKING:
    from .extract.extract import Extracted
    from .verify import Options

E = TypeVar("E", bound=Enum)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Model checker for Arm break-before-make safety of live translation-table updates.")

_ARGV: list[str] = []
CLAIM_MODES = ("model", "none")


def _opt_error(option: str, message: str) -> InputError:
    return InputError("<command-line>", 1, _argv_col(option), message)


def _argv_col(needle: str, last: bool = False) -> int:
    col, found = 1, 1
    for arg in _ARGV:
        if arg == needle or arg.startswith(needle + "="):
            if not last:
                return col
            found = col
        col += len(arg) + 1
    return found


def _enum(option: str, value: str, enum: type[E], both: bool = True) -> tuple[E, ...]:
    """Parse an enum option; 'both' (or 'all') means every value."""
    words = [e.value for e in enum]
    if both and value.lower() in ("both", "all"):
        return tuple(enum)
    for e in enum:
        if e.value.lower() == value.lower():
            return (e,)
    allowed = ", ".join(words + (["both"] if both else []))
    raise _opt_error(option, f"invalid value '{value}' for {option} (expected one of {allowed})"
                     + did_you_mean(value, words))


@app.command()
def verify(
    model: Annotated[str | None, typer.Argument(help="A bundled model name (see 'bbmcheck list') or a model "
                                                "file.")] = None,
    level: Annotated[str | None, typer.Option(help="FEAT_BBM level: L0, L1, L2 or L2-noabort "
                                              "(default: the model's).")] = None,
    vcpus: Annotated[int | None, typer.Option(help="Observer vCPUs, any number from 1 (default: the model's); "
                                              "more than the vCPU cutoff needs are answered by its search.")] = None,
    cutoff: Annotated[bool, typer.Option(help="Answer --vcpus above the cutoff by the cutoff's smaller search "
                                         "(--no-cutoff: search them all, at most 64).")] = True,
    decompose: Annotated[bool, typer.Option(help="Search each representative address on its own, alike ones "
                                            "once (--no-decompose: all together, one search).")] = True,
    jobs: Annotated[int | None, typer.Option(help="Worker processes for the per-address searches "
                                             "(default: one per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Run the per-address searches on a Dask cluster: a "
                                                  "scheduler address, or 'local' (needs the extra: "
                                                  "pip install 'bbmcheck\\[cluster]').")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
    timing: Annotated[bool, typer.Option("--timing", help="Include wall time in --json output.")] = False,
    max_states: Annotated[int, typer.Option(help="Stop with UNKNOWN after this many states.")] = 2_000_000,
    timeout: Annotated[float | None, typer.Option(help="Stop with UNKNOWN after this many seconds.")] = None,
    symmetry: Annotated[bool, typer.Option(help="Treat vCPUs as interchangeable (symmetry reduction).")] = True,
    evictions: Annotated[bool, typer.Option(help="Also explore TLB evictions (same verdicts; slower).")] = False,
    nt_fault: Annotated[str, typer.Option(help="nT=1 use faults: always, never or both (RMRRPW).")] = "both",
    nt_cache: Annotated[str, typer.Option(help="nT=1 entries cached as shadows: none, shadow or both.")] = "both",
    l2_nt: Annotated[str, typer.Option(help="A level-2 PE honours or ignores nT: honours, ignores or both.")] = "both",
    rmrrpw: Annotated[str, typer.Option(help="Reading of RMRRPW: overlap (default) or literal.")] = "overlap",
    traces: Annotated[bool, typer.Option(help="Show counterexample step tables (with --json: embed each "
                                         "counterexample's ITF document and steps).")] = True,
    trace_out: Annotated[str | None, typer.Option(help="Write every counterexample into this folder.")] = None,
    from_code: Annotated[str | None, typer.Option(help="Extract the models from this C, assembly or diff file "
                                                  "instead (with --function and --scenario).")] = None,
    function: Annotated[str | None, typer.Option(help="With --from-code: the function to extract.")] = None,
    scenario: Annotated[str | None, typer.Option(help="With --from-code: the scenario file.")] = None,
    primitives: Annotated[str | None, typer.Option(help="With --from-code: primitive map (file or bundled "
                                                   "name).")] = None,
    strict: Annotated[bool, typer.Option(help="With --from-code: refuse calls the primitive map does not know "
                                         "and unknown assembly instructions (default: warn and ignore).")] = False,
    format: Annotated[str, typer.Option(help="Trace formats for --trace-out, comma-separated: "
                                        "itf,text,mermaid,dot,html,sarif.")] = "itf",
    engine: Annotated[str, typer.Option(help="explicit (breadth-first search, the default) or bmc (bounded "
                                        "model checking with z3).")] = "explicit",
    bound: Annotated[int | None, typer.Option(help="Depth bound: BMC's unrolling (default 24), or a bound on "
                                              "the explicit search's paths.")] = None,
    claims: Annotated[str, typer.Option(help="model: judge the verdicts against the model's [claims] (a model "
                                        "without that table makes none); none: report verdicts only, exit 1 "
                                        "only on an error-severity violation.")] = "model",
) -> int:
    """Explore every interleaving of the model's update with concurrent vCPU walks."""
    from .verify import Options

    lvl = _level(level)
    if vcpus is not None and vcpus < 1:
        raise _opt_error("--vcpus", f"--vcpus must be a whole number from 1, got {vcpus}")
    if max_states < 1:
        raise _opt_error("--max-states", f"--max-states must be positive, got {max_states}")
    if timeout is not None and not 0 < timeout < 10**7:  # nan and inf too: the timer cannot be set to them
        raise _opt_error("--timeout", f"--timeout must be a positive number of seconds, got {timeout}")
    if engine not in ("explicit", "bmc"):
        raise _opt_error("--engine", f"invalid value '{engine}' for --engine (expected one of explicit, bmc)"
                         + did_you_mean(engine, ["explicit", "bmc"]))
    if bound is not None and not 1 <= bound <= 200:
        raise _opt_error("--bound", f"--bound must be 1..200 steps, got {bound}")
    if engine == "bmc" and evictions:
        raise _opt_error("--evictions", "--evictions is explored by the explicit engine only")
    space = ChoiceSpace(
        nt_fault=_enum("--nt-fault", nt_fault, NtFault),
        nt_cache=_enum("--nt-cache", nt_cache, NtCache),
        l2_nt=_enum("--l2-nt", l2_nt, L2Nt),
    )
    (rm,) = _enum("--rmrrpw", rmrrpw, Rmrrpw, both=False)
    formats = _formats(format)
    if claims not in CLAIM_MODES:
        raise _opt_error("--claims", f"invalid value '{claims}' for --claims (expected one of {', '.join(CLAIM_MODES)})"
                         + did_you_mean(claims, CLAIM_MODES))
    if jobs is not None and jobs < 1:
        raise _opt_error("--jobs", f"--jobs must be at least 1, got {jobs}")
    if scheduler is not None and not scheduler.strip():
        raise _opt_error("--scheduler", "--scheduler needs an address (tcp://host:8786) or 'local'")
    for given, name in ((jobs, "--jobs"), (scheduler, "--scheduler")):
        if given is not None and not decompose:
            raise _opt_error(name, f"{name} runs the per-address searches, which --no-decompose turns off")
    if trace_out is not None:
        from .paths import folder_problem

        # refused before the search, not after it (export.py checks again when writing)
        problem = folder_problem(trace_out)
        if problem is not None:
            raise _opt_error("--trace-out", f"--trace-out: {problem}")
    options = Options(level=lvl, vcpus=vcpus, symmetry=symmetry, evictions=evictions, max_states=max_states,
                      timeout=timeout, rmrrpw=rm, space=space, engine=engine, bound=bound, claims=claims,
                      cutoff=cutoff, decompose=decompose, jobs=jobs, scheduler=scheduler)
    if from_code is not None and model is not None:
        raise _opt_error("--from-code", "give a model or --from-code, not both")
    if from_code is None and model is None:
        raise _opt_error("verify", "verify needs a model name or file (or --from-code FILE)")
    from .verify import TimeUp, TooManyVcpus, interruptible, time_limit

    try:
        with time_limit(timeout):  # --timeout bounds the whole command: loading, building, search, BMC
            with interruptible():
                if from_code is not None:
                    models = [m.sequence for m in _extract(from_code, function, scenario, primitives, strict=strict)]
                else:
                    assert model is not None
                    models = [_load(model)]
            if len(models) > 1 and json:
                raise _opt_error("--json", "--json takes one model; this code has several paths (use extract -o)")
            codes = [_verify_one(seq, options, json, timing, traces, trace_out, formats) for seq in models]
    except TimeUp as e:
        sys.stderr.write(f"bbmcheck: {e} before the model was loaded; nothing was checked\n")
        return 3
    except TooManyVcpus as e:
        raise _opt_error("--vcpus", f"--vcpus {vcpus}: {e}") from None
    return 1 if 1 in codes else max(codes)


def _level(level: str | None) -> FeatBBM | None:
    if level is None:
        return None
    try:
        return FeatBBM.parse(level)
    except ValueError:
        names = [x.value for x in FeatBBM]
        raise _opt_error("--level", f"invalid FEAT_BBM level '{level}' (expected one of {', '.join(names)})"
                         + did_you_mean(level, names)) from None


def _model_arg(model: str) -> str:
    """The model argument is part of the command line: an unknown name or a missing file is located there."""
    try:
        resolve(model)
    except InputError as e:
        raise _opt_error(model, e.message) from None
    return model


def _load(model: str) -> Sequence:
    """Load a model; its located warnings go to stderr (they change no verdict and no exit code)."""
    seq = load_model(_model_arg(model))
    for warning in seq.warnings:
        sys.stderr.write(terminal(warning) + "\n")
    return seq


def _extract(code: str, function: str | None, scenario: str | None, primitives: str | None,
             strict: bool) -> list[Extracted]:
    from .extract.extract import extract

    if function is None:
        raise _opt_error("--function", "--function NAME is needed: which function to extract")
    if scenario is None:
        raise _opt_error("--scenario", "--scenario FILE is needed: it says which table entry each pointer names, "
                         "which descriptor each value is, and the level of each path")
    def warn(e: InputError) -> None:
        sys.stderr.write(terminal(e.render().replace(": error: ", ": warning: ", 1)) + "\n")

    models, notes = extract(code, function, scenario, primitives=primitives, strict=strict, warn=warn)
    for note in notes:
        sys.stderr.write(f"bbmcheck: {note}\n")
    return models


def _verify_one(seq: Sequence, options: Options, json: bool, timing: bool, traces: bool, trace_out: str | None,
                formats: tuple[str, ...]) -> int:
    from .report import json as json_report
    from .report import text as text_report
    from .verify import verify as run

    result = run(seq, options, progress=_progress if sys.stderr.isatty() else None)
    if trace_out is not None:
        from .report.export import write_traces

        for path in write_traces(result, trace_out, formats):
            sys.stderr.write(terminal(f"bbmcheck: wrote {path}") + "\n")
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if json:
        sys.stdout.write(json_report.render(result, timing=timing, traces=traces))
    else:
        sys.stdout.write(text_report.render(result, traces=traces))
        sys.stderr.write(text_report.timing_line(result))
    return result.exit_code


def _progress(states: int, transitions: int, seconds: float) -> None:
    sys.stderr.write(f"\r\033[Kbbmcheck: {states:,} states, {transitions:,} transitions, {seconds:.1f} s")
    sys.stderr.flush()


def _formats(text: str, single: bool = False) -> tuple[str, ...]:
    from .report.export import FORMATS

    names = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    for name in names:
        if name not in FORMATS:
            raise _opt_error("--format", f"unknown trace format '{name}' (expected {', '.join(FORMATS)})"
                             + did_you_mean(name, FORMATS))
    if not names or (single and len(names) != 1):
        raise _opt_error("--format", "--format takes " + ("one format" if single else "at least one format"))
    return names


@app.command()
def show(
    trace: Annotated[str, typer.Argument(help="An ITF trace file written by 'verify --trace-out'.")],
    format: Annotated[str, typer.Option(help="text, mermaid, dot, html, sarif or itf.")] = "text",
    graph: Annotated[bool, typer.Option(help="With --format dot: the whole explored state graph "
                                        "(small models), the counterexample in red.")] = False,
) -> int:
    """Render a trace (replayed first, so a stale or edited trace is refused)."""
    from .report.export import render
    from .trace.replay_itf import rerun_file

    (fmt,) = _formats(format, single=True)
    doc, run = rerun_file(trace)
    if graph:
        if fmt != "dot":
            raise _opt_error("--graph", "--graph needs --format dot")
        from .engines.graph import TooLarge, path_graph
        from .report import dot

        try:
            states, path = path_graph(run)
        except TooLarge as e:
            raise InputError(trace, 1, 1, str(e)) from None
        sys.stdout.write(dot.render_graph(states, path, doc["#meta"]["description"]))
        return 0
    sys.stdout.write(render(doc, fmt))
    return 0


@app.command()
def replay(trace: Annotated[str, typer.Argument(help="An ITF trace file.")]) -> int:
    """Re-execute every step of a trace against its model and confirm the violation (no search)."""
    from .trace.replay_itf import replay_file

    doc = replay_file(trace)  # every #meta field recomputed from the re-execution
    meta = doc["#meta"]
    sys.stdout.write(terminal(f"{trace}: replayed {len(doc['states']) - 1} steps against {meta['source']} "
                              f"(sha256 {meta['model_sha256'][:12]}): {meta['property']} confirmed") + "\n"
                     + terminal(f"  {meta['finding']}") + "\n")
    return 0


@app.command()
def extract(
    code: Annotated[str, typer.Argument(help="A C file, an AArch64 assembly file (.S/.s) or a unified diff.")],
    function: Annotated[str | None, typer.Option(help="The function (or assembly label) to extract.")] = None,
    scenario: Annotated[str | None, typer.Option(help="Scenario file: base model, entries, values, paths.")] = None,
    primitives: Annotated[str | None, typer.Option(help="Primitive map: a TOML file or a bundled name "
                                                   "(linux-kvm-arm64, xen-arm, gunyah).")] = None,
    out: Annotated[str | None, typer.Option("-o", "--out", help="Write one model file per path here.")] = None,
    strict: Annotated[bool, typer.Option(help="Refuse calls the primitive map does not know.")] = False,
) -> int:
    """Turn each feasible control path of a function into a model file."""
    from .sequences.edit import to_toml

    models = _extract(code, function, scenario, primitives, strict)
    if not models:
        raise _opt_error(code, f"no path of '{function}' updates a page table")
    texts = [(m, EXTRACT_MARKER + "\n" + to_toml(m.sequence)) for m in models]
    if out is None:
        for m, text in texts:
            sys.stdout.write(f"# ---- {m.name} [{m.path}]\n{text}\n")
        return 0
    from .paths import begins_with, folder_problem, inside, safe_name

    given = [o for o in ("--out", "-o") if any(a == o or a.startswith(o + "=") for a in _ARGV)]
    col = _argv_col(given[0]) if given else 1
    problem = folder_problem(out)  # a file, a path under a file, /proc: refused before anything is written
    if problem is not None:
        raise InputError("<command-line>", 1, col, f"-o: {problem}")
    folder = Path(out)
    # one safe, bounded file name per extracted path (long path names included), inside the folder
    planned = [(inside(folder, safe_name(m.name) + ".toml"), text) for m, text in texts]
    for path, _ in planned:
        if path.is_dir() or path.is_symlink():
            raise InputError(str(path), 1, 1, "is a folder or a link, not a model file bbmcheck extract wrote; "
                             "not overwriting it")
        if path.exists() and not begins_with(path, EXTRACT_MARKER + "\n"):
            raise InputError(str(path), 1, 1, "exists and was not written by bbmcheck extract; not overwriting it")
    for path, text in planned:
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            raise InputError("<command-line>", 1, col, f"-o: cannot write {path}: {e.strerror or e}") from None
        sys.stderr.write(f"bbmcheck: wrote {path}\n")
    return 0


EXTRACT_MARKER = "# generated by bbmcheck extract"



@app.command()
def prove(
    model: Annotated[str, typer.Argument(help="A bundled model name or a model file.")],
    out: Annotated[str | None, typer.Option("-o", "--out", help="Certificate folder (default: proofs/NAME).")] = None,
    level: Annotated[str | None, typer.Option(help="FEAT_BBM level (default: the model's).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds Spacer may spend per address before UNKNOWN.")] = 300.0,
    jobs: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    emit_obligations: Annotated[bool, typer.Option("--emit-obligations", help="Also write every proof obligation "
                                                   "as an SMT-LIB2 script, for re-checking with another "
                                                   "solver (recheck re-derives them either way).")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (the certificate is "
                                       "written all the same).")] = False,
) -> int:
    """Prove each property that holds for every address in the region and any number of vCPUs, and
    write a certificate (the invariants and a manifest) that recheck re-derives and z3 and cvc5
    re-check. Exits as verify does: 1 a claim is refuted, 3 UNKNOWN."""
    from .report import json as json_report
    from .report import proof as proof_report
    from .smt.certificate import check_folder, default_folder, write
    from .smt.prove import prove as run
    from .verify import explicit_report

    lvl = _level(level)
    if not timeout > 0:
        raise _opt_error("--timeout", f"--timeout must be a positive number of seconds, got {timeout}")
    if jobs is not None and jobs < 1:
        raise _opt_error("--jobs", f"--jobs must be at least 1, got {jobs}")
    seq = _load(model)
    folder = out or default_folder(seq.name)
    given = [o for o in ("--out", "-o") if any(a == o or a.startswith(o + "=") for a in _ARGV)]
    check_folder(folder, _argv_col(given[0] if out and given else model))
    result = run(seq, lvl, timeout=timeout, jobs=jobs, search=explicit_report)
    written = None
    if result.proof is not None and result.proof.obligations:
        write(result, folder, seq.path, emit_obligations=emit_obligations)
        written = folder
    if json:
        sys.stdout.write(json_report.render(result, traces=False))
        if written is not None:
            sys.stderr.write(terminal(f"bbmcheck: wrote the certificate {written}") + "\n")
    else:
        sys.stdout.write(proof_report.prove_text(result, model, written))
    sys.stderr.write(proof_report.prove_timing(result))
    return result.exit_code


@app.command()
def recheck(
    folder: Annotated[str, typer.Argument(help="A certificate folder written by 'bbmcheck prove'.")],
    emit_obligations: Annotated[bool, typer.Option("--emit-obligations", help="Once confirmed, write every "
                                                   "obligation into the folder as an SMT-LIB2 script, for "
                                                   "another solver.")] = False,
) -> int:
    """Re-derive a certificate's obligations from its model and invariants and re-check them with z3
    and cvc5: 0 all confirmed, 4 not confirmed (the first difference named), 3 UNKNOWN (no cvc5, or
    a solver answered unknown), 2 malformed."""
    from .report import proof as proof_report
    from .smt.certificate import MANIFEST
    from .smt.certificate import recheck as run
    from .verify import explicit_report

    if not os.path.isfile(os.path.join(folder, MANIFEST)):
        raise _opt_error(folder, f"{folder} is not a certificate folder (no {MANIFEST})")
    done = run(folder, os.getcwd(), on_check=lambda c: sys.stdout.write(proof_report.check_line(c)),
               emit_obligations=emit_obligations, search=explicit_report)
    sys.stdout.write(proof_report.recheck_text(done))
    sys.stderr.write(proof_report.refusal(done))
    return done.exit_code


@app.command("list")
def list_models() -> int:
    """Show the bundled models: name, FEAT_BBM level, kind, title and claims."""
    rows = []
    for name, path in bundled_models().items():
        seq = load_model(str(path))
        kind = path.parent.name
        violated = [p for p, c in seq.claims.items() if c == "violated"]
        unclaimed = [p for p, c in seq.claims.items() if c == "any"]
        profile = "claims " + ("violations: " + ", ".join(violated) if violated else "every property holds")
        if not seq.claimed:
            profile = "no claims (verdicts only)"
        elif unclaimed:
            profile += "; no claim: " + ", ".join(unclaimed)
        rows.append((name, seq.level.value, kind, seq.title, profile))
    width = max(len(r[0]) for r in rows)
    for name, lvl, kind, title, profile in rows:
        pad = " " * (width + 23)
        sys.stdout.write(f"{name:<{width}}  {lvl:<10}  {kind:<7}  {title}\n{pad}{profile}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns (and, as a script, exits with) the exit code."""
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        _ascii_numbers(_ARGV)
        code = command.main(args=_ARGV, prog_name="bbmcheck", standalone_mode=False)
    except InputError as e:
        sys.stderr.write(terminal(e.render()) + "\n")
        code = getattr(e, "exit_code", 2)  # 4 for a forged or stale artefact (replay_itf.ForgedTrace)
    except Exception as e:  # Click's usage errors (vendored by typer) carry exit_code 2
        if hasattr(e, "format_message") and getattr(e, "exit_code", None) == 2:
            name = getattr(e, "option_name", None) or _param_name(e)
            col = _argv_col(name) if name else 1
            extra = re.search(r"unexpected extra argument\S* \(([^ )]+)", e.format_message())
            if not name and extra:  # click names extra arguments only in its message; they follow the others
                col = _argv_col(extra.group(1), last=True)
            sys.stderr.write(terminal(f"<command-line>:1:{col}: error: {e.format_message()}") + "\n")
            code = 2
        elif type(e).__name__ == "Abort":
            code = 130
        else:
            if os.environ.get("BBMCHECK_DEBUG"):
                raise
            sys.stderr.write(f"bbmcheck: internal error: {type(e).__name__}: {terminal(str(e))} "
                             "(set BBMCHECK_DEBUG=1 for a traceback)\n")
            code = 4
    if argv is None:
        sys.exit(code if isinstance(code, int) else 0)
    return code if isinstance(code, int) else 0


NUMERIC = ("--vcpus", "--jobs", "--max-states", "--timeout", "--bound")


def _ascii_numbers(argv: list[str]) -> None:
    """A number on the command line is written in ASCII: Python's int() also reads other scripts'
    digits ('٢' is 2), which a user who typed one did not mean as a count."""
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name not in NUMERIC:
            continue
        if not eq:
            value = argv[i + 1] if i + 1 < len(argv) else ""
        if not value.isascii():
            raise InputError("<command-line>", 1, _argv_col(name),
                             f"invalid value for '{name}': {value!r} is not a number written in ASCII digits")


def _param_name(e: Exception) -> str | None:
    param = getattr(e, "param", None)
    opts = getattr(param, "opts", None)
    return opts[0] if opts else None
