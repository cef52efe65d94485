"""Records from any CSV, for ``leadroute dedupe`` and ``leadroute match``: no CRM needed.

A mapping says which column holds which field (``company=Name``, ``phone=Tel``);
any field may be missing and any cell empty. A field mapped to several columns is their values
joined in the order given (``street=Number`` then ``street=Street``: exports split what a CRM
holds in one field). A file with a person's name mapped is a file of people: each row's first
and last name is its name, and a company mapped beside it is where each works. So is a file whose only name,
``company``, names people (dates of birth in most rows, or a third of its names a given name and a
surname: :mod:`pipelines.matching.people`). Columns are separated
by commas, or by the semicolons, tabs or bars of a header with no comma (a European spreadsheet's export), or by what
a first line ``sep=;`` says (Excel writes one); a column named in another case than the header's
("name" for "Name") is that column when no other is. A column a program read as numbers and wrote back
loses what that program wrote: "94105.0" is 94105, "nan" and "NULL" are empty ("Nan", a name, stays). Rows
are never dropped: a row with a problem (no id, a phone that is not a number, coordinates out
of range...) is reported with its line number and kept, matched on whatever else it has.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from pipelines.matching import normalise
from pipelines.matching.fields import MAPPABLE, PERSON_NAME
from pipelines.matching.keys import employer_keys, match_keys
from pipelines.matching.people import company_names_people
from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef


@dataclass
class CsvRecords:
    """One CSV file read for matching: ids, canonical fields, keys and row problems."""

    path: Path
    ids: pd.Series  # the id column as written (may be empty or repeated)
    fields: pd.DataFrame  # canonical FIELDS, one row per CSV row
    keys: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[ConfigProblem] = field(default_factory=list)
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)  # other columns asked for, as written
    header_line: int = 1  # 2 below Excel's "sep=;"
    people: bool = False  # a file of people: each row's name is the person's
    employer: bool = False  # ...and a company too: where each person works (EMPLOYER_KEYS)
    named_by: str | None = None  # why its company column names people, where no person's name is mapped

    def line(self, position: int) -> int:
        """The file line of a row (values with line breaks are rare in CRM exports)."""
        return position + self.header_line + 1


def as_companies(records: CsvRecords) -> CsvRecords:
    """``records`` whose company column was read as people's names (``named_by``) read as companies: the
    other file of a link names organisations. Only the flag and the row warnings differ."""
    out = replace(records, people=False, named_by=None)
    out.problems = _row_problems(out)
    return out


def parse_mapping(pairs: tuple[str, ...], option: str) -> dict[str, list[str]]:
    """``("company=Name", "street=No", "street=Street")`` -> ``{"company": ["Name"], "street": ["No", "Street"]}``,
    checking field names: a field named again takes another column, joined after the first (never
    the last one silently kept)."""
    out: dict[str, list[str]] = {}
    for item in pairs:
        name, sep, column = item.partition("=")
        name, column = name.strip().lower(), column.strip()
        if not sep or not column:
            raise ValueError(f"{option} {item!r}: expected FIELD=COLUMN, e.g. {option} company=Name")
        if name not in MAPPABLE:
            close = difflib.get_close_matches(name, MAPPABLE, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{option} {item!r}: unknown field {name!r}{hint}; fields: {', '.join(MAPPABLE)}")
        if column not in out.setdefault(name, []):
            out[name].append(column)
    return out


def read_records(path: str | Path, id_column: str, mapping: Mapping[str, str | Sequence[str]], *,
                 default_country: str = "US", people: bool = True, named: bool | None = None,
                 prefer: str = "email", extra: list[str] | None = None) -> CsvRecords:
    """Read ``path`` and compute the match keys of every row (``extra``: other columns to keep, e.g.
    the truth of a labelled file). ``people``: whether a file with a person's name mapped is a file of
    people (a dedupe, or a link of two such files), whose company, if mapped, is where each works (a
    contacts export: two colleagues are two people); a leads file linked to accounts of companies is not:
    its people's names are never a company's. ``named``: whether, in a file that maps no person's name,
    the ``company`` column names people (None: as its mapping and its names say,
    :func:`pipelines.matching.people.company_names_people`); only where ``people``.

    Raises:
        ConfigError: the file cannot be read, or a mapped or id column is not in its header
            (the message lists the header and the closest column name).
    """
    path = Path(path)
    try:
        sep, skip = _delimiter(path)
        options = dict(dtype=str, keep_default_na=False, sep=sep, skiprows=skip)
        try:
            frame = pd.read_csv(path, encoding="utf-8-sig", **options)
        except UnicodeDecodeError:  # not UTF-8: an older spreadsheet's Windows or ISO-8859-1 export
            frame = pd.read_csv(path, encoding="latin-1", **options)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(SourceRef(str(path)), "file not found")]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError([ConfigProblem(SourceRef(str(path)), f"not a readable CSV: {exc}")]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    header = skip + 1
    if frame.empty:
        raise ConfigError([ConfigProblem(SourceRef(str(path), header), "no rows below the header: nothing to match")])
    columns = {f: [c] if isinstance(c, str) else list(c) for f, c in mapping.items()}
    asked = ([("--id", id_column)] + [(f, c) for f, cs in columns.items() for c in cs]
             + [("--truth", c) for c in extra or []])
    found = {col: _column(col, list(frame.columns)) for _, col in asked}
    missing = [(what, col) for what, col in asked if found[col] is None]
    if missing:
        problems = []
        for what, col in missing:
            close = _same_but_case(col, list(frame.columns)) or difflib.get_close_matches(col, list(frame.columns), n=1)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            problems.append(ConfigProblem(SourceRef(str(path), header), f"{what}: no column {col!r}{hint}; the "
                                          f"header has: {', '.join(frame.columns)}"))
        raise ConfigError(problems)
    mapped = list(dict.fromkeys(found[c] for cs in columns.values() for c in cs))
    frame = frame.assign(**{c: _as_typed(frame[c]) for c in mapped})
    fields = pd.DataFrame({f: _joined(frame, [found[c] for c in cs]) for f, cs in columns.items()},
                          index=frame.index)
    person_named = any(c in fields for c in PERSON_NAME)
    employer = people and person_named and "company" in fields
    employers = None
    if employer:  # where each works; none where a form took the person's own name for it
        own = normalise.own_name(fields["company"], *(fields.get(c, pd.Series("", index=fields.index))
                                                      for c in PERSON_NAME))
        employers = fields["company"].where(~own.to_numpy(), "")
    if people and person_named:  # a file of people: the name a record is known by is the person's (own_name
        # then applies to none)
        fields["company"] = _joined(fields, [c for c in PERSON_NAME if c in fields])
        fields = fields.drop(columns=[c for c in PERSON_NAME if c in fields])
    if employers is not None:  # shown beside the name where a record is described
        fields["employer"] = employers
    records = CsvRecords(path, frame[found[id_column]].str.strip(), fields,
                         extra=frame[[found[c] for c in extra or []]].set_axis(list(extra or []), axis=1),
                         header_line=header, people=people and person_named, employer=employer)
    records.keys = match_keys(fields, default_country=default_country, prefer=prefer)
    if employers is not None:
        records.keys = records.keys.join(employer_keys(employers))
    if people and not person_named and "company" in fields:  # its company column may name people
        records.named_by = (company_names_people(fields, records.keys) if named is None
                            else "--people" if named else None)
        records.people = records.named_by is not None
    records.problems = _row_problems(records)
    return records


# What a program writes for an empty cell when it writes its own missing value out, as it writes it ("nan" and
# "NaN", pandas and numpy; "NULL", a database export; "#N/A", a spreadsheet): no value. Not "NA" (Namibia), nor
# "Nan" (a given name, a Thai city): only as programs write them.
_WRITTEN_MISSING = frozenset({"nan", "NaN", "<NA>", "NaT", "None", "NULL", "null", "#N/A", "N/A", "n/a"})
_FLOAT_WHOLE = re.compile(r"-?\d+\.0+")


def _as_typed(values: pd.Series) -> pd.Series:
    """A column as it was typed, undoing what a program that read it as numbers wrote back: its missing
    value ("nan") empty, and whole numbers written as floats ("94105.0", "4155550100.0": a column of
    numbers with an empty cell, through pandas) without the ".0". Only a column whose every value is such
    a number loses it: "2.0" in a column of versions stays. (A leading zero the program dropped, a German
    postal code "01067" read as 1067, is not restored: only US ZIP codes are padded, by the match keys.)"""
    values = values.where(~values.str.strip().isin(_WRITTEN_MISSING), "")
    given = values.str.strip()
    given = given[given != ""]
    if len(given) and given.str.fullmatch(_FLOAT_WHOLE.pattern).all():
        values = values.str.replace(r"^(\s*-?\d+)\.0+(\s*)$", r"\1\2", regex=True)
    return values


def _joined(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The values of ``columns`` joined by a space, in order, an empty cell left out."""
    out = frame[columns[0]]
    for column in columns[1:]:
        out = (out.str.strip() + " " + frame[column].str.strip()).str.strip()
    return out


