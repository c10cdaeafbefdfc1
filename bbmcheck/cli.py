"""The command line: ``bbmcheck verify`` and ``bbmcheck list``.

Thin by design: parse options into :class:`bbmcheck.verify.Options`, call the library, render.
Exit codes: 0 every claim holds, 1 a claim is refuted, 2 bad input or usage, 3 inconclusive
(state or time cap, or a vacuous model), 4 internal error (for example a counterexample that
failed to replay). Errors are one line ``file:line:col: error: ...`` on stderr; the command line
itself is the file ``<command-line>``.

The options are declared with the standard library's :mod:`argparse`, which also writes ``--help``;
:func:`_parse` reads a command's arguments before argparse sees them, so that a mistake is one
located line (argparse would print a usage block and exit). Start-up matters: ``bbmcheck verify``
should answer a small model in under 0.2 s, so this module imports only what parsing needs and each
command imports the library it calls.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from .errors import InputError, did_you_mean
from .report.escape import terminal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from enum import Enum
    from typing import NoReturn, TypeVar

    from .arch.config import FeatBBM
    from .extract.extract import Extracted
    from .sequences.schema import Sequence
    from .verify import Options

    E = TypeVar("E", bound=Enum)

DESCRIPTION = "Model checker for Arm break-before-make safety of live translation-table updates."
HELP = "Show this message and exit."

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


def _col(index: int) -> int:
    """The column of the argument ``_ARGV[index]``."""
    return 1 + sum(len(arg) + 1 for arg in _ARGV[:index])


def _usage(index: int, message: str) -> InputError:
    """A mistake in how the command line is written, located at the argument ``_ARGV[index]``."""
    return InputError("<command-line>", 1, _col(index), message)


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


class _Parser(argparse.ArgumentParser):
    """One command's arguments and options. argparse writes the help; :func:`_parse` reads the
    command line, and anything argparse would still object to is raised, not printed and exited on."""

    def __init__(self, name: str, description: str | None) -> None:
        super().__init__(prog=f"bbmcheck {name}", usage="%(prog)s [OPTIONS]", description=description,
                         add_help=False, allow_abbrev=False, exit_on_error=False, formatter_class=_Formatter)
        self.arguments: list[tuple[str, bool]] = []  # the positional arguments in order: (name, required)
        self.numbers: dict[str, type[int] | type[float]] = {}  # options whose value is a number

    def argument(self, name: str, help: str, required: bool = True) -> None:
        self.arguments.append((name, required))
        self.add_argument(name, nargs="?", metavar=name.upper(), help=_escape(help))
        self.usage = "%(prog)s [OPTIONS] " + " ".join(n.upper() if r else f"[{n.upper()}]" for n, r in self.arguments)

    def value(self, *names: str, help: str, metavar: str, default: object = None,
              number: type[int] | type[float] | None = None) -> None:
        shown = "" if default is None else f" [default: {default}]"
        action = self.add_argument(*names, default=default, metavar=metavar, help=_escape(help + shown))
        if number is not None:
            self.numbers[action.dest] = number

    def switch(self, name: str, help: str, default: bool) -> None:
        """``--name`` and ``--no-name``; the last one given counts."""
        action = self.add_argument(name, action=argparse.BooleanOptionalAction, default=default)
        action.help = _escape(f"{help} [default: {'' if default else 'no-'}{name[2:]}]")  # ours, on every Python

    def flag(self, name: str, help: str) -> None:
        self.add_argument(name, action="store_true", help=_escape(help))

    def error(self, message: str) -> NoReturn:
        raise InputError("<command-line>", 1, 1, message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise InputError("<command-line>", 1, 1, (message or "").strip() or f"exit status {status}")


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, without breaking a line inside a word (``--no-cutoff``)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent,
                             break_on_hyphens=False, break_long_words=False)


def _escape(help: str) -> str:
    return help.replace("%", "%%")  # argparse formats help with %


def _verify_options(p: _Parser) -> None:
    p.argument("model", "A bundled model name (see 'bbmcheck list') or a model file.", required=False)
    p.value("--level", metavar="LEVEL", help="FEAT_BBM level: L0, L1, L2 or L2-noabort (default: the model's).")
    p.value("--vcpus", metavar="N", number=int, help="Observer vCPUs, any number from 1 (default: the model's); "
            "more than the vCPU cutoff needs are answered by its search.")
    p.switch("--cutoff", "Answer --vcpus above the cutoff by the cutoff's smaller search (--no-cutoff: search them "
             "all, at most 64).", default=True)
    p.switch("--decompose", "Search each representative address on its own, alike ones once (--no-decompose: all "
             "together, one search).", default=True)
    p.value("--jobs", metavar="N", number=int, help="Worker processes for the per-address searches (default: one "
            "per core).")
    p.value("--scheduler", metavar="ADDRESS", help="Run the per-address searches on a Dask cluster: a scheduler "
            "address, or 'local' (needs the extra: pip install 'bbmcheck[cluster]').")
    p.flag("--json", "Print the result as JSON on stdout.")
    p.flag("--timing", "Include wall time in --json output.")
    p.value("--max-states", metavar="N", number=int, default=2_000_000,
            help="Stop with UNKNOWN after this many states.")
    p.value("--timeout", metavar="SECONDS", number=float, help="Stop with UNKNOWN after this many seconds.")
    p.switch("--symmetry", "Treat vCPUs as interchangeable (symmetry reduction).", default=True)
    p.switch("--evictions", "Also explore TLB evictions (same verdicts; slower).", default=False)
    p.value("--nt-fault", metavar="WHICH", default="both", help="nT=1 use faults: always, never or both (RMRRPW).")
    p.value("--nt-cache", metavar="WHICH", default="both", help="nT=1 entries cached as shadows: none, shadow or "
            "both.")
    p.value("--l2-nt", metavar="WHICH", default="both", help="A level-2 PE honours or ignores nT: honours, ignores "
            "or both.")
    p.value("--rmrrpw", metavar="READING", default="overlap", help="Reading of RMRRPW: overlap (default) or literal.")
    p.switch("--traces", "Show counterexample step tables (with --json: embed each counterexample's ITF document "
             "and steps).", default=True)
    p.value("--trace-out", metavar="FOLDER", help="Write every counterexample into this folder.")
    p.value("--from-code", metavar="FILE", help="Extract the models from this C, assembly or diff file instead (with "
            "--function and --scenario).")
    p.value("--function", metavar="NAME", help="With --from-code: the function to extract.")
    p.value("--scenario", metavar="FILE", help="With --from-code: the scenario file.")
    p.value("--path", metavar="NAME", help="With --from-code: only this path (its short name, p2, or its model "
            "name).")
    p.value("--primitives", metavar="MAP", help="With --from-code: primitive map (file or bundled name).")
    p.switch("--strict", "With --from-code: refuse calls the primitive map does not know and unknown assembly "
             "instructions (default: warn and ignore).", default=False)
    p.value("--format", metavar="FORMATS", default="itf", help="Trace formats for --trace-out, comma-separated: "
            "itf,text,mermaid,dot,html,sarif.")
    p.value("--engine", metavar="ENGINE", default="explicit", help="explicit (breadth-first search, the default) or "
            "bmc (bounded model checking with z3).")
    p.value("--bound", metavar="STEPS", number=int, help="Depth bound: BMC's unrolling (default 24), or a bound on "
            "the explicit search's paths.")
    p.value("--claims", metavar="MODE", default="model", help="model: judge the verdicts against the model's [claims] "
            "(a model without that table makes none); none: report verdicts only, exit 1 only on an "
            "error-severity violation.")


def verify(model: str | None = None, level: str | None = None, vcpus: int | None = None, cutoff: bool = True,
           decompose: bool = True, jobs: int | None = None, scheduler: str | None = None, json: bool = False,
           timing: bool = False, max_states: int = 2_000_000, timeout: float | None = None, symmetry: bool = True,
           evictions: bool = False, nt_fault: str = "both", nt_cache: str = "both", l2_nt: str = "both",
           rmrrpw: str = "overlap", traces: bool = True, trace_out: str | None = None, from_code: str | None = None,
           function: str | None = None, scenario: str | None = None, primitives: str | None = None,
           strict: bool = False, format: str = "itf", engine: str = "explicit", bound: int | None = None,
           claims: str = "model", path: str | None = None) -> int:
    """Explore every interleaving of the model's update with concurrent vCPU walks."""
    from .arch.config import ChoiceSpace, L2Nt, NtCache, NtFault, Rmrrpw
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
    if path is not None and from_code is None:
        raise _opt_error("--path", "--path chooses a path of the code: it needs --from-code")
    from .verify import TimeUp, TooManyVcpus, interruptible, time_limit

    try:
        with time_limit(timeout):  # --timeout bounds the whole command: loading, building, search, BMC
            with interruptible():
                chosen = ""
                if from_code is not None:
                    extracted, chosen = _extract(from_code, function, scenario, primitives, strict, path)
                    models = [m.sequence for m in extracted]
                    if not models:
                        raise _opt_error("--from-code", f"no path of '{function}' updates a page table: nothing "
                                         "to check")
                else:
                    assert model is not None
                    models = [_load(model)]
            # --json with several paths (code): one list, an object per path as one path prints it
            gathered: list[dict[str, object]] | None = [] if json and len(models) > 1 else None
            codes = [_verify_one(seq, options, json, timing, traces, trace_out, formats, gathered) for seq in models]
            if gathered is not None:
                import json as json_text

                sys.stdout.write(json_text.dumps(gathered, indent=2, sort_keys=True) + "\n")
            _say_chosen(chosen)
    except TimeUp as e:
        sys.stderr.write(f"bbmcheck: {e} before the model was loaded; nothing was checked\n")
        return 3
    except TooManyVcpus as e:
        raise _opt_error("--vcpus", f"--vcpus {vcpus}: {e}") from None
    return 1 if 1 in codes else max(codes)


