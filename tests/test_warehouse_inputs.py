"""A stage asks which source rows are newer than its own (pipelines.warehouse.inputs).

Most ticks none is, and the stage finds that out from one scan of each table (the versions' digest)
instead of joining the two. Whatever the digests say, the rows found must be those the join finds:
each scenario below is a way a CRM's records and a stage's rows drift apart.
"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.warehouse import inputs

T0, T1, T2 = "2026-03-02 09:00:00", "2026-03-02 09:05:00", "2026-03-02 09:10:00"
STAGED = [("L1", T1), ("L2", T1), ("L3", T0)]  # the stage's rows: each source row at the version it read


def _tables(source: list[tuple[str, str]], target: list[tuple[str, str]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, rows in (("src", source), ("tgt", target)):
        con.execute(f"CREATE TABLE {name} (lead_id VARCHAR, _modstamp TIMESTAMP)")
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)
    return con


# (what happened in the CRM, the source rows now, the leads the stage has to look at again)
SCENARIOS = [
    ("nothing", STAGED, set()),
    ("nothing, the rows stored in another order", list(reversed(STAGED)), set()),
    ("a lead edited", [("L1", T2), ("L2", T1), ("L3", T0)], {"L1"}),
    ("a new lead", [*STAGED, ("L4", T0)], {"L4"}),
    ("a record that shows up late, stamped before the others", [*STAGED, ("L4", "2026-03-01 17:00:00")], {"L4"}),
    ("two leads trade versions", [("L1", T0), ("L2", T1), ("L3", T1)], {"L3"}),
    ("a lead gone from the source (nothing of it to redo)", STAGED[:2], set()),
    ("one lead edited, another gone", [("L1", T2), ("L2", T1)], {"L1"}),
]


@pytest.mark.parametrize(("happened", "source", "redo"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_the_leads_a_stage_redoes_are_those_newer_than_its_rows_or_without_one(happened, source, redo):
    con = _tables(source, STAGED)

    found = inputs.newer_keys(con, "_newer", "src s", "tgt", "lead_id")

    keys = {r[0] for r in con.execute(f"SELECT k FROM {found}").fetchall()} if found else set()
    assert keys == redo
    same = inputs.same_versions(con, "src", "lead_id", "tgt", "lead_id")
    assert same == (sorted(source) == sorted(STAGED)), "the digests agree exactly when the rows do"


def test_versions_are_a_count_and_a_digest_that_ignore_row_order():
    con = _tables(STAGED, list(reversed(STAGED)))

    assert inputs.versions(con, "src", "lead_id") == inputs.versions(con, "tgt", "lead_id")
    assert inputs.versions(con, "src", "lead_id")[0] == 3
    assert inputs.versions(con, "src WHERE false", "lead_id") == (0, 0)


def test_a_version_missing_on_both_sides_is_no_change_and_a_repeated_source_row_is_joined():
    unstamped = [("L1", None), ("L2", T1)]
    con = _tables(unstamped, unstamped)
    assert inputs.same_versions(con, "src", "lead_id", "tgt", "lead_id")
    assert inputs.newer_keys(con, "_newer", "src s", "tgt", "lead_id") is None

    # A source joined to another table can repeat a row: two copies cancel in the digest, the count does not.
    con = _tables([("L1", T1), ("L1", T1), ("L2", T1)], [("L2", T1)])
    assert inputs.versions(con, "src", "lead_id")[1] == inputs.versions(con, "tgt", "lead_id")[1]
    assert not inputs.same_versions(con, "src", "lead_id", "tgt", "lead_id")
    found = inputs.newer_keys(con, "_newer", "src s", "tgt", "lead_id")
    assert {r[0] for r in con.execute(f"SELECT k FROM {found}").fetchall()} == {"L1"}


@pytest.mark.parametrize(("now", "same"), [
    ([("L1", "New"), ("L2", None)], True),
    ([("L1", "Working"), ("L2", None)], False),   # a rep moved it on
    ([("L1", "New"), ("L2", "New")], False),      # a status where there was none
    ([("L1", None), ("L2", "New")], False),       # the two trade statuses
])
def test_any_column_can_be_the_version_a_stage_keeps(now, same):
    """Day 2 notes each lead's status (lead_status): its status is what it compares, not _modstamp."""
    con = duckdb.connect()
    for name, rows in (("lead", now), ("lead_status", [("L1", "New"), ("L2", None)])):
        con.execute(f"CREATE TABLE {name} (lead_id VARCHAR, status VARCHAR)")
        con.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)

    assert inputs.same_versions(con, "lead", "lead_id", "lead_status", "lead_id", version="status") == same


@pytest.mark.parametrize(("keys", "size", "parts"), [
    (7, 3, [3, 3, 1]),   # parts of at most `size`, every key once
    (6, 3, [3, 3]),
    (3, 3, [3]),         # no more than a part: the table itself
    (0, 3, [None]),      # no table (key_table found none): one part, None, as for no keys
])
def test_a_key_table_comes_in_parts_of_at_most_the_size_each_key_once(keys, size, parts):
    con = duckdb.connect()
    name = inputs.key_table(con, "_k", f"SELECT 'id' || range AS k FROM range({keys})")
    seen, sizes = [], []
    for part in inputs.chunks(con, name, size):
        if part is None:
            sizes.append(None)
            continue
        got = [r[0] for r in con.execute(f"SELECT k FROM {part}").fetchall()]
        seen += got
        sizes.append(len(got))
    assert sizes == parts
    assert sorted(seen) == sorted(f"id{i}" for i in range(keys))
    temp = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    assert temp == ({"_k"} if keys else set()), "the parts are dropped; the key table is its owner's to forget"


def test_a_batchs_rows_by_key_are_its_rows_whole_and_are_read_through_the_key_index():
    con = duckdb.connect()
    con.execute("CREATE TABLE lead (lead_id VARCHAR PRIMARY KEY, status VARCHAR, _first_filled VARCHAR)")
    con.execute("INSERT INTO lead SELECT 'L' || i, 'Open', NULL FROM range(200000) r(i)")
    con.execute("CREATE TEMP TABLE _keys AS SELECT unnest(['L7', 'L199999', 'no such lead']) AS k")
    name = inputs.rows_of(con, "_batch", "lead", "lead_id", "_keys")
    assert con.execute(f"SELECT lead_id, status FROM {name} ORDER BY lead_id").fetchall() == [
        ("L199999", "Open"), ("L7", "Open")]
    # Why the rows are read first: a scan given the key alone uses the primary key's index.
    plan = con.execute('EXPLAIN ANALYZE SELECT * FROM "lead" t WHERE t."lead_id" IN (SELECT k FROM _keys)'
                       ).fetchall()[0][1]
    assert "Index Scan" in plan
    inputs.forget(con, name)
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_batch'").fetchall()[0][0]
