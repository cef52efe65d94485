"""Loading big libraries with the cyclic garbage collector paused, in a process that ends with its command.

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