_DELIMITERS = (",", ";", "\t", "|")


def _delimiter(path: Path) -> tuple[str, int]:
    """The column separator, and the lines before the header: what a first line ``sep=;`` names
    (Excel's hint, not a header), else the header's own: a comma, or the semicolon a European
    spreadsheet writes, a tab or a bar where the header holds more of that than of commas."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = handle.readline()
    hint = header.rstrip("\r\n").strip('"')
    if hint.lower().startswith("sep=") and len(hint) == 5:
        return hint[4], 1
    return (max(_DELIMITERS, key=header.count) if header.count(",") == 0 else ","), 0


def _same_but_case(name: str, header: list[str]) -> list[str]:
    return [c for c in header if c.casefold() == name.strip().casefold()]


def _column(name: str, header: list[str]) -> str | None:
    """The header's column ``name`` names: itself, else the one column equal to it but for case."""
    if name in header:
        return name
    same = _same_but_case(name, header)
    return same[0] if len(same) == 1 else None


def _row_problems(r: CsvRecords) -> list[ConfigProblem]:
    """Rows that will match poorly, with why: reported, never dropped."""
    checks: list[tuple[pd.Series, str]] = []
    ids = r.ids
    checks.append((ids == "", "empty id; the row is kept and written with an empty id"))
    checks.append((ids.duplicated(keep="first") & (ids != ""), "id repeated from an earlier row; both rows are kept"))

    def given(col: str) -> pd.Series:
        return r.fields[col].str.strip() != "" if col in r.fields else pd.Series(False, index=r.fields.index)

    checks.append((given("phone") & r.keys["phone"].isna(), "phone is not a possible phone number; ignored"))
    checks.append((given("email") & ~r.fields.get("email", pd.Series("", index=r.fields.index)).str.contains("@"),
                   "email has no @; ignored"))
    checks.append((given("country") & r.keys["country"].isna(), "country not recognised; ignored"))
    checks.append((given("birthdate") & r.keys["birthdate"].isna(),
                   "birthdate is not a date (a year, a month and a day) or is a placeholder; ignored"))
    for col in ("latitude", "longitude"):
        checks.append((given(col) & r.keys[col].isna(), f"{col} is not a valid coordinate; ignored"))
    empty = r.keys[["name", "domain", "email", "phone", "street", "postal_code", "latitude"]].isna().all(axis=1)
    name = "person's name" if r.people else "company"  # a file of people is matched by its people's names
    checks.append((empty, f"nothing to match on (no {name}, domain, phone or address); kept unmatched"))
    if r.people:  # any file of people (a contacts export's company row, say): a dedupe compares names first
        missing = "no name" if r.named_by else "no first or last name"
        checks.append((r.keys["name"].isna() & ~empty, f"{missing}: a dedupe finds it duplicate of none, "
                                                       "a link matches it by its other fields alone"))
    problems = []
    for mask, message in checks:
        for pos in mask.to_numpy().nonzero()[0][:1000]:
            value = r.ids.iloc[pos]
            problems.append(ConfigProblem(SourceRef(str(r.path), r.line(pos)),
                                          f"row {pos + 1}{f' ({value})' if value else ''}: {message}", "warning"))
    return sorted(problems, key=lambda p: p.where.line or 0)