def _level(level: str | None) -> FeatBBM | None:
    if level is None:
        return None
    from .arch.config import FeatBBM

    try:
        return FeatBBM.parse(level)
    except ValueError:
        names = [x.value for x in FeatBBM]
        raise _opt_error("--level", f"invalid FEAT_BBM level '{level}' (expected one of {', '.join(names)})"
                         + did_you_mean(level, names)) from None


def _model_arg(model: str) -> str:
    """The model argument is part of the command line: an unknown name or a missing file is located there."""
    from .sequences.load import resolve

    try:
        resolve(model)
    except InputError as e:
        raise _opt_error(model, e.message) from None
    return model


def _load(model: str) -> Sequence:
    """Load a model; its located warnings go to stderr (they change no verdict and no exit code)."""
    from .sequences.load import load_model

    seq = load_model(_model_arg(model))
    for warning in seq.warnings:
        sys.stderr.write(terminal(warning) + "\n")
    return seq


def _extract(code: str, function: str | None, scenario: str | None, primitives: str | None,
             strict: bool, path: str | None = None) -> tuple[list[Extracted], str]:
    """The models of ``function``'s paths (with ``--path``, that path's only), the notes on stderr;
    and which primitive map was chosen and why ('' when it was given), for the caller to say once
    the command went through (so that an error stays one line)."""
    models, notes, chosen = _extract_all(code, function, scenario, primitives, strict)
    for note in notes:
        sys.stderr.write(terminal(f"bbmcheck: {note}") + "\n")
    return _pick(models, path, function), chosen


