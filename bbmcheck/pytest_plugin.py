"""pytest plugin (registered through the ``pytest11`` entry point, so it loads once bbmcheck is
installed): the ``bbm`` fixture, assertion helpers, a FEAT_BBM level marker, and model files
collected as test items.

    from bbmcheck.pytest_plugin import assert_safe, assert_violation

    @pytest.mark.bbm_levels("L0", "L2-noabort")
    def test_helper_is_safe(bbm, bbm_level):
        assert_safe(bbm.check("ttrem0", level=bbm_level), properties=["tlb-conflict"])

Failures show the rendered counterexample and the path of the ITF file written for it
(``$BBMCHECK_TRACE_DIR`` or a ``bbmcheck-traces`` folder in the temporary directory).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any

import pytest

from .arch.config import FeatBBM
from .arch.rules import PROPERTIES
from .report.itf import render as itf_text
from .report.text import verdict_phrase
from .report.trace_text import render as render_trace
from .results import Finding, Result, Verdict
from .sequences.load import load_model
from .sequences.schema import Sequence

__all__ = ["assert_reachable", "assert_safe", "assert_violation", "Checker"]


def trace_dir() -> Path:
    return Path(os.environ.get("BBMCHECK_TRACE_DIR") or Path(tempfile.gettempdir()) / "bbmcheck-traces")


class Checker:
    """What the ``bbm`` fixture gives a test: ``check`` a model name, file, or Sequence."""

    def check(self, model: str | os.PathLike[str] | Sequence, *, level: str | FeatBBM | None = None,
              vcpus: int | None = None, **options: Any) -> Result:
        from .verify import Options, verify

        seq = model if isinstance(model, Sequence) else load_model(str(model))
        lvl = FeatBBM.parse(level) if isinstance(level, str) else level
        return verify(seq, Options(level=lvl, vcpus=vcpus, **options))


def _write_itf(result: Result, f: Finding) -> str:
    trace = f.persisting_trace or f.trace
    if trace is None:
        return ""
    folder = trace_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.model}.{result.level}.{f.property}.itf.json"
    path.write_text(itf_text(trace.itf), encoding="utf-8")
    return str(path)


def _explain(result: Result, f: Finding) -> str:
    lines = [f"{f.property} is {verdict_phrase(f)} in {result.model} at {result.level} ({f.rules})"]
    lines += [f"  cause: {c}" for c in f.causes]
    trace = f.persisting_trace or f.trace
    if trace is not None:
        lines.append("")
        lines.append(render_trace(trace.itf, explain=False).rstrip())
        lines.append(f"ITF trace written to {_write_itf(result, f)}")
    return "\n".join(lines)


def _select(result: Result, properties: Iterable[str] | None) -> list[Finding]:
    names = list(properties) if properties is not None else list(PROPERTIES)
    for name in names:
        if name not in PROPERTIES:
            raise ValueError(f"unknown property {name!r} (one of {', '.join(PROPERTIES)})")
    return [result.finding(n) for n in names]


def assert_safe(result: Result, properties: Iterable[str] | None = None) -> None:
    """Fail if any of ``properties`` (default: all) is violated, or the search was incomplete or
    vacuous: 'nothing found' only counts when the search was exhaustive and things happened."""
    __tracebackhide__ = True
    if not result.complete:
        raise AssertionError(f"{result.model}: search incomplete ({result.stop_reason}); verdicts are UNKNOWN, "
                             "not safe")
    if result.vacuous:
        missing = [w for w, ok in result.witnesses.items() if not ok]
        raise AssertionError(f"{result.model}: vacuous model, witnesses not reached: {', '.join(missing)}")
    bad = [f for f in _select(result, properties) if f.verdict is not Verdict.HOLDS]
    if bad:
        raise AssertionError("\n\n".join(_explain(result, f) for f in bad))


def assert_violation(result: Result, prop: str, *, steps: Seq[str] | None = None, when: str | None = None,
                     persisting: bool | None = None) -> None:
    """Fail unless ``prop`` is violated. ``when`` must be one of the reported implementation
    conditions (e.g. "nt_fault=never"); ``persisting`` whether it outlives the sequence; ``steps``
    (action codes as in a trace path, e.g. ["u", "u", "w0.0.0"]) are replayed against the
    semantics and must end by showing ``prop``, whichever path the search happened to find."""
    __tracebackhide__ = True
    (f,) = _select(result, [prop])
    if f.verdict is not Verdict.VIOLATED:
        raise AssertionError(f"expected {prop} to be violated in {result.model} at {result.level}, but it is "
                             f"{verdict_phrase(f)} ({f.bound})")
    if when is not None and f.violated_when and when not in f.violated_when:
        raise AssertionError(f"{prop} is violated only on {' or '.join(f.violated_when)}, not on {when}")
    if persisting is not None and f.persisting != persisting:
        raise AssertionError(f"{prop} is {'persisting' if f.persisting else 'transient'} in {result.model}, "
                             f"expected {'persisting' if persisting else 'transient'}\n\n{_explain(result, f)}")
    if steps is not None:
        _replay_steps(result, prop, steps)


def _replay_steps(result: Result, prop: str, steps: Seq[str]) -> None:
    __tracebackhide__ = True
    from .verify import rerun

    if result.context is None:
        raise AssertionError("this result carries no model to replay steps against")
    errors = []
    for run in rerun(result, list(steps)):
        if run.shows(prop):
            return
        label = run.system.choices[run.choice].label()
        why = str(run.error) if run.error is not None else f"the last step does not show {prop}"
        errors.append(f"{label}: {why}")
    raise AssertionError(f"the steps {' '.join(steps)} do not show {prop} on any implementation:\n  "
                         + "\n  ".join(errors))


def assert_reachable(result: Result, witness: str = "new-mapping-used") -> None:
    """Fail unless the witness ('updater-done', 'new-mapping-used') was reached in every
    implementation explored."""
    __tracebackhide__ = True
    if not result.witnesses.get(witness, False):
        raise AssertionError(f"{result.model}: witness {witness!r} not reached ({result.witnesses})")


# ---- fixture, marker, collection -------------------------------------------------------------


@pytest.fixture
def bbm() -> Checker:
    """Check models from a test: ``bbm.check(name_or_path_or_sequence, level=..., vcpus=...)``."""
    return Checker()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bbm_levels(*levels): run the test once per FEAT_BBM level, "
                                       "passed as the 'bbm_level' argument")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("bbm_levels")
    if marker is None or "bbm_level" not in metafunc.fixturenames:
        return
    levels = [FeatBBM.parse(str(x)).value for x in (marker.args or [lv.value for lv in FeatBBM])]
    metafunc.parametrize("bbm_level", levels, ids=levels)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".toml" or file_path.name == "pyproject.toml":
        return None
    try:
        head = file_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if "[tables." not in head or "program" not in head:
        return None
    return ModelFile.from_parent(parent, path=file_path)


class ModelFile(pytest.File):
    def collect(self) -> Iterable[pytest.Item]:
        yield ModelItem.from_parent(self, name=self.path.stem)


class ModelClaimsFailed(Exception):
    pass


class ModelItem(pytest.Item):
    """A model file as a test: its claims must hold, or, with expect = "claims-refuted", be refuted."""

    def runtest(self) -> None:
        from .report.text import render
        from .verify import verify

        seq = load_model(str(self.path))
        result = verify(seq)
        wanted = 1 if seq.expect == "claims-refuted" else 0
        if result.exit_code != wanted:
            what = {0: "every claim holds", 1: "a claim is refuted", 3: "the search was inconclusive"}
            if result.claims == "none":  # a model without [claims]
                what[1] = "an error-severity property is violated"
            raise ModelClaimsFailed(f"expected {seq.expect}, but {what.get(result.exit_code, 'error')}\n\n"
                                    + render(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ModelClaimsFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"bbmcheck model {self.name}"
