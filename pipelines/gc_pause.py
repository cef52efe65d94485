"""The cyclic garbage collector, tuned for a process that runs the pipeline's stages.

**Collecting less often** (:func:`collect_less_often`, in every process that builds the definitions:
``leadroute tick``, a run the daemon launches, the code server, tests). CPython collects its youngest
objects after 700 more container allocations than deallocations, and after enough of those every
object the process holds. Importing Dagster, pandas and Great Expectations and building a stage's
frames allocate millions of objects that stay, so full collections came often and each walked them
all: a one-lead tick run in a process without the pause below (as a run the daemon launches is) spent
0.95-1.01 s of its 6.2-6.6 s of CPU in 1,193 collections, seven of them full. Collecting the youngest
generation after :data:`YOUNG_OBJECTS` from the moment the definitions are built: 402 collections in
0.32-0.39 s, at the same peak memory. Garbage in reference cycles waits longer to be freed; a stage's
frames are freed by reference counting, not by the collector.

**Loading big libraries with the collector paused**, in a process that ends with its command.

Importing Dagster, SQLAlchemy and pandas at start-up, or Great Expectations when a check has rows,
creates millions of long-lived objects and next to no garbage, yet the collector walks them all
again each time enough of them pile up: 0.3-0.4 s of CPU for the start-up of a tick process, 0.4-0.6 s
for Great Expectations' import. :func:`loading` pauses the collector while such a library loads, then
moves what it built out of later collections (``gc.freeze``) and turns the collector back on.

Only in a ``leadroute tick`` process (:func:`process_ends_with_command`, called by the entry point
for the commands that end their process without teardown): frozen objects are never collected, and
neither is whatever garbage was pending at that moment, which a test process or a long-lived server
would keep, and at a normal exit DuckDB's bindings report its frozen objects as leaked. Elsewhere
:func:`loading` does nothing.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_one_command = False

# The youngest generation's threshold (CPython's default: 700); set from the start of that tick, 10,000
# and 50,000 both took its collections from 1.0 to 0.3 s.
YOUNG_OBJECTS = 50_000


def collect_less_often() -> None:
    """Collect the youngest generation after :data:`YOUNG_OBJECTS` allocations, not 700 (never lowered)."""
    young, middle, old = gc.get_threshold()
    if young < YOUNG_OBJECTS:
        gc.set_threshold(YOUNG_OBJECTS, middle, old)


def process_ends_with_command() -> None:
    """Called by the ``leadroute`` entry point: this process runs one command and exits without teardown."""
    global _one_command
    _one_command = True


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Run the block (imports, building definitions) with the collector paused, then freeze what it built."""
    if not _one_command or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