def _say_chosen(chosen: str) -> None:
    if chosen:
        sys.stderr.write(terminal(f"bbmcheck: {chosen}") + "\n")


def _extract_all(code: str, function: str | None, scenario: str | None, primitives: str | None,
                 strict: bool) -> tuple[list[Extracted], list[str], str]:
    from dataclasses import replace

    from .extract.extract import extract

    if function is None:
        raise _opt_error("--function", "--function NAME is needed: which function to extract")
    def warn(e: InputError) -> None:
        sys.stderr.write(terminal(e.render().replace(": error: ", ": warning: ", 1)) + "\n")

    # read before the code is, so a file changed meanwhile makes the trace stale, never wrongly fresh
    hashes = {name: _sha256_of(name) for name in (code, scenario)}
    chosen = ""
    if primitives is None:  # the bundled map that knows most of the function's calls, and why
        from .extract.choose import choose_map
        from .extract.source import read_source

        primitives, chosen = choose_map(read_source(code), function)
    models, notes = extract(code, function, scenario, primitives=primitives, strict=strict, warn=warn)
    # how each model is made again: its traces record this, and replay re-extracts it (_re_extract)
    return [replace(m, sequence=replace(m.sequence, origin={
        "code": code, "code_sha256": hashes[code], "function": function, "scenario": scenario,
        "scenario_sha256": hashes[scenario], "primitives": primitives, "path": m.label, "model": m.name}))
            for m in models], notes, chosen


