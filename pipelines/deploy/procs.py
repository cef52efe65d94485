"""Processes as Linux shows them in /proc: alive (a zombie is not), and the members of a group."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _stat(pid: int, proc: Path = PROC) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None when gone."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; the rest follows the last ")".
    return text.rsplit(")", 1)[1].split()


def process_alive(pid: int, proc: Path = PROC) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped, is not)."""
    fields = _stat(pid, proc)
    return fields is not None and fields[0] not in ("Z", "X")


def group_alive(pgid: int, proc: Path = PROC) -> bool:
    """Whether any live process belongs to the process group ``pgid``."""
    for entry in proc.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name), proc)
            if fields is not None and fields[0] not in ("Z", "X") and fields[2] == str(pgid):
                return True
    return False
