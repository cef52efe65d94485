"""How much a learned model rests on its random draw: pairwise F1 of public labelled files, each learned under
several seeds of ``model.learn.seed`` (which random record pairs u is learned from), everything else as the
project's ``routing_rules/matching.yaml`` sets it.

    python benchmarks/bench_draws.py [--seeds 5]

The files are ``bench_public_columns.py``'s, the people files first: a model learned from a dozen random pairs
that share a rare value moves with which dozen was drawn. RLdata10000 scored 0.9432 under seeds 0 and 2 and
0.7378 under 1, 3 and 4 before stop 58 counted how often records share an exact name over every pair
(``pipelines.matching.link._agreeing_share``). Each run is ``leadroute eval dedupe`` in its own process; a row
whose file is not in ``data/bench`` (and cannot be downloaded) is skipped.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_public_columns import (  # noqa: E402
    CSV_EXAMPLE_MAP, CSV_EXAMPLE_TRUTH, FAKE_1000, FAKE_1000_COLUMNS, FEBRL_AS_SHIPPED, FEBRL_WITH_BIRTH,
    PATENTSVIEW_COLUMNS, RESTAURANT_COLUMNS)
from bench_vs_splink import (  # noqa: E402
    ROOT, febrl_csvs, leadroute_dedupe, patentsview_csv, restaurants_csv, rldata10000_csv)

RLDATA_MAP = {"first_name": "fname_c1", "last_name": "lname_c1", "birthdate": "birthdate"}


def rows() -> list[tuple[str, Path | None, str, str, dict, str]]:
    """(label, file, id column, truth column, fields, default country) of each row."""
    febrl = dict(febrl_csvs())
    out = [("RLdata10000: first name, surname, date of birth", rldata10000_csv(), "id", "entity", RLDATA_MAP, "DE")]
    for label, fields in FAKE_1000_COLUMNS.items():
        out.append((f"fake_1000: {label}", FAKE_1000 if FAKE_1000.exists() else None, "unique_id", "group", fields,
                    "GB"))
    out.append(("PatentsView: first name, surname, city", patentsview_csv(), "mention_id", "inventor",
                PATENTSVIEW_COLUMNS["first name, surname, city"], "US"))
    for name in ("FEBRL 2", "FEBRL 3"):
        out.append((f"{name}: as shipped", febrl.get(name), "rec_id", "entity", FEBRL_AS_SHIPPED, "AU"))
        out.append((f"{name}: as shipped, date of birth", febrl.get(name), "rec_id", "entity", FEBRL_WITH_BIRTH, "AU"))
    out.append(("restaurants: name, city, phone", restaurants_csv(), "id", "entity",
                RESTAURANT_COLUMNS["name, city, phone"], "US"))
    out.append(("csv_example: site name, address, zip, phone", CSV_EXAMPLE_TRUTH if CSV_EXAMPLE_TRUTH.exists()
                else None, "Id", "True Id", CSV_EXAMPLE_MAP, "US"))
    return out


def rules_with_seed(folder: Path, seed: int) -> Path:
    """The project's matching.yaml with ``model.learn.seed`` set, written to ``folder``."""
    settings = yaml.safe_load((ROOT / "routing_rules" / "matching.yaml").read_text())
    settings.setdefault("model", {}).setdefault("learn", {})["seed"] = seed
    path = folder / f"matching-seed{seed}.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (default 5)")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be 2 or more: one draw shows no spread")
    table = ["| data | F1 under seeds 0.." + str(args.seeds - 1) + " | spread |", "|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="bench-draws-") as tmp:
        rules = [rules_with_seed(Path(tmp), seed) for seed in range(args.seeds)]
        for label, path, ids, truth, fields, country in rows():
            if path is None:
                print(f"{label}: skipped (file not in data/bench)", file=sys.stderr)
                continue
            f1 = [leadroute_dedupe(path, ids, truth, fields, country, rules=r)["f1"] for r in rules]
            line = f"| {label} | {', '.join(f'{x:.4f}' for x in f1)} | {max(f1) - min(f1):.4f} |"
            print(line, file=sys.stderr, flush=True)
            table.append(line)
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