def _sha256_of(path: str | None) -> str | None:
    import hashlib

    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None  # extracting says why it cannot be read


def _re_extract(origin: dict[str, Any]) -> Sequence:
    """The model a trace's ``#meta.extracted`` names, extracted again (replay's ``resolve``)."""
    from .extract.extract import extract

    models, _ = extract(origin["code"], origin["function"], origin["scenario"], primitives=origin["primitives"])
    for m in models:  # a path has a model per situation under the default scenario: found by name
        if m.name == origin.get("model", m.name) and m.label == origin["path"]:
            return m.sequence
    raise InputError(origin["code"], 1, 1, f"path {origin['path']} of '{origin['function']}' has no model")


def _pick(models: list[Extracted], path: str | None, function: str | None) -> list[Extracted]:
    """``--path NAME``: the models of the path with that short name (a merged path's: the model it
    is checked in) or the model of that name; an unknown or ambiguous name is a located error."""
    if path is None:
        return models
    got = [m for m in models if path == m.label or path in (label for label, _ in m.merged)]
    if got:  # the path's models: under the default scenario, one per situation its code admits
        return got
    got = [m for m in models if path == m.name]
    if len(got) == 1:
        return got
    if got:
        raise _opt_error("--path", f"--path {path}: {len(got)} paths have this model name "
                         f"({', '.join(m.label for m in got)}); give the short name")
    known = sorted(((label, m.name) for m in models for label in (m.label, *(lb for lb, _ in m.merged))),
                   key=lambda k: int(k[0][1:]))
    names = ", ".join(f"{label} ({name})" for label, name in known)
    raise _opt_error("--path", f"--path {path}: no path of '{function}' with a model has this name "
                     f"(the paths with a model: {names or 'none'})"
                     + did_you_mean(path, [label for label, _ in known] + [m.name for m in models]))


def _verify_one(seq: Sequence, options: Options, json: bool, timing: bool, traces: bool, trace_out: str | None,
                formats: tuple[str, ...], gathered: list[dict[str, object]] | None = None) -> int:
    """Verify one model and print its result (with ``json`` and ``gathered``: add its JSON data to
    ``gathered`` instead); its exit code."""
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
    if json and gathered is not None:
        gathered.append(json_report.to_data(result, timing=timing, traces=traces))
    elif json:
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


def _show_options(p: _Parser) -> None:
    p.argument("trace", "An ITF trace file written by 'verify --trace-out'.")
    p.value("--format", metavar="FORMAT", default="text", help="text, mermaid, dot, html, sarif or itf.")
    p.switch("--graph", "With --format dot: the whole explored state graph (small models), the counterexample in "
             "red.", default=False)


def show(trace: str, format: str = "text", graph: bool = False) -> int:
    """Render a trace (replayed first, so a stale or edited trace is refused)."""
    from .report.export import render
    from .trace.replay_itf import rerun_file

    (fmt,) = _formats(format, single=True)
    doc, run = rerun_file(trace, _re_extract)
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


def _replay_options(p: _Parser) -> None:
    p.argument("trace", "An ITF trace file.")


def replay(trace: str) -> int:
    """Re-execute every step of a trace against its model and confirm the violation (no search)."""
    from .trace.replay_itf import replay_file

    doc = replay_file(trace, _re_extract)  # every #meta field recomputed from the re-execution
    meta = doc["#meta"]
    origin = meta.get("extracted")
    model = f"{origin['model']} (path {origin['path']} of '{origin['function']}') extracted from " if origin else ""
    sys.stdout.write(terminal(f"{trace}: replayed {len(doc['states']) - 1} steps against {model}{meta['source']} "
                              f"(sha256 {meta['model_sha256'][:12]}): {meta['property']} confirmed") + "\n"
                     + terminal(f"  {meta['finding']}") + "\n")
    return 0


