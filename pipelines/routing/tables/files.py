"""A declared table's rows, read from its CSV or GeoJSON file once per run, every bad cell at its line.

Each row keeps its line (``_line``), so a decision's trace and every problem point at the
line ops wrote; the parsed key columns a lookup uses are added by
:func:`pipelines.routing.tables.lookup.prepare`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.routing.language.problems import ProblemLog
from pipelines.routing.language.tables import TableDecl
from pipelines.routing.tables import geo
from pipelines.routing.tables.lookup import prepare
from pipelines.sourcefile import ConfigError, SourceRef, read_csv


def read_rows(log: ProblemLog, decl: TableDecl, path: Path, display: str, declared_in: str) -> pd.DataFrame | None:
    """The rows of ``decl``'s file at ``path`` (shown as ``display``), or None when it cannot be used.

    ``declared_in`` is the file that declares the table (flow.yaml), named in the message about
    missing columns.
    """
    if not path.exists():
        log.problem(decl.where, f"table {decl.name!r}: file {decl.file!r} not found in the rules folder")
        return None
    area_keys = [k for k, kind in decl.keys.items() if kind == "area"]
    try:
        if path.suffix.lower() in (".geojson", ".json"):
            if len(area_keys) != 1:
                log.problem(decl.where, f"table {decl.name!r}: a GeoJSON table needs exactly one key of kind area")
                return None
            records = geo.read_geojson(path, area_keys[0], display)
        else:
            records = read_csv(path, display)
    except ConfigError as exc:
        log.extend(exc.problems)
        return None
    except OSError as exc:  # not the message: it may quote the file
        log.problem(SourceRef(display, 1), f"cannot read the file ({exc.strerror or type(exc).__name__})")
        return None
    df = pd.DataFrame([r for _, r in records], dtype=object)
    df["_line"] = [line for line, _ in records]
    needed = [c for k in decl.keys for c in decl.columns(k)] + ([decl.value] if decl.value else [])
    missing = [c for c in needed if records and c not in df.columns]
    if missing:
        log.problem(SourceRef(display, 1), f"missing column(s) {missing}; table {decl.name!r} declares them "
                                           f"in {declared_in} (a range key needs <key>_from and <key>_to)")
        return None
    if not records:
        df = pd.DataFrame(columns=needed + ["_line"], dtype=object)
    df, problems = prepare(decl, df, display)
    log.extend(problems)
    return df
