"""The explored state graph as a networkx DiGraph, for export and analysis of small models.

networkx is used on the finished graph only (never as the search's visited set): DOT export of
the whole graph with a counterexample highlighted (``bbmcheck show --graph``).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from ..replay import Replay
from ..system.describe import action_code
from ..system.state import Kind, State
from ..system.step import canonical
from .explicit import Exploration, explore

GRAPH_LIMIT = 20_000  # states: a larger graph is not drawn


class TooLarge(ValueError):
    """The state graph has more states than can be drawn."""


def state_graph(ex: Exploration) -> Any:
    if ex.edges is None:
        raise ValueError("explore(..., record_edges=True) is needed for the state graph")
    g = nx.DiGraph()
    for order, (key, (parent, _action, depth)) in enumerate(ex.visited.items()):
        g.add_node(key, order=order, init=parent is None, label=f"pc={key.pc} depth={depth}")
    for a, b, action in ex.edges:
        if g.has_edge(a, b):
            g.edges[a, b]["label"] += " " + action_code(action)
        else:
            g.add_edge(a, b, label=action_code(action))
    return g


def path_keys(ex: Exploration, key: State) -> list[State]:
    """The node keys from an initial state to ``key`` along the BFS parent map."""
    out = [key]
    while True:
        parent = ex.visited[key][0]
        if parent is None:
            return out[::-1]
        out.append(parent)
        key = parent


def path_graph(run: Replay, limit: int = GRAPH_LIMIT) -> tuple[Any, list[State]]:
    """The whole explored state graph of the replayed path's system (symmetry on, as the search
    runs) and the nodes the path passes through, in order (a lookup is no transition of the graph).
    Raises :class:`TooLarge` past ``limit`` states."""
    ex = explore(run.system, record_edges=True, max_states=limit)
    if not ex.complete:
        raise TooLarge(f"the state graph has more than {limit} states; too large to draw")
    graph = state_graph(ex)
    keys = [canonical(run.initial)] + [canonical(r.after) for r in run.rows if r.action.kind is not Kind.LOOKUP]
    return graph, [k for k in keys if k in graph] or path_keys(ex, keys[0])