def _extract_options(p: _Parser) -> None:
    p.argument("code", "A C file, an AArch64 assembly file (.S/.s) or a unified diff.")
    p.value("--function", metavar="NAME", help="The function (or assembly label) to extract.")
    p.value("--scenario", metavar="FILE", help="Scenario file: base model, entries, values, paths.")
    p.value("--primitives", metavar="MAP", help="Primitive map: a TOML file or a bundled name (linux-kvm-arm64, "
            "xen-arm, gunyah, linux-arm64-mm, hafnium; default: the one that knows most of the function's calls).")
    p.value("-o", "--out", metavar="FOLDER", help="Write one model file per path here.")
    p.value("--path", metavar="NAME", help="Only this path: its short name (p2) or its model name.")
    p.flag("--list-paths", "Print each path (short name, model name, instructions, conditions) and the notes; "
           "write no model.")
    p.switch("--strict", "Refuse calls the primitive map does not know.", default=False)


def extract(code: str, function: str | None = None, scenario: str | None = None, primitives: str | None = None,
            out: str | None = None, strict: bool = False, path: str | None = None, list_paths: bool = False) -> int:
    """Turn each feasible control path of a function into a model file."""
    from pathlib import Path

    from .sequences.edit import to_toml

    if list_paths:
        if out is not None:
            raise _opt_error("--list-paths", "--list-paths prints the paths and writes no model; drop -o")
        every, notes, chosen = _extract_all(code, function, scenario, primitives, strict)
        sys.stdout.write(_path_list(_pick(every, path, function), notes))
        _say_chosen(chosen)
        return 0
    models, chosen = _extract(code, function, scenario, primitives, strict, path)
    if not models:
        raise _opt_error(code, f"no path of '{function}' updates a page table")
    texts = [(m, EXTRACT_MARKER + "\n" + to_toml(m.sequence)) for m in models]
    if out is None:
        for m, text in texts:
            sys.stdout.write(terminal(f"# ---- {m.name} ({m.label}) [{m.path}]") + f"\n{text}\n")
        _say_chosen(chosen)
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
    for file, _ in planned:
        if file.is_dir() or file.is_symlink():
            raise InputError(str(file), 1, 1, "is a folder or a link, not a model file bbmcheck extract wrote; "
                             "not overwriting it")
        if file.exists() and not begins_with(file, EXTRACT_MARKER + "\n"):
            raise InputError(str(file), 1, 1, "exists and was not written by bbmcheck extract; not overwriting it")
    for file, text in planned:
        try:
            file.write_text(text, encoding="utf-8")
        except OSError as e:
            raise InputError("<command-line>", 1, col, f"-o: cannot write {file}: {e.strerror or e}") from None
        sys.stderr.write(terminal(f"bbmcheck: wrote {file}") + "\n")
    _say_chosen(chosen)
    return 0


EXTRACT_MARKER = "# generated by bbmcheck extract"


def _path_list(models: list[Extracted], notes: list[str]) -> str:
    """``extract --list-paths``: a line per path (short name, model name, the function's
    instructions, conditions), a merged path beside the model it is checked in; then the notes."""
    rows = []
    for m in models:
        count = f"{len(m.lines)} instruction{'' if len(m.lines) == 1 else 's'}"
        rows.append((m.label, m.name, count, m.path or "(no conditions)"))
        rows += [(label, m.name, count, conds or "(no conditions)") for label, conds in m.merged]
        notes = notes + [f"path {label} [{conds}] makes the same calls as {m.label} and is checked in its model "
                         "(a [paths] entry of its own checks it apart)" for label, conds in m.merged]
    cells = [tuple(terminal(c) for c in row) for row in rows]
    widths = [max((len(r[k]) for r in cells), default=0) for k in range(3)]
    out = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3] for r in cells]
    return "".join(line + "\n" for line in out) + "".join(terminal(f"note: {n}") + "\n" for n in notes)


