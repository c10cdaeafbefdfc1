"""The per-address searches on a Dask distributed cluster (``verify --scheduler``; the optional
extra ``bbmcheck[cluster]``). A worker gets the sequence, the configuration and one address, builds
the whole system once per process (cached by the model's digest and the configuration) and sends
back the same ``Searched`` record a local worker does; ``decompose`` merges them in address order,
so the result is the one a single process gives."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..arch.config import Config
from ..errors import InputError
from ..sequences.schema import Sequence
from ..system.build import System, build
from .decompose import Ask, Searched, search_one

_SEQS: dict[str, Sequence] = {}


@lru_cache(maxsize=4)
def _whole(key: str, config: Config, vcpus: int) -> System:
    return build(_SEQS[key], config, vcpus=vcpus)


def _run_one(seq: Sequence, config: Config, vcpus: int, ai: int, ask: Ask) -> Searched:
    key = f"{seq.sha256}:{seq.name}"
    _SEQS.setdefault(key, seq)
    return search_one(_whole(key, config, vcpus), ai, ask)


def dask_runner(address: str) -> Callable[[System, list[int], Ask], list[Searched]]:
    """A runner for ``explore_decomposed``: the searches go to the scheduler at ``address`` ('local':
    a local cluster of processes, started for the run and closed after it)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("<command-line>", 1, 1, "--scheduler needs Dask: pip install 'bbmcheck[cluster]'") from None

    def run(s: System, reps: list[int], ask: Ask) -> list[Searched]:
        cluster: Any = LocalCluster(processes=True, dashboard_address=None) if address == "local" else None  # type: ignore[no-untyped-call]
        try:
            with Client(cluster if cluster is not None else address) as client:  # type: ignore[no-untyped-call]
                futures = client.map(_run_one, [s.seq] * len(reps), [s.config] * len(reps),
                                     [s.vcpus] * len(reps), reps, [ask] * len(reps), pure=False)
                return list(client.gather(futures))
        finally:
            if cluster is not None:
                cluster.close()

    return run
