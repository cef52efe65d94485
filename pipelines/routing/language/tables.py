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

from pydantic import ValidationInfo, model_validator

from pipelines.routing.language.node import Node, Written, at
from pipelines.routing.language.problems import suggest
from pipelines.sourcefile import LineDict, SourceRef, problem

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
    """One table of ``tables:``; read from ``Written(node, where, name)``."""

    name: str
    file: str
    keys: dict[str, str]  # column -> key kind (KEY_KINDS)
    value: str = ""  # column holding the owner (a user id, queue:<name> or pool:<name>); none for in_table-only tables
    description: str = ""
    allow_gaps: bool = False
    covers: list[Coverage] = []

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, name = data
        if not isinstance(node, dict) or not {"file", "keys"} <= set(node):
            raise problem(f"table {name!r} needs `file` and `keys` (and `value`: the column with the owner)", where)
        unknown = set(node) - {"file", "keys", "value", "description", "covers", "allow_gaps"}
        if unknown:
            raise problem(f"table {name!r}: unknown key(s) {sorted(unknown)}", where)
        raw_keys = node["keys"]
        if not (isinstance(raw_keys, dict) or isinstance(raw_keys, list) and all(isinstance(k, str) for k in raw_keys)) \
                or not raw_keys:
            raise problem(f"table {name!r}: keys must map each key column to its kind ({{state: exact}}) or list "
                          f"the columns", at(info, node, "keys"))
        if not isinstance(node["file"], str) or not node["file"].strip():
            raise problem(f"table {name!r}: file must be a path under the rules folder, e.g. tables/{name}.csv",
                          at(info, node, "file"))
        keys = {str(k): v for k, v in raw_keys.items()} if isinstance(raw_keys, dict) else {k: "exact" for k in raw_keys}
        for col, kind in keys.items():
            if not isinstance(kind, str) or kind not in KEY_KINDS:
                raise problem(f"table {name!r}: key {col!r} has unknown kind {kind!r}{suggest(kind, KEY_KINDS)}",
                              at(info, node, "keys"))
        raw = node.get("covers") or []
        covers = [_coverage(info, name, keys, item, at(info, node, "covers")) for item in (raw if isinstance(raw, list)
                                                                                          else [raw])]
        return {"where": where, "name": name, "file": str(node["file"]), "keys": keys,
                "value": str(node.get("value") or ""), "description": str(node.get("description", "")),
                "allow_gaps": node.get("allow_gaps", False), "covers": covers}

    def columns(self, key: str) -> list[str]:
        kind = self.keys[key]
        return [f"{key}_from", f"{key}_to"] if kind in ("range", "number_range") else [key]


def _coverage(info: ValidationInfo, table: str, keys: dict[str, str], node: Any, where: SourceRef) -> Coverage:
    """``covers: {key: state, values: us_states, where: {country: US}}`` or ``{key: zip, from: .., to: ..}``."""
    where = at(info, node) if isinstance(node, LineDict) else where
    if not isinstance(node, dict) or node.get("key") not in keys:
        raise problem(f"table {table!r}: `covers` needs `key:` one of its keys ({', '.join(keys)})", where)
    key, kind = node["key"], keys[node["key"]]
    scope = {str(k): str(v) for k, v in (node.get("where") or {}).items()}
    bad_scope = [k for k in scope if keys.get(k) != "exact"]
    if bad_scope:
        raise problem(f"table {table!r}: `covers.where` may only name exact keys, not {bad_scope}", where)
    if kind in ("range", "number_range"):
        if "from" not in node or "to" not in node:
            raise problem(f"table {table!r}: coverage of range key {key!r} needs `from` and `to`", where)
        return Coverage(where=where, key=key, span=(str(node["from"]), str(node["to"])), scope=scope,
                        label=f"{node['from']}-{node['to']}")
    values = node.get("values")
    label = str(values) if isinstance(values, str) else "the listed values"
    if isinstance(values, str):
        if values not in VALUE_SETS:
            raise problem(f"unknown value set {values!r}{suggest(values, VALUE_SETS)}", where)
        values = VALUE_SETS[values]
    if not isinstance(values, list) or not values:
        raise problem(f"table {table!r}: `covers.values` needs a list or one of {', '.join(VALUE_SETS)}", where)
    return Coverage(where=where, key=key, values=[str(v) for v in values], scope=scope, label=label)


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