def _prove_options(p: _Parser) -> None:
    p.argument("model", "A bundled model name or a model file.")
    p.value("-o", "--out", metavar="FOLDER", help="Certificate folder (default: proofs/NAME).")
    p.value("--level", metavar="LEVEL", help="FEAT_BBM level (default: the model's).")
    p.value("--timeout", metavar="SECONDS", number=float, default=300.0,
            help="Seconds Spacer may spend per address before UNKNOWN.")
    p.value("--jobs", metavar="N", number=int, help="Worker processes (default: one per core).")
    p.flag("--emit-obligations", "Also write every proof obligation as an SMT-LIB2 script, for re-checking with "
           "another solver (recheck re-derives them either way).")
    p.flag("--json", "Print the result as JSON on stdout (the certificate is written all the same).")


def prove(model: str, out: str | None = None, level: str | None = None, timeout: float = 300.0,
          jobs: int | None = None, emit_obligations: bool = False, json: bool = False) -> int:
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


def _recheck_options(p: _Parser) -> None:
    p.argument("folder", "A certificate folder written by 'bbmcheck prove'.")
    p.flag("--emit-obligations", "Once confirmed, write every obligation into the folder as an SMT-LIB2 script, "
           "for another solver.")


def recheck(folder: str, emit_obligations: bool = False) -> int:
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


def _list_options(p: _Parser) -> None:
    """``list`` takes no arguments and no options but --help."""


def list_models() -> int:
    """Show the bundled models: name, FEAT_BBM level, kind, title and claims."""
    from .sequences.load import bundled_models, load_model

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


# name -> (the command, the declaration of its arguments and options), in the order --help lists them
COMMANDS: dict[str, tuple[Callable[..., int], Callable[[_Parser], None]]] = {
    "verify": (verify, _verify_options),
    "show": (show, _show_options),
    "replay": (replay, _replay_options),
    "extract": (extract, _extract_options),
    "prove": (prove, _prove_options),
    "recheck": (recheck, _recheck_options),
    "list": (list_models, _list_options),
}


def _parser(name: str) -> _Parser:
    """The argparse parser of one command (built only for the command that runs)."""
    command, declare = COMMANDS[name]
    p = _Parser(name, command.__doc__)
    declare(p)
    p.flag("--help", HELP)
    return p


