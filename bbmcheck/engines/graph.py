"""The explored state graph as a networkx DiGraph, for export and analysis of small models.

networkx is used on the finished graph only (never as the search's visited set): DOT export of
the whole graph with a counterexample highlighted.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from ..system.describe import action_code
from .explicit import Exploration


def state_graph(ex: Exploration) -> Any:
    if ex.edges is None:
        raise ValueError("explore(..., record_edges=True) is needed for the state graph")
    g = nx.DiGraph()
    for order, (key, (parent, _action, depth)) in enumerate(ex.visited.items()):
        g.add_node(key, order=order, init=parent is None, label=f"pc={key[1]} depth={depth}")
    for a, b, action in ex.edges:
        if g.has_edge(a, b):
            g.edges[a, b]["label"] += " " + action_code(action)
        else:
            g.add_edge(a, b, label=action_code(action))
    return g


def path_keys(ex: Exploration, key: Any) -> list[Any]:
    """The node keys from an initial state to ``key`` along the BFS parent map."""
    out = [key]
    while True:
        parent = ex.visited[key][0]
        if parent is None:
            return out[::-1]
        out.append(parent)
        key = parent
