"""Deduplicate a CSV with plain Splink, as a user picking it would: run in Splink's own virtual
environment (``bench_vs_splink.py`` creates it), never imported by leadroute.

    python splink_dedupe.py INPUT.csv ID_COLUMN TRUTH_COLUMN name=COL street=COL city=COL postcode=COL ...

Columns are lower-cased with punctuation turned into spaces (Splink expects cleaned input); the
model is Splink's documented recipe: Jaro-Winkler names with term frequencies, Levenshtein
streets, exact places, phones and domains; u from random pairs, the match rate from the
blocking rules, m by expectation maximisation on two of them; clusters at 0.9. Prints one JSON
line: pairwise precision, recall and F1 against TRUTH_COLUMN, wall and CPU seconds, peak memory.
"""

import json
import resource
import sys
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def pairs(labels: pd.Series) -> int:
    sizes = labels.value_counts()
    return int((sizes * (sizes - 1) // 2).sum())


def main() -> None:
    path, id_col, truth_col = sys.argv[1:4]
    roles = dict(a.split("=", 1) for a in sys.argv[4:])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    started, cpu = time.perf_counter(), time.process_time()
    data = pd.DataFrame({"unique_id": frame[id_col]})
    for role, col in roles.items():
        clean = frame[col].str.lower().str.replace(r"[^\w ]", " ", regex=True).str.split().str.join(" ")
        data[role] = clean.where(clean != "", None)
    comparisons = []
    if "name" in roles:
        comparisons.append(cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]).configure(
            term_frequency_adjustments=True))
    if "street" in roles:
        comparisons.append(cl.LevenshteinAtThresholds("street", [1, 3]))
    for role in ("city",):
        if role in roles:
            comparisons.append(cl.ExactMatch(role).configure(term_frequency_adjustments=True))
    for role in ("postcode", "state", "phone", "domain"):
        if role in roles:
            comparisons.append(cl.ExactMatch(role))
    blocking = [block_on(c) for c in ("name", "postcode", "phone", "domain") if c in roles]
    if "street" in roles and "city" in roles:
        blocking.append(block_on("street", "city"))
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking)
    linker = Linker(DuckDBAPI().register(data), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(blocking, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in blocking[:2]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9).as_pandas_dataframe()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    found = clusters.set_index("unique_id")["cluster_id"].astype(str).reindex(frame[id_col]).to_numpy()
    both = pd.DataFrame({"found": found, "truth": frame[truth_col].to_numpy()})
    tp = pairs(both["found"] + "|" + both["truth"])
    n_found, n_true = pairs(both["found"]), pairs(both["truth"])
    p = tp / n_found if n_found else 1.0
    r = tp / n_true if n_true else 1.0
    print(json.dumps({"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "wall": wall,
                      "cpu": cpu, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


if __name__ == "__main__":
    main()
