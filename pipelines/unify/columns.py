"""SQL for one canonical column: clean, map, cast and check each source, then apply precedence.

Each source value goes through the same steps, in SQL over the whole batch:

1. *clean*: trimmed text, empty -> NULL;
2. *map*: the column's value map, by spelling key (``value_maps.py``);
3. *cast*: to the column's type (``"1,200"``, ``"500-1000"``, ``"10,000+"``, ``"~250"``
   read as headcounts);
4. *check*: ``format: email``.

A source is *usable* when it survives all four; precedence picks among the usable
ones. A present value that fails the cast or the check is *invalid*: counted and
shown, and with ``on_invalid: quarantine`` it sends the record to quarantine when
it leaves the column empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.crm.fields import FieldSpec
from pipelines.unify.value_maps import key_sql

# Deliberately plain: one @, a dot in the domain, no spaces or brackets. Stricter RFC
# parsing rejects addresses real people use; looser lets "jane@" and "x(at)y" through.
EMAIL_PATTERN = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
# Control characters (tab, newline and carriage return are fine) and U+FFFD, the mark of text decoded wrongly.
UNREADABLE_PATTERN = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F\\x{FFFD}]"

# A headcount typed as text: "500-1000" (a range: its midpoint), "10,000+" (at least), "~250", "1.2k".
_RANGE = r"^(\d+)\s*(?:-|–|to)\s*(\d+)$"
_KILO = r"^(\d+(?:\.\d+)?)\s*[kK]$"


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def clean_sql(src: str, alias: str = "r") -> str:
    return f"NULLIF(trim(CAST({alias}.\"{src}\" AS VARCHAR)), '')"


def _number_text(expr: str) -> str:
    """Text with thousands separators, spaces, '~', '+', 'approx' removed."""
    return (f"regexp_replace(lower({expr}), '[,\\s~+]|approx\\.?|about|circa|ca\\.', '', 'g')")


def cast_sql(expr: str, type_: str) -> str:
    """SQL that casts a cleaned text expression to a canonical type, NULL when it does not cast."""
    if type_ == "text":
        return expr
    if type_ in ("int", "float"):
        plain = _number_text(expr)
        number = (
            f"coalesce(TRY_CAST({plain} AS DOUBLE), "
            f"(TRY_CAST(regexp_extract({plain}, '{_RANGE}', 1) AS DOUBLE) "
            f"+ TRY_CAST(regexp_extract({plain}, '{_RANGE}', 2) AS DOUBLE)) / 2, "
            f"TRY_CAST(regexp_extract({plain}, '{_KILO}', 1) AS DOUBLE) * 1000)"
        )
        return f"TRY_CAST(round({number}) AS BIGINT)" if type_ == "int" else number
    if type_ == "bool":
        return (
            f"CASE lower({expr}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false "
            f"WHEN '0' THEN false END"
        )
    if type_ == "timestamp":
        return f"TRY_CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if type_ == "date":
        return f"coalesce(TRY_CAST({expr} AS DATE), TRY_CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS DATE))"
    raise ValueError(f"unknown type {type_!r}")


@dataclass
class SourceSql:
    """One source of one column, computed once in the first pass and named for the second.

    ``staged`` are the first pass's SELECT items; ``cleaned``, ``usable``, ``invalid`` and
    ``unmapped`` are the names the second pass (precedence, problems, counts) refers to,
    so the big expressions are written once, not once per use.
    """

    name: str
    cleaned: str
    usable: str
    invalid: str | None  # present but unusable (does not cast, malformed)
    unmapped: str | None  # present, not in the value map
    staged: list[str]


@dataclass
class ColumnSql:
    name: str
    spec: FieldSpec
    sources: list[SourceSql]
    value: str
    source: str | None  # provenance expression, when the column has several sources
    joins: list[str]


def source_sql(name: str, spec: FieldSpec, src: str, vm_table: str | None, tag: str) -> tuple[SourceSql, str | None]:
    cleaned = clean_sql(src)
    join = None
    mapped = cleaned
    unmapped = None
    if vm_table:
        alias = f"vm_{tag}"
        join = f'LEFT JOIN "{vm_table}" {alias} ON {alias}.key = {key_sql(cleaned)}'
        fallback = cleaned if spec.values.unmapped == "keep" else "NULL"
        # A spelling with no letters or digits ("-", "?") is no value at all.
        mapped = (f"CASE WHEN {alias}.key IS NOT NULL THEN {alias}.canonical "
                  f"WHEN {key_sql(cleaned)} = '' THEN NULL ELSE {fallback} END")
        unmapped = f"({cleaned} IS NOT NULL AND {alias}.key IS NULL AND {key_sql(cleaned)} <> '')"
    typed = cast_sql(mapped, spec.type)
    invalid = None
    usable = typed
    if spec.type != "text":
        invalid = f"({mapped} IS NOT NULL AND {typed} IS NULL)"
    if spec.format == "email":
        ok = f"regexp_full_match({typed}, {sql_literal(EMAIL_PATTERN)})"
        usable = f"CASE WHEN {ok} THEN {typed} END"
        invalid = f"({typed} IS NOT NULL AND NOT {ok})"
    names = {"cleaned": f'"c_{tag}"', "usable": f'"u_{tag}"', "invalid": f'"x_{tag}"' if invalid else None,
             "unmapped": f'"m_{tag}"' if unmapped else None}
    staged = [f"{cleaned} AS {names['cleaned']}", f"{usable} AS {names['usable']}"]
    if invalid:
        staged.append(f"{invalid} AS {names['invalid']}")
    if unmapped:
        staged.append(f"{unmapped} AS {names['unmapped']}")
    return SourceSql(src, names["cleaned"], names["usable"], names["invalid"], names["unmapped"], staged), join


def _wins_over(i: int, j: int, t: list[str | None]) -> str:
    """SQL: source i ranks before source j under most_recent (latest stamp first, unknown stamps last)."""
    ti, tj = t[i], t[j]
    earlier = "true" if i < j else "false"
    if ti is None and tj is None:
        return earlier
    if ti is None:
        return f"({tj} IS NULL AND {earlier})"
    if tj is None:
        return f"({ti} IS NOT NULL OR {earlier})"
    return (f"(CASE WHEN {ti} IS NOT NULL AND {tj} IS NULL THEN true WHEN {ti} IS NULL AND {tj} IS NOT NULL "
            f"THEN false WHEN {ti} IS NULL THEN {earlier} ELSE {ti} > {tj} OR ({ti} = {tj} AND {earlier}) END)")


def column_sql(name: str, spec: FieldSpec, vm_table: str | None, stamps: dict[str, str] | None = None,
               index: int = 0) -> ColumnSql:
    """Both passes of one canonical column; ``stamps`` gives the value SQL of ``updated_at`` columns."""
    sources, joins = [], []
    for k, src in enumerate(spec.ordered_sources()):
        s, join = source_sql(name, spec, src, vm_table, f"{index}_{k}")
        sources.append(s)
        if join:
            joins.append(join)
    usable = [s.usable for s in sources]
    if spec.precedence == "most_recent":
        t = [stamps.get(spec.updated_at[s.name]) if s.name in spec.updated_at else None for s in sources]
        wins = []
        for i, s in enumerate(sources):
            beats = [f"({sources[j].usable} IS NULL OR {_wins_over(i, j, t)})" for j in range(len(sources)) if j != i]
            wins.append(" AND ".join([f"{s.usable} IS NOT NULL", *beats]))
        value = "CASE " + " ".join(f"WHEN {w} THEN {u}" for w, u in zip(wins, usable)) + " END"
        source = "CASE " + " ".join(f"WHEN {w} THEN '{s.name}'" for w, s in zip(wins, sources)) + " END"
    else:
        value = usable[0] if len(usable) == 1 else f"coalesce({', '.join(usable)})"
        source = "CASE " + " ".join(f"WHEN {u} IS NOT NULL THEN '{s.name}'" for u, s in zip(usable, sources)) + " END"
    return ColumnSql(name, spec, sources, value, source if len(spec.sources) > 1 else None, joins)