def _main_help() -> str:
    """``bbmcheck --help``: the commands, each with its description."""
    p = argparse.ArgumentParser(prog="bbmcheck", usage="%(prog)s [OPTIONS] COMMAND [ARGS]...",
                                description=DESCRIPTION, add_help=False, allow_abbrev=False, formatter_class=_Formatter)
    p.add_argument("--help", action="store_true", help=HELP)
    group = p.add_argument_group("commands")
    for name, (command, _) in COMMANDS.items():  # shown as a column of names and descriptions
        group.add_argument(name, nargs="?", help=_escape(" ".join((command.__doc__ or "").split())))
    return p.format_help()


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns (and, as a script, exits with) the exit code."""
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    try:
        _ascii_numbers(_ARGV)
        code = _dispatch(_ARGV)
    except InputError as e:
        sys.stderr.write(terminal(e.render()) + "\n")
        code = getattr(e, "exit_code", 2)  # 4 for a forged or stale artefact (replay_itf.ForgedTrace)
    except (KeyboardInterrupt, EOFError):  # Ctrl-C: end the progress line, exit as a shell does on SIGINT
        sys.stderr.write("\n")
        code = 130
    except Exception as e:
        if os.environ.get("BBMCHECK_DEBUG"):
            raise
        sys.stderr.write(f"bbmcheck: internal error: {type(e).__name__}: {terminal(str(e))} "
                         "(set BBMCHECK_DEBUG=1 for a traceback)\n")
        code = 4
    if argv is None:
        sys.exit(code)
    return code


def _dispatch(argv: list[str]) -> int:
    """``bbmcheck [--help] COMMAND [ARGS]...``: run the command (or show the help) and return its exit code."""
    k = 0
    wants_help = False
    while k < len(argv) and argv[k][:1] == "-" and len(argv[k]) > 1:  # options before the command
        arg, start = argv[k], k
        k += 1
        if arg == "--":
            break
        name, eq, _ = arg.partition("=")
        if name != "--help":  # a long option is matched against --help, a short one against nothing
            raise _no_such_option(start, name, ["--help"]) if arg[:2] == "--" else _no_such_option(start, arg[:2], [])
        if eq:
            raise _usage(start, "Option '--help' does not take a value.")
        wants_help = True
    if wants_help or not argv:
        sys.stdout.write(_main_help())
        if wants_help:
            return 0
    if k == len(argv):
        raise InputError("<command-line>", 1, 1, "Missing command.")
    name = argv[k]
    if name not in COMMANDS:
        raise _usage(k, f"No such command {name!r}." + _possibilities(name, COMMANDS))
    command, _ = COMMANDS[name]
    p = _parser(name)
    values = _parse(p, argv, k + 1)
    if values is None:
        sys.stdout.write(p.format_help())
        return 0
    return command(**values)


def _parse(p: _Parser, argv: list[str], first: int) -> dict[str, object] | None:
    """The keyword arguments of the command whose arguments are ``argv[first:]``, or None for ``--help``.

    The rules: an option that takes a value takes the next argument whatever it looks like
    (``--timeout -1``, ``--level --json``), or the text after ``=``; options are written whole (no
    abbreviations); ``-o`` may carry its value (``-ofolder``); after ``--`` every argument is positional.
    Mistakes are reported in this order, the first one only: how an option is written (unknown, missing
    its value, a value given to a flag) in command-line order; then ``--help``; then a value that is
    not a number, in the order the options first appear; a missing argument; extra arguments.
    """
    options = p._option_string_actions
    longs = [o for o in options if o.startswith("--")]
    flags: list[str] = []  # what argparse reads: the flags and switches (it supplies every default too)
    texts: dict[str, str] = {}  # the options' values as written (argparse would drop a value '--')
    at: dict[str, tuple[int, argparse.Action]] = {}  # dest -> (index of its last use, option), in first-use order
    positional: list[int] = []  # indexes of the positional arguments
    k = first
    while k < len(argv):
        arg, start = argv[k], k
        k += 1
        if arg == "--":
            positional += range(k, len(argv))
            break
        if arg[:1] != "-" or len(arg) == 1:
            positional.append(start)
            continue
        name, eq, value = arg.partition("=")
        if name not in longs:
            if arg[:2] == "--":
                raise _no_such_option(start, name, longs)
            name, value = arg[:2], arg[2:]  # a short option (-o), its value attached (-ofolder) or not
            if name not in options:
                raise _no_such_option(start, name, [])
            eq = "=" if value else ""
        action = options[name]
        if action.nargs == 0:  # --flag, --switch or --no-switch
            if eq:
                raise _usage(start, f"Option {name!r} does not take a value.")
            flags.append(name)
        else:
            if not eq:
                if k == len(argv):
                    raise _usage(start, f"Option {name!r} requires an argument.")
                value = argv[k]
                k += 1
            texts[action.dest] = value
        at[action.dest] = (start, action)
    if "help" in at:
        return None
    values: dict[str, object] = {**vars(p.parse_args(flags)), **texts}
    del values["help"]
    for dest, (index, action) in at.items():
        number = p.numbers.get(dest)
        if number is not None:
            text = str(values[dest])
            try:
                values[dest] = number(text)
            except ValueError:
                kind = "integer" if number is int else "float"
                raise _usage(index, f"Invalid value for '{action.option_strings[-1]}': {text!r} is not a valid "
                                    f"{kind}.") from None
    for n, (name, required) in enumerate(p.arguments):
        if n < len(positional):
            values[name] = argv[positional[n]]
        elif required:
            raise InputError("<command-line>", 1, 1, f"Missing argument '{name.upper()}'.")
    extra = positional[len(p.arguments):]
    if extra:
        words = " ".join(argv[i] for i in extra)
        raise _usage(extra[0], f"Got unexpected extra argument{'s' if len(extra) > 1 else ''} ({words})")
    return values


def _no_such_option(index: int, name: str, possible: list[str]) -> InputError:
    return _usage(index, f"No such option {name!r}." + _possibilities(name, possible))


def _possibilities(word: str, names: Iterable[str]) -> str:
    """' Did you mean 'x'?' or ' (Did you mean one of: 'x', 'y'?)' for the close names, or ''."""
    import difflib

    close = sorted(difflib.get_close_matches(word, list(names)))
    if not close:
        return ""
    quoted = ", ".join(repr(c) for c in close)
    return f" Did you mean {quoted}?" if len(close) == 1 else f" (Did you mean one of: {quoted}?)"


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
