"""Mutations of a copy of the shipped rules: what a fuzzer (or a careless edit) does to ``routing_rules/``.

Each mutation edits a copy of the rules folder in place, driven by a ``random.Random``, and says
what a correct validator must do with the result: ``invalid`` mutations must be rejected (exit 1,
an error at file:line); the others may be accepted or rejected, but never crash or hang. Both
the property-based test (``tests/test_validate_fuzz.py``, Hypothesis picks the mutation and
drives the random choices) and the longer fuzzing run (``benchmarks/bench_validate_fuzz.py``) use
this one catalogue. The folder's parent is the mutation's playground: a file "outside the
rules folder" is written there.

The targeted mutations are the classes of failure issue 16 found (a Latin-1 byte, a list where
a mapping belongs, nesting thousands deep, a 128 KiB cell, a header-only roster, a 300-character
time zone, a table that is ``/dev/zero``, a path out of the folder, a fallback loop through 300
pools, anchors that expand to billions, no intake queue, a pool nobody is in, reversed ranges,
YAML 1.1 booleans); the generic ones flip bytes, swap values, drop and repeat lines.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

YAML_FILES = ("flow.yaml", "pools.yaml", "queues.yaml", "day2.yaml", "fields.yaml", "matching.yaml",
              "enrichment.yaml", "quality.yaml")
PASSWD_LINE = "root:x:0:0:"  # what a leak of /etc/passwd into an error would print


@dataclass
class Mutation:
    """What was done to the copy, and what a correct validator must do with it."""

    kind: str
    detail: str
    invalid: bool  # True: must be rejected with an error at file:line
    forbidden: list[str] = field(default_factory=list)  # text no output may contain (another file's content)
    yaml11_probe: bool = False  # True: if accepted, no condition list may hold a boolean (NO read as false)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def csv_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.csv"))


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _insert_line(path: Path, rnd: random.Random, line: bytes) -> int:
    data = path.read_bytes().split(b"\n")
    at = rnd.randrange(len(data))
    data.insert(at, line)
    path.write_bytes(b"\n".join(data))
    return at + 1


# -- the classes issue 16 found --------------------------------------------------------------------


def latin1_comment(root: Path, rnd: random.Random) -> Mutation:
    name = rnd.choice(YAML_FILES)
    line = _insert_line(root / name, rnd, "# caf\u00e9 and Z\u00fcrich".encode("latin-1"))
    return Mutation("latin1_comment", f"{name}:{line}", invalid=True)


def latin1_csv(root: Path, rnd: random.Random) -> Mutation:
    path = rnd.choice([root / "reps.csv", *csv_files(root / "tables"), root / "holidays.csv"])
    rows = path.read_bytes().split(b"\n")
    at = rnd.randrange(1, max(2, len([r for r in rows if r])))
    rows[at] = rows[at] + "Jos\u00e9".encode("latin-1") if rows[at] else "Jos\u00e9".encode("latin-1")
    path.write_bytes(b"\n".join(rows))
    return Mutation("latin1_csv", f"{path.relative_to(root)}:{at + 1}", invalid=True)


def top_level_not_a_mapping(root: Path, rnd: random.Random) -> Mutation:
    name = rnd.choice(YAML_FILES)
    body = rnd.choice(["- a\n- b\n", "just some text\n", "42\n", "[1, 2, 3]\n", "- {queues: x}\n"])
    (root / name).write_text(body, encoding="utf-8")
    return Mutation("top_level", f"{name} is {body.strip()!r}", invalid=True)


SECTION_EDITS: list[tuple[str, str, str]] = [
    ("flow.yaml", "tables:\n  federal_domains:", "tables:\n  - federal_domains\n  - x\nunused:\n  federal_domains:"),
    ("flow.yaml", "flows:\n  new:", "flows: [new]\nunused:\n  new:"),
    ("flow.yaml", "reroute_policy:\n", "reroute_policy: protect everything\nunused:\n"),
    ("queues.yaml", "  Shark_Tank:\n    label: Shark Tank\n", "  Shark_Tank: a string\n  Unused:\n    label: Shark Tank\n"),
    ("queues.yaml", "queues:\n", "queues: [Inbound_Leads]\nunused:\n"),
    ("pools.yaml", "    members: {role: SDR, team: SDR Inbound}\n    method: round_robin\n    fallback",
     "    members: SDR Inbound\n    method: round_robin\n    fallback"),
    ("pools.yaml", "pools:\n", "pools: [inbound_sdr]\nunused:\n"),
    ("pools.yaml", "    caps: {daily: 30}\n", "    caps: 30\n"),
    ("day2.yaml", "slas:\n", "slas: [hot_inbound_first_touch]\nunused:\n"),
    ("day2.yaml", "touch:\n", "touch: yes please\nunused:\n"),
    ("day2.yaml", "recycle:\n", "recycle: [stalled_working]\nunused:\n"),
    ("matching.yaml", "blocking:\n", "blocking: {domain: true}\nunused:\n"),
    ("matching.yaml", "model:\n", "model: [prior]\nunused:\n"),
    ("enrichment.yaml", "regions:\n", "regions: [NA, EMEA]\nunused:\n"),
    ("enrichment.yaml", "size_bands:\n  default:\n", "size_bands:\n  default: SMB\n  unused:\n"),
    ("quality.yaml", "quarantine:\n", "quarantine: [identity]\nunused:\n"),
    ("quality.yaml", "      - [name]\n", "      - name\n"),
    ("fields.yaml", "objects:\n", "objects: [lead, account]\nunused:\n"),
]


def section_of_the_wrong_type(root: Path, rnd: random.Random) -> Mutation:
    name, old, new = rnd.choice(SECTION_EDITS)
    _replace(root / name, old, new)
    return Mutation("wrong_type", f"{name}: {new.splitlines()[0].strip()}", invalid=True)


def deep_nesting(root: Path, rnd: random.Random) -> Mutation:
    name = rnd.choice(YAML_FILES)
    depth = rnd.choice([500, 3000, 20000, 100000])
    if rnd.random() < 0.5:
        text = "deep: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "deep:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(min(depth, 5000))) + " " * 5001 + "x: 1\n"
    with open(root / name, "a", encoding="utf-8") as fh:
        fh.write("\n" + text)
    return Mutation("deep_nesting", f"{name}: {depth} levels", invalid=True)


def long_csv_cell(root: Path, rnd: random.Random) -> Mutation:
    path = rnd.choice([root / "reps.csv", *csv_files(root / "tables"), *csv_files(root / "value_maps")])
    size = rnd.choice([140 * 1024, 1024 * 1024])
    rows = path.read_text(encoding="utf-8").split("\n")
    rows[1] = rows[1] + "x" * size
    path.write_text("\n".join(rows), encoding="utf-8")
    return Mutation("long_cell", f"{path.relative_to(root)}:2 has a {size // 1024} KiB cell", invalid=True)


def header_only_roster(root: Path, rnd: random.Random) -> Mutation:
    path = root / "reps.csv"
    path.write_text(path.read_text(encoding="utf-8").split("\n")[0] + "\n", encoding="utf-8")
    return Mutation("header_only_roster", "reps.csv has only its header", invalid=True)


def long_time_zone(root: Path, rnd: random.Random) -> Mutation:
    zone = rnd.choice(["America/" + "x" * 300, "../" * 120 + "etc/passwd", "Europe/Berlin\x00", "/etc/localtime"])
    _replace(root / "reps.csv", "America/New_York", zone.replace(",", ""))
    return Mutation("time_zone", f"reps.csv time zone {zone[:20]!r}... ({len(zone)} characters)", invalid=True)


def table_path_outside(root: Path, rnd: random.Random) -> Mutation:
    outside = root.parent / "outside.csv"
    outside.write_text("state,owner\nCA,005000000000010AAA\n", encoding="utf-8")
    choice = rnd.choice(["../outside.csv", "/etc/passwd", "/dev/zero", "fifo", "symlink", str(outside),
                         "tables/../../outside.csv", "/proc/self/environ"])
    forbidden = [PASSWD_LINE] if "passwd" in choice else []
    if choice == "fifo":
        os.mkfifo(root / "tables" / "pipe.csv")
        choice = "tables/pipe.csv"
    elif choice == "symlink":
        (root / "tables" / "link.csv").symlink_to("/etc/passwd")
        choice, forbidden = "tables/link.csv", [PASSWD_LINE]
    _replace(root / "flow.yaml", "file: tables/us_states.csv", f"file: {choice}")
    return Mutation("table_path", f"table us_states reads {choice}", invalid=True, forbidden=forbidden)


def fallback_loop(root: Path, rnd: random.Random) -> Mutation:
    n = rnd.choice([3, 300, 3000])
    lines = ["\n"]
    for i in range(n):
        lines.append(f"  loop_{i}:\n    members: [\"005000000000040AAA\"]\n"
                     f"    fallback: {{assign: pool, pool: loop_{(i + 1) % n}}}\n")
    with open(root / "pools.yaml", "a", encoding="utf-8") as fh:
        fh.write("".join(lines))
    return Mutation("fallback_loop", f"{n} pools whose fallbacks loop", invalid=True)


def alias_expansion(root: Path, rnd: random.Random) -> Mutation:
    levels = rnd.choice([4, 9, 12])
    anchors = ["    - &a0 [US, CA, MX, BR, DE, FR, GB, JP, IN, CN]\n"]
    for i in range(1, levels):
        anchors.append(f"    - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n")
    text = (root / "flow.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1\n", "version: 1\nx-anchors:\n  values:\n" + "".join(anchors), 1)
    text = text.replace("when: {field: lead.lead_source, in: [White Paper, E-book]}",
                        f"when: {{field: lead.country_code, in: *a{levels - 1}}}", 1)
    (root / "flow.yaml").write_text(text, encoding="utf-8")
    return Mutation("alias_expansion", f"an in: list of 10^{levels} values built from anchors", invalid=True)


def no_intake_queue(root: Path, rnd: random.Random) -> Mutation:
    new = rnd.choice(["intake: false", "intake: no", "intake: \"false\"", "intake: 0", ""])
    _replace(root / "queues.yaml", "    intake: true", "    " + new)  # the queue's key, not the comment above
    return Mutation("no_intake", f"queues.yaml: {new or 'intake removed'}", invalid=True)


def pool_nobody_is_in(root: Path, rnd: random.Random) -> Mutation:
    members = rnd.choice(["members: []", "members: {}", "members:", "members: {team: Nobody}"])
    with open(root / "pools.yaml", "a", encoding="utf-8") as fh:
        fh.write(f"\n  empty_pool:\n    {members}\n")
    _replace(root / "flow.yaml", "pool: inbound_sdr", "pool: empty_pool")
    return Mutation("empty_pool", f"a pool with {members} and no fallback", invalid=True)


def reversed_range(root: Path, rnd: random.Random) -> Mutation:
    choice = rnd.randrange(3)
    if choice == 0:
        _replace(root / "tables" / "california_zips.csv", "90000,93599", "93599,90000")
        return Mutation("reversed_range", "california_zips.csv: 93599-90000", invalid=True)
    if choice == 1:
        _replace(root / "flow.yaml", "when: {field: lead.lead_source, in: [White Paper, E-book]}",
                 "when: {field: lead.lead_score, between: [90, 10]}")
        return Mutation("reversed_range", "between: [90, 10]", invalid=True)
    path = root / "reps.csv"
    rows = path.read_text(encoding="utf-8").split("\n")
    header = rows[0].split(",")
    cells = rows[3].split(",")
    cells[header.index("ooo_from")], cells[header.index("ooo_to")] = "2026-12-20", "2026-12-01"
    rows[3] = ",".join(cells)
    path.write_text("\n".join(rows), encoding="utf-8")
    return Mutation("reversed_range", "reps.csv:4 out of office 2026-12-20 to 2026-12-01", invalid=True)


def yaml11_booleans(root: Path, rnd: random.Random) -> Mutation:
    word = rnd.choice(["NO", "ON", "YES", "OFF", "no", "y", "n", "On"])
    _replace(root / "flow.yaml", "when: {field: lead.lead_source, in: [White Paper, E-book]}",
             f"when: {{field: lead.country_code, in: [SE, DK, {word}, FI]}}")
    return Mutation("yaml11_boolean", f"in: [SE, DK, {word}, FI]", invalid=False, yaml11_probe=True)


def boolean_in_codes(root: Path, rnd: random.Random) -> Mutation:
    value = rnd.choice(["true", "false", "True", "FALSE"])
    target = rnd.choice(["flow", "enrichment"])
    if target == "flow":
        _replace(root / "flow.yaml", "when: {field: lead.lead_source, in: [White Paper, E-book]}",
                 f"when: {{field: lead.country_code, in: [SE, {value}, FI]}}")
    else:
        _replace(root / "enrichment.yaml", "NA: [US, CA]", f"NA: [US, CA, {value}]")
    return Mutation("boolean_in_codes", f"{target}: a list of codes holding {value}", invalid=True)


def huge_file(root: Path, rnd: random.Random) -> Mutation:
    name = rnd.choice([*YAML_FILES, "reps.csv", "tables/us_states.csv"])
    size = rnd.choice([9, 12]) * 1024 * 1024  # above both limits (2 MiB settings, 8 MiB tables)
    with open(root / name, "a", encoding="utf-8") as fh:
        if name.endswith(".csv"):
            fh.write("XX,005000000000010AAA\n" * (size // 22) if "us_states" in name else "\n" * size)
        else:
            fh.write(("# padding\n") * (size // 10))
    return Mutation("huge_file", f"{name} grew to {size // (1024 * 1024)} MiB", invalid=True)


def long_value(root: Path, rnd: random.Random) -> Mutation:
    name, old = rnd.choice([("flow.yaml", "description: Federal agencies, recognised by their domain"),
                            ("pools.yaml", "description: Inbound SDRs share leads no territory covers."),
                            ("queues.yaml", "label: Shark Tank")])
    key = old.split(":")[0]
    _replace(root / name, old, f"{key}: " + "y" * rnd.choice([200_000, 2_000_000]))
    return Mutation("long_value", f"{name}: a {key} of over 100,000 characters", invalid=True)


def geojson_table(root: Path, rnd: random.Random) -> Mutation:
    body = rnd.choice(["{", "[]", '{"features": 3}', '{"features": [1, 2]}', '{"features": [{"geometry": 5}]}',
                       '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [], '
                       '"geometry": {"type": "Point", "coordinates": [1]}}]}',
                       "[" * 100000 + "]" * 100000])
    (root / "tables" / "areas.geojson").write_text(body, encoding="utf-8")
    _replace(root / "flow.yaml", "tables:\n", "tables:\n  areas:\n    file: tables/areas.geojson\n"
                                              "    keys: {area: area}\n    value: owner\n")
    return Mutation("geojson", f"areas.geojson is {body[:30]!r}", invalid=True)


def value_map_outside(root: Path, rnd: random.Random) -> Mutation:
    text = (root / "fields.yaml").read_text(encoding="utf-8")
    m = re.search(r"^[^#\n]*?values: (\w+)", text, re.MULTILINE)  # a mapping's, not the comment's
    target = rnd.choice(["../../outside", "/etc/passwd", "../../../../../../etc/passwd"])
    (root.parent / "outside.csv").write_text("value,canonical\nx,y\n", encoding="utf-8")
    (root / "fields.yaml").write_text(text[:m.start(1)] + target + text[m.end(1):], encoding="utf-8")
    return Mutation("value_map_path", f"fields.yaml names value map {target}", invalid=True, forbidden=[PASSWD_LINE])


TARGETED: list[Callable[[Path, random.Random], Mutation]] = [
    latin1_comment, latin1_csv, top_level_not_a_mapping, section_of_the_wrong_type, deep_nesting, long_csv_cell,
    header_only_roster, long_time_zone, table_path_outside, fallback_loop, alias_expansion, no_intake_queue,
    pool_nobody_is_in, reversed_range, yaml11_booleans, boolean_in_codes, huge_file, long_value, geojson_table,
    value_map_outside,
]


# -- generic mutations: anything may happen, but never a crash or a hang -----------------------------

ODD_VALUES = ["[]", "{}", "null", "~", "true", "NO", "-1", "0", "1e999", ".nan", "0x1F", "2026-13-45", "'x'",
              "[a, [b, {c: d}]]", "*undefined", "&a x", "!!python/object:os.system x", "!!binary AAAA", "{{", "'",
              '"' + "z" * 5000 + '"', "[1, 2, 3]", "{assign: queue}", "12:30:00", "!!str", "? complex\n: key",
              "- item", "|\n  block", ">-\n  folded", "\t", "\"\\x00\"", "\"\\ud800\"", "1_000", "+.inf", "0o17"]


def scalar_swap(root: Path, rnd: random.Random) -> Mutation:
    name = rnd.choice(YAML_FILES)
    lines = (root / name).read_text(encoding="utf-8").split("\n")
    candidates = [i for i, line in enumerate(lines) if re.match(r"^\s*[-\w]+:\s*\S", line) and not line.lstrip().startswith("#")]
    i = rnd.choice(candidates)
    key = lines[i].split(":", 1)[0]
    value = rnd.choice(ODD_VALUES)
    lines[i] = f"{key}: {value}"
    (root / name).write_text("\n".join(lines), encoding="utf-8")
    return Mutation("scalar_swap", f"{name}:{i + 1} {key.strip()}: {value[:20]}", invalid=False)


def flow_value_swap(root: Path, rnd: random.Random) -> Mutation:
    """A value inside a flow mapping ({field: .., in: [..]}) replaced by another kind of value."""
    name = rnd.choice(YAML_FILES)
    text = (root / name).read_text(encoding="utf-8")
    spots = [m for m in re.finditer(r"(?<=: )[^,{}\[\]\n#]+(?=[,}])", text)]
    if not spots:
        return scalar_swap(root, rnd)
    m = rnd.choice(spots)
    value = rnd.choice(["[]", "{}", "null", "true", "NO", "-1", "[x, [y]]", "{a: b}", "1e999", '"' + "q" * 300 + '"'])
    (root / name).write_text(text[:m.start()] + value + text[m.end():], encoding="utf-8")
    line = text[:m.start()].count("\n") + 1
    return Mutation("flow_value_swap", f"{name}:{line} {m.group(0).strip()[:20]} -> {value[:20]}", invalid=False)


def line_edit(root: Path, rnd: random.Random) -> Mutation:
    path = rnd.choice([*(root / n for n in YAML_FILES), root / "reps.csv", root / "holidays.csv",
                       *csv_files(root / "tables"), *csv_files(root / "value_maps")])
    lines = path.read_bytes().split(b"\n")
    i = rnd.randrange(len(lines))
    how = rnd.choice(["delete", "repeat", "indent", "dedent", "truncate", "swap"])
    if how == "delete":
        del lines[i]
    elif how == "repeat":
        lines.insert(i, lines[i])
    elif how == "indent":
        lines[i] = b"  " + lines[i]
    elif how == "dedent":
        lines[i] = lines[i][2:]
    elif how == "truncate":
        lines = lines[:i] + [lines[i][: rnd.randrange(len(lines[i]) + 1)]]
    else:
        j = rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    path.write_bytes(b"\n".join(lines))
    return Mutation("line_edit", f"{path.relative_to(root)}:{i + 1} {how}", invalid=False)


def byte_flip(root: Path, rnd: random.Random) -> Mutation:
    path = rnd.choice([*(root / n for n in YAML_FILES), root / "reps.csv", *csv_files(root / "tables")])
    data = bytearray(path.read_bytes())
    flips = []
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(data))
        data[i] = rnd.choice([rnd.randrange(256), 0, 0xE9, 0xFF, ord("\t"), ord("\r"), ord('"'), ord(":"), ord("&"),
                              ord("*"), ord("!"), ord("%"), ord("{"), ord("[")])
        flips.append(i)
    path.write_bytes(bytes(data))
    return Mutation("byte_flip", f"{path.relative_to(root)} bytes {flips}", invalid=False)


def csv_cell_swap(root: Path, rnd: random.Random) -> Mutation:
    path = rnd.choice([root / "reps.csv", root / "holidays.csv", *csv_files(root / "tables"),
                       *csv_files(root / "value_maps")])
    rows = path.read_text(encoding="utf-8").split("\n")
    i = rnd.randrange(len(rows))
    cells = rows[i].split(",")
    j = rnd.randrange(len(cells))
    cells[j] = rnd.choice(["", '"', '""', "x,y", "-1", "1e999", "true", "NaN", "99999-1", "2026-02-30",
                           "25:00-26:00", "Mon-Funday", "queue:", "pool:", "queue:Nope", "pool:nope", "\x00",
                           "   ", "Z" * 300, "=cmd|' /C calc'!A0", "005000000000999AAA"])
    rows[i] = ",".join(cells)
    path.write_text("\n".join(rows), encoding="utf-8")
    return Mutation("csv_cell_swap", f"{path.relative_to(root)}:{i + 1} cell {j}", invalid=False)


def empty_or_missing_file(root: Path, rnd: random.Random) -> Mutation:
    path = rnd.choice([*(root / n for n in YAML_FILES), root / "reps.csv", root / "holidays.csv",
                       *csv_files(root / "tables")])
    how = rnd.choice(["empty", "delete", "directory", "whitespace"])
    if how == "empty":
        path.write_bytes(b"")
    elif how == "whitespace":
        path.write_bytes(b"\n \n\t\n")
    else:
        path.unlink()
        if how == "directory":
            path.mkdir()
    return Mutation("file_gone", f"{path.relative_to(root)}: {how}", invalid=False)


GENERIC: list[Callable[[Path, random.Random], Mutation]] = [
    scalar_swap, flow_value_swap, line_edit, byte_flip, csv_cell_swap, empty_or_missing_file,
]
ALL = TARGETED + GENERIC


def mutate(root: Path, rnd: random.Random, kinds: list[Callable[[Path, random.Random], Mutation]] | None = None,
           steps: int = 1) -> list[Mutation]:
    """``steps`` mutations of the folder ``root`` (a copy), each drawn from ``kinds``."""
    return [rnd.choice(kinds or ALL)(root, rnd) for _ in range(steps)]
