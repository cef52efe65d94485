"""Lookup tables as ops declare them (``tables:`` in ``flow.yaml``): key columns, the owner column, coverage.

::

    tables:
      us_states:
        file: tables/us_states.csv
        keys: {state: exact}                  # column -> key kind (KEY_KINDS)
        value: owner                          # a user id, queue:<name> or pool:<name>
        covers:
          - {key: state, values: us_states}   # validate: a row for every state and DC

The rows themselves are read by :mod:`pipelines.routing.tables.files` and looked up by
:mod:`pipelines.routing.tables.lookup`; coverage is checked by
:mod:`pipelines.routing.tables.coverage`.
"""

from __future__ import annotations

from typing import Any

from pipelines.routing.language.model import Node
from pipelines.routing.language.problems import ProblemLog, suggest
from pipelines.routing.language.problems import where as where_of
from pipelines.sourcefile import LineDict, SourceRef

# Table key kinds: how a key column of a table matches a lead's field.
KEY_KINDS: dict[str, str] = {
    "exact": "the cell equals the field (case-insensitive); an empty cell matches anything",
    "prefix": "the field starts with the cell (NAICS 54 matches 541511); the longest prefix wins",
    "suffix": "the field ends with the cell (.edu matches stanford.edu); the longest suffix wins",
    "range": "the field is between <key>_from and <key>_to, compared as text on as many characters as the "
             "bound has (ZIP 94000-95199; company names A-F)",
    "number_range": "the number is between <key>_from and <key>_to, both included; an empty bound is open",
    "area": "the lead's latitude/longitude lies inside the polygon (WKT in the CSV cell, or a GeoJSON feature)",
}


class Coverage(Node):
    """A table must have a row for every value of ``values`` (or span [low, high] without gaps)."""

    key: str
    values: list[str] = []
    span: tuple[str, str] | None = None
    scope: dict[str, str] = {}  # only rows with these exact key values count
    label: str = ""


class TableDecl(Node):
    name: str
    file: str
    keys: dict[str, str]  # column -> key kind (KEY_KINDS)
    value: str = ""  # column holding the owner (a user id, queue:<name> or pool:<name>); none for in_table-only tables
    description: str = ""
    allow_gaps: bool = False
    covers: list[Coverage] = []

    def columns(self, key: str) -> list[str]:
        kind = self.keys[key]
        return [f"{key}_from", f"{key}_to"] if kind in ("range", "number_range") else [key]


# Named value sets a table's `covers: {values: <name>}` may use.
US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR "
    "PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
CA_PROVINCES = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()
EU_COUNTRIES = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
EUROPE = EU_COUNTRIES + "GB CH NO IS LI".split()
CH_CANTONS = "AG AI AR BE BL BS FR GE GL GR JU LU NE NW OW SG SH SO SZ TG TI UR VD VS ZG ZH".split()

VALUE_SETS: dict[str, list[str]] = {
    "us_states": US_STATES,           # the 50 states and DC, as ISO 3166-2 codes without "US-"
    "ca_provinces": CA_PROVINCES,     # Canadian provinces and territories
    "eu_countries": EU_COUNTRIES,     # the 27 EU member states, ISO 3166-1 alpha-2
    "europe": EUROPE,                 # EU + GB, CH, NO, IS, LI
    "ch_cantons": CH_CANTONS,         # the 26 Swiss cantons
}


def parse_tables(log: ProblemLog, file: str, data: LineDict) -> dict[str, TableDecl]:
    """The ``tables:`` of flow.yaml, each at its line; problems go to ``log``."""
    decls = {}
    for name, node in (data.get("tables") or {}).items():
        decl = table_decl(log, file, str(name), node, where_of(file, data["tables"], name))
        if decl is not None:
            decls[decl.name] = decl
    return decls


def table_decl(log: ProblemLog, file: str, name: str, node: Any, where: SourceRef) -> TableDecl | None:
    if not isinstance(node, dict) or not {"file", "keys"} <= set(node):
        log.problem(where, f"table {name!r} needs `file` and `keys` (and `value`: the column with the owner)")
        return None
    unknown = set(node) - {"file", "keys", "value", "description", "covers", "allow_gaps"}
    if unknown:
        log.problem(where, f"table {name!r}: unknown key(s) {sorted(unknown)}")
    keys = dict(node["keys"]) if isinstance(node["keys"], dict) else {k: "exact" for k in node["keys"]}
    for col, kind in keys.items():
        if kind not in KEY_KINDS:
            log.problem(where_of(file, node, "keys"),
                         f"table {name!r}: key {col!r} has unknown kind {kind!r}{suggest(kind, KEY_KINDS)}")
            return None
    covers = []
    raw = node.get("covers") or []
    for item in raw if isinstance(raw, list) else [raw]:
        cov = coverage(log, file, name, keys, item, where_of(file, node, "covers"))
        if cov is not None:
            covers.append(cov)
    return TableDecl(where=where, name=name, file=str(node["file"]), keys=keys, value=str(node.get("value") or ""),
                     description=str(node.get("description", "")), allow_gaps=bool(node.get("allow_gaps", False)),
                     covers=covers)

def coverage(log: ProblemLog, file: str, table: str, keys: dict[str, str], node: Any, where: SourceRef
             ) -> Coverage | None:
    """``covers: {key: state, values: us_states, where: {country: US}}`` or ``{key: zip, from: .., to: ..}``."""
    where = where_of(file, node) if isinstance(node, LineDict) else where
    if not isinstance(node, dict) or node.get("key") not in keys:
        log.problem(where, f"table {table!r}: `covers` needs `key:` one of its keys ({', '.join(keys)})")
        return None
    key, kind = node["key"], keys[node["key"]]
    scope = {str(k): str(v) for k, v in (node.get("where") or {}).items()}
    bad_scope = [k for k in scope if keys.get(k) != "exact"]
    if bad_scope:
        log.problem(where, f"table {table!r}: `covers.where` may only name exact keys, not {bad_scope}")
        return None
    if kind in ("range", "number_range"):
        if "from" not in node or "to" not in node:
            log.problem(where, f"table {table!r}: coverage of range key {key!r} needs `from` and `to`")
            return None
        return Coverage(where=where, key=key, span=(str(node["from"]), str(node["to"])), scope=scope,
                        label=f"{node['from']}-{node['to']}")
    values = node.get("values")
    label = str(values) if isinstance(values, str) else "the listed values"
    if isinstance(values, str):
        if values not in VALUE_SETS:
            log.problem(where, f"unknown value set {values!r}{suggest(values, VALUE_SETS)}")
            return None
        values = VALUE_SETS[values]
    if not isinstance(values, list) or not values:
        log.problem(where, f"table {table!r}: `covers.values` needs a list or one of {', '.join(VALUE_SETS)}")
        return None
    return Coverage(where=where, key=key, values=[str(v) for v in values], scope=scope, label=label)
