"""Why a record cannot be used, as one SQL expression: a list of {reason, detail} per row.

Reasons, the most specific first (the first becomes the quarantine reason; the detail
lists all):

- ``value_too_long``: a source value longer than the column's ``max_length`` (a page
  of text pasted into Company is damage, not a spelling);
- ``malformed_email`` / ``malformed_value``: with ``on_invalid: quarantine``, a
  column left empty because its value is malformed or does not cast;
- ``unreadable_text``: control characters or U+FFFD in a text field (text that
  breaks parsers downstream and exports upstream);
- ``no_identity``: a group of ``quality.yaml``'s ``identity`` is all empty (a lead
  with neither a name nor a company, or with no email and no phone).
"""

from __future__ import annotations

from pipelines.quality.settings import QuarantineRules
from pipelines.unify.columns import UNREADABLE_PATTERN, ColumnSql


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _problem(cond: str, reason: str, detail_sql: str) -> str:
    return f"CASE WHEN {cond} THEN {{'reason': {_lit(reason)}, 'detail': {detail_sql}}} END"


def _quoted(expr: str, width: int = 60) -> str:
    """SQL: a value shown in a detail, cut to ``width`` characters."""
    return (f"'''' || CASE WHEN length({expr}) > {width} THEN left({expr}, {width}) || '...' ELSE {expr} END "
            f"|| ''''")


def problems_sql(obj: str, columns: list[ColumnSql], rules: QuarantineRules) -> str:
    by_name = {c.name: c for c in columns}
    items: list[str] = []

    for c in columns:
        if c.spec.max_length:
            for s in c.sources:
                cond = f"length({s.cleaned}) > {c.spec.max_length}"
                detail = (f"{_lit(f'{c.name}: {s.name} is ')} || length({s.cleaned}) || "
                          f"{_lit(f' characters (at most {c.spec.max_length}), starting ')} || {_quoted(s.cleaned, 40)}")
                items.append(_problem(cond, "value_too_long", detail))

    for c in columns:
        invalid = [s for s in c.sources if s.invalid]
        if c.spec.on_invalid != "quarantine" or not invalid:
            continue
        reason = "malformed_email" if c.spec.format == "email" else "malformed_value"
        what = "an email address" if c.spec.format == "email" else f"a valid {c.spec.type}"
        cond = f"({c.value}) IS NULL AND (" + " OR ".join(s.invalid for s in invalid) + ")"
        detail = "CASE " + " ".join(
            f"WHEN {s.invalid} THEN {_lit(f'{c.name}: {s.name} ')} || {_quoted(s.cleaned)} || {_lit(f' is not {what}')}"
            for s in invalid
        ) + " END"
        items.append(_problem(cond, reason, detail))

    if rules.unreadable_text:
        texts = [(c.name, s) for c in columns if c.spec.type == "text" for s in c.sources]
        if texts:
            pattern = _lit(UNREADABLE_PATTERN)
            cond = f"regexp_matches(concat_ws('', {', '.join(s.cleaned for _, s in texts)}), {pattern})"
            which = "concat_ws(', ', " + ", ".join(
                f"CASE WHEN regexp_matches({s.cleaned}, {pattern}) THEN {_lit(s.name)} END" for _, s in texts) + ")"
            items.append(_problem(cond, "unreadable_text", f"'control characters or broken encoding in ' || {which}"))

    # Last: a missing identity is often the result of a malformed value, which says more.
    groups = rules.identity.get(obj, [])
    if groups:
        missing = [
            (" AND ".join(f"({by_name[c].value}) IS NULL" for c in group), " or ".join(group))
            for group in groups if all(c in by_name for c in group)
        ]
        if missing:
            cond = " OR ".join(f"({m})" for m, _ in missing)
            detail = "concat_ws('; ', " + ", ".join(f"CASE WHEN {m} THEN {_lit('no ' + words)} END"
                                                     for m, words in missing) + ")"
            items.append(_problem(cond, "no_identity", detail))

    if not items:
        return "[]::STRUCT(reason VARCHAR, detail VARCHAR)[]"
    return f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL)"
