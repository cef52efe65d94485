"""A folder of one's own under the system's temporary folder, named after a project path.

For what must live near ``/tmp`` rather than in the project: a PostgreSQL data folder the server's
user cannot reach under ``/root``, and Unix sockets, whose path must fit in 107 bytes, which a
deep project folder exceeds. The name is a digest of the path, so one checkout finds its folder
again and two checkouts never share one.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path


def temp_folder(prefix: str, of: Path) -> Path:
    """``<system temp>/<prefix>-<digest of of>`` (not created)."""
    digest = hashlib.sha1(str(of.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"{prefix}-{digest}"
