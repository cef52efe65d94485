"""Geographic areas for routing: polygons ops draw, tested on a lead's latitude and longitude.

Splits like "Los Angeles north and south of the I-10" are polygons. Ops keep them in
a table's CSV (a WKT cell, longitude first as WKT is: ``POLYGON((-118.7 34.0, ...))``)
or in a GeoJSON file whose features carry the other columns as properties. Tests are
vectorised with shapely 2 (``contains_xy`` over all leads at once, per polygon), and
a point on the boundary counts as inside (``covers``), so no lead falls between two
areas that share an edge.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.sourcefile import MAX_TABLE_BYTES, ConfigError, ConfigProblem, SourceRef, read_text


def parse(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """WKT cells as shapely geometries (None for empty cells), and why each bad cell is bad."""
    import shapely  # only rule sets with areas pay for the import

    geoms = pd.Series(None, index=cells.index, dtype=object)
    bad = pd.Series(dtype=object)
    if not cells.map(lambda c: isinstance(c, str) and bool(c.strip())).any():
        return geoms, bad
    for i, text in cells.items():
        if isinstance(text, str) and text.strip():
            try:
                g = shapely.from_wkt(text)
            except Exception as exc:  # shapely raises GEOSException with the parser's message
                bad[i] = str(exc).split("\n")[0][:80]
                continue
            if g.geom_type not in ("Polygon", "MultiPolygon"):
                bad[i] = f"a {g.geom_type} is not an area"
            elif not g.is_valid:
                bad[i] = "the polygon crosses itself"
            else:
                shapely.prepare(g)
                geoms[i] = g
        elif not isinstance(text, str) and text is not None and not pd.isna(text):
            geoms[i] = text  # already a geometry (GeoJSON)
    return geoms, bad


def read_geojson(path: Path, key: str, display: str | None = None) -> list[tuple[int, dict]]:
    """Features as (feature number, row) pairs: properties as text cells, the geometry under ``key``.

    Anything that is not a FeatureCollection of features with properties and a geometry is a
    :class:`ConfigError` at the file (the JSON parser's line for malformed JSON; otherwise the
    feature's number, as JSON keeps no lines once parsed).
    """
    from shapely.geometry import shape

    name = display or str(path)
    text = read_text(path, name, limit=MAX_TABLE_BYTES, bom=True)

    def fail(message: str, line: int = 1) -> ConfigError:
        return ConfigError([ConfigProblem(SourceRef(name, line), message)])

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"malformed GeoJSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise fail("malformed GeoJSON: nested too deep") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise fail("expected a GeoJSON FeatureCollection: {\"type\": \"FeatureCollection\", \"features\": [...]}")
    rows = []
    for n, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or not isinstance(props or {}, dict):
            raise fail(f"feature {n}: expected {{\"type\": \"Feature\", \"properties\": {{...}}, \"geometry\": {{...}}}}")
        row = {str(k): "" if v is None else str(v) for k, v in (props or {}).items()}
        try:
            geom = shape(feature["geometry"]) if feature.get("geometry") else None
        except Exception as exc:  # shapely raises several kinds (GeometryTypeError, ValueError, IndexError...)
            raise fail(f"feature {n}: its geometry cannot be read ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from None
        row[key] = geom.wkt if geom is not None else ""
        rows.append((n, row))
    return rows


def contains(geom, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Which points (lat, lon arrays) lie in ``geom`` (boundary included); NaN points never do."""
    import shapely

    if geom is None:
        return np.zeros(len(lat), dtype=bool)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    out = np.zeros(len(lat), dtype=bool)
    if ok.any():
        inside = shapely.contains_xy(geom, lon[ok], lat[ok])
        boundary = shapely.intersects_xy(geom.boundary, lon[ok], lat[ok])
        out[ok] = inside | boundary
    return out


def contains_pairs(geoms: pd.Series, lat: pd.Series, lon: pd.Series) -> np.ndarray:
    """Pairwise: whether point i lies in polygon i (grouped by polygon, so still one call per polygon)."""
    out = np.zeros(len(geoms), dtype=bool)
    codes, uniques = pd.factorize(geoms.map(id))
    lat_a, lon_a = lat.to_numpy(dtype=float), lon.to_numpy(dtype=float)
    geom_of = dict(zip(codes, geoms))
    for code in range(len(uniques)):
        rows = codes == code
        out[rows] = contains(geom_of[code], lat_a[rows], lon_a[rows])
    return out
