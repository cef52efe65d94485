"""One writer at a time, decided atomically, and runs whose process died told apart from live ones.

**The lock.** A run that writes the warehouse holds an exclusive ``flock`` on a file beside
it (``warehouse.duckdb.writer.lock``) for its whole duration. Taking it is one system call,
not a check of the run list followed by a start, so two ticks started at the same moment
cannot both pass: the second is told at once who holds it. The kernel releases the lock
when the holder's process ends, however it ends (``kill -9``, out of memory), so a dead
tick never keeps the next one out. The lock is re-entrant within a process (the CLI takes
it before starting the run, the run's warehouse resource takes it again).

**Dead runs.** Dagster records a run as started until someone says otherwise; a process
killed mid-run says nothing. Each writer run records its process (pid, host, process start
time) in its tags; a run still marked in progress whose process on this host is gone (or
is now another program under a recycled pid) is dead. :func:`gone` says so, with the reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pipelines.warehouse.errors import WarehouseBusy

PID_TAG = "leadroute/pid"
HOST_TAG = "leadroute/host"
STARTED_TAG = "leadroute/process_started"
# Which run wrote the three tags above. Dagster copies a run's tags to its retries and
# re-executions, so a retry queued after a crash carries its dead parent's pid until its own
# process replaces them: only tags a run wrote itself say anything about that run's process.
RUN_TAG = "leadroute/pid_of_run"

_held: dict[str, list] = {}  # lock path -> [fd, depth]


def lock_path(warehouse: str | Path) -> Path:
    return Path(f"{warehouse}.writer.lock")


@contextlib.contextmanager
def hold(warehouse: str | Path, what: str = "a run") -> Iterator[None]:
    """Hold the warehouse's writer lock, or raise :class:`WarehouseBusy` naming the holder at once."""
    path = lock_path(warehouse)
    key = str(path.resolve())
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        who = (f"{holder.get('what', 'a run')} (pid {holder.get('pid')} on {holder.get('host')}, "
               f"since {holder.get('since')})") if holder else "another process"
        raise WarehouseBusy(f"busy: {who} is writing the warehouse {warehouse}; one writer at a time, "
                            f"try again when it finishes") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"what": what, "pid": os.getpid(), "host": socket.gethostname(),
                              "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}).encode(), 0)
    _held[key] = [fd, 1]
    try:
        yield
    finally:
        del _held[key]
        os.close(fd)  # releases the lock


def _read(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def process_tags(run_id: str) -> dict[str, str]:
    """What identifies this process in the tags of the run ``run_id`` it executes."""
    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), STARTED_TAG: _started(pid) or "", RUN_TAG: run_id}


def gone(run_id: str, tags: Mapping[str, str]) -> str | None:
    """Why the process the run's tags name is dead, or None while it lives, lives on another host
    (where only the daemon's run monitoring can tell), or is not yet known (tags inherited from the
    run this one retries: its own process has not started)."""
    pid = tags.get(PID_TAG)
    if not pid or tags.get(HOST_TAG) != socket.gethostname() or tags.get(RUN_TAG) != run_id:
        return None
    where = f"its process (pid {pid} on {tags[HOST_TAG]})"
    started = _started(int(pid))
    if started is None:
        return f"{where} is gone: killed, out of memory or the machine restarted"
    if tags.get(STARTED_TAG) and started != tags[STARTED_TAG]:
        return f"{where} is gone; that pid now belongs to another program"
    return None


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), so a recycled pid is not mistaken
    for the run's process; elsewhere only whether the pid exists ("?")."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else fields[19]  # a zombie has ended: only its exit status is left
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "?"
