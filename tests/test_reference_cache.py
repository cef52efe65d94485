"""Reference tables kept in the warehouse: what is read back is what the builder gives, and a new
version (package or builder code) is built again."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.enrich import geo, phones
from pipelines.unify import value_maps
from pipelines.warehouse.reference import REGISTRY, Reference


def counting(frame: pd.DataFrame):
    calls = []

    def build() -> pd.DataFrame:
        calls.append(1)
        return frame.copy()

    return build, calls


SMALL = pd.DataFrame({"key": ["b", "a", "c"], "canonical": ["B", None, "C"], "lat": [1.5, float("nan"), 3.0]})


def test_a_table_is_built_once_then_read_back_from_the_warehouse_as_built(tmp_path):
    path = str(tmp_path / "w.duckdb")
    build, calls = counting(SMALL)
    with duckdb.connect(path) as con:
        Reference("small", build, __name__).prime(con)
    with duckdb.connect(path) as con:  # a later process
        again = Reference("small", build, __name__)
        again.prime(con)
        read = again.frame()
    assert len(calls) == 1, "the second process read the table, it did not build it"
    pd.testing.assert_frame_equal(read, SMALL)  # row order, NULL text as None, NaN numbers


def test_a_new_version_builds_the_table_again(tmp_path, monkeypatch):
    path = str(tmp_path / "w.duckdb")
    build, calls = counting(SMALL)
    with duckdb.connect(path) as con:
        Reference("small", build, __name__).prime(con)
        newer = Reference("small", build, __name__, packages=("pandas",))  # another version string
        newer.prime(con)
        stored = con.execute(f"SELECT version FROM {REGISTRY} WHERE name = 'small'").fetchone()[0]
    assert len(calls) == 2
    assert stored == newer.version()


def test_a_read_only_warehouse_builds_in_the_process_and_keeps_nothing(tmp_path):
    path = str(tmp_path / "w.duckdb")
    duckdb.connect(path).close()
    build, calls = counting(SMALL)
    with duckdb.connect(path, read_only=True) as con:
        ref = Reference("small", build, __name__)
        ref.prime(con)
        assert ref.frame().equals(SMALL)
    with duckdb.connect(path) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'reference_small'"
                           ).fetchone()[0] == 0
    assert len(calls) == 1


def test_the_zip_country_and_phone_place_tables_read_back_equal_what_their_packages_give(tmp_path):
    path = str(tmp_path / "w.duckdb")
    for ref, build in ((geo.ZIPS, geo._build_zip_table), (value_maps.COUNTRY_KEYS, value_maps._build_country_reference),
                       (value_maps.SUBDIVISION_KEYS, value_maps._build_subdivision_reference),
                       (phones.PLACES, phones._build_places), (phones.COUNTRY_NAMES, phones._build_countries)):
        with duckdb.connect(path) as con:
            Reference(ref.name, ref.build, ref.module, ref.packages).prime(con)  # stored
        with duckdb.connect(path) as con:
            read = Reference(ref.name, lambda: None, ref.module, ref.packages)  # must not build
            read.prime(con)
            pd.testing.assert_frame_equal(read.frame(), build().reset_index(drop=True))


def test_the_account_masters_keys_read_the_country_spellings_the_warehouse_keeps(tmp_path, monkeypatch):
    """A master build in its own process (the CLI, the benchmark) reads the table unify stored; it
    does not build it from pycountry again."""
    from datetime import datetime

    from pipelines.crm.fields import load_field_mapping
    from pipelines.matching.master import build_master
    from pipelines.matching.settings import MatchingSettings
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db
    from tests.conftest import RULES

    ref = value_maps.COUNTRY_KEYS
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        db.migrate(con, load_field_mapping(RULES / "fields.yaml").mapped_columns())
        Reference(ref.name, ref.build, ref.module, ref.packages).prime(con)  # stored, as unify leaves it
        db.insert(con, "account", pd.DataFrame({
            "account_id": ["A1", "A2"], "name": ["Initech GmbH", "Globex"], "country": ["Deutschland", "U.S.A."],
            "_modstamp": datetime(2026, 11, 20, 14)}))

        def rebuilt():
            raise AssertionError("the country spellings were built again in this process")

        monkeypatch.setattr(ref, "_frame", None)  # a new process: nothing memoised yet
        monkeypatch.setattr(ref, "build", rebuilt)
        build_master(con, MatchingSettings(), RunInfo("t", datetime(2026, 11, 20, 15)))
        keys = con.execute("SELECT account_id, country FROM account_match_key ORDER BY 1").fetchall()
    assert keys == [("A1", "DE"), ("A2", "US")]
