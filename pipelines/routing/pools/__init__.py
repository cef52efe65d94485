"""Distribution pools: who is in a pool, whose turn it is, what pools remember between runs.

``membership`` (members, lead language, sticky company keys), ``member_table`` (the
members as one call finds them: availability, weight, room under caps, next turn),
``turns`` (stride scheduling: round robin, weights, ramps, load, caps in one mechanism),
``allocation`` (the leads of one pool action to members, each with why), ``recording``
(what a call leaves in the book), ``book`` (pool state loaded and saved once per run), ``catalog`` (the pools by name with the company days off),
``checks`` (for ``leadroute validate``), ``report`` (every pool now, for the CLI and
the UI). Declarations are in :mod:`pipelines.routing.language.pools`.

May import: ``language``, ``roster``.
"""

from pipelines.routing.pools.allocation import assign
from pipelines.routing.pools.book import MemberState, PoolBook, PoolState, load_states, save_states
from pipelines.routing.pools.member_table import snapshot

__all__ = ["assign", "snapshot", "PoolBook", "PoolState", "MemberState", "load_states", "save_states"]
