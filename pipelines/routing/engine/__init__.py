"""The engine: a flow's steps applied to a whole batch of leads at once, every decision with its trace.

Modules: :mod:`.router` (a flow over a batch; follows nested flows, pool fallbacks and
table rows naming a pool), :mod:`.conditions` (a condition tree as one boolean column),
:mod:`.actions` (who gets the leads), :mod:`.hold` (hold until), :mod:`.side_actions`
(convert, task, set, campaign), :mod:`.policy` (which leads may be rerouted at all),
:mod:`.trace` (per-lead JSON built column by column) and :mod:`.context` (what a run
knows besides the rules).

May import: ``language``, ``roster``, ``tables``, ``pools``, ``ruleset``; nothing that
reads or writes the warehouse except the policy's record of blocked reroutes.

The stages call the engine through this package (``engine.route(...)``), so a test can
wrap :func:`route` in one place.
"""

from pipelines.routing.engine.actions import Resolution
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.engine.router import NO_STEP, UNROUTABLE, route

__all__ = ["RouteContext", "Resolution", "route", "UNROUTABLE", "NO_STEP"]
