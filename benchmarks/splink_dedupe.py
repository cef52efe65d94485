"""Deduplicate a CSV with plain Splink, as a user picking it would: run in Splink's own virtual
environment (``bench_vs_splink.py`` creates it), never imported by leadroute.

    python splink_dedupe.py INPUT.csv ID_COLUMN TRUTH_COLUMN name=COL street=COL city=COL postcode=COL ...
    python splink_dedupe.py ... --recipe company [--threshold 0.95]

Three recipes, each Splink's documented one, nothing tuned to the data scored:

- ``person`` (the default; FEBRL and the restaurants): columns lower-cased with punctuation turned
  into spaces (Splink expects cleaned input); Jaro-Winkler names with term frequencies, Levenshtein
  streets, exact places, phones and domains; u from random pairs, the match rate from the blocking
  rules, m by expectation maximisation on two of them; clusters at 0.9.
- ``company`` (CRM accounts: name, website, phone, street, city, postal code): the same cleaning,
  and the website reduced to its domain (scheme, ``www.`` and path dropped), the phone to its
  digits (the last ten: a country code or trunk 0 dropped); blocking on the exact name, domain,
  phone, or postal code with the name's first word; Jaro-Winkler names, exact domains and phones,
  all three with term frequencies, Levenshtein streets, exact postal codes and cities (the state
  left out: it repeats the city and postal code, which Splink's docs say double-counts); the match
  rate from two near-certain rules (name and city, phone and domain) at recall 0.7, u from 10
  million random pairs, m by expectation maximisation on the name and domain blocks; clusters at
  ``--threshold`` (0.9 unless given).
- ``people`` (a file of people: first name, surname, city, email, date of birth): the settings of
  Splink's own demo of its ``fake_1000`` file (``NameComparison`` of first name and surname,
  ``DateOfBirthComparison``, ``ExactMatch`` of the city with term frequencies, ``EmailComparison``),
  each where its column is mapped: blocking on first name and date of birth (or city), surname, and
  email; the match rate from first name and surname at recall 0.7, u from a million random pairs, m by
  expectation maximisation on first name and surname, then on the date of birth or the email.

Prints one JSON line: pairwise precision, recall and F1 against TRUTH_COLUMN, wall and CPU seconds,
peak memory, the size of the largest cluster.
"""

import argparse
import json
import resource
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def pairs(labels: pd.Series) -> int:
    sizes = labels.value_counts()
    return int((sizes * (sizes - 1) // 2).sum())


def cleaned(column: pd.Series) -> pd.Series:
    """Lower case, punctuation as spaces, one space between words; empty as null."""
    clean = column.str.lower().str.replace(r"[^\w ]", " ", regex=True).str.split().str.join(" ")
    return clean.where(clean != "", None)


def person_model(frame: pd.DataFrame, id_col: str, roles: dict[str, str]) -> Linker:
    data = pd.DataFrame({"unique_id": frame[id_col]})
    for role, col in roles.items():
        data[role] = cleaned(frame[col])
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
    return linker


def company_model(frame: pd.DataFrame, id_col: str, roles: dict[str, str]) -> Linker:
    data = pd.DataFrame({"unique_id": frame[id_col]})
    for role in ("name", "street", "city", "postcode"):
        data[role] = cleaned(frame[roles[role]])
    domain = frame[roles["domain"]].str.lower().str.strip().str.extract(
        r"^(?:[a-z]+://)?(?:www\.)?([^/:?#\s]+)", expand=False)
    data["domain"] = domain.where(domain.notna() & (domain != ""), None)
    phone = frame[roles["phone"]].str.replace(r"\D", "", regex=True).str[-10:]
    data["phone"] = phone.where(phone.str.len() >= 7, None)
    data["name_first_word"] = data["name"].str.split().str[0]
    comparisons = [
        cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]).configure(term_frequency_adjustments=True),
        cl.ExactMatch("domain").configure(term_frequency_adjustments=True),
        cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        cl.LevenshteinAtThresholds("street", [1, 3]),
        cl.ExactMatch("postcode"),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
    ]
    blocking = [block_on("name"), block_on("domain"), block_on("phone"), block_on("postcode", "name_first_word")]
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking)
    linker = Linker(DuckDBAPI().register(data), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("name", "city"), block_on("phone", "domain")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7)
    for rule in blocking[:2]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    return linker


def people_model(frame: pd.DataFrame, id_col: str, roles: dict[str, str]) -> Linker:
    data = pd.DataFrame({"unique_id": frame[id_col]})
    for role, col in roles.items():
        data[role] = frame[col].str.strip().str.lower().where(frame[col].str.strip() != "", None)
    comparisons = [cl.NameComparison(c) for c in ("first_name", "surname") if c in roles]
    if "dob" in roles:
        data["dob"] = pd.to_datetime(data["dob"], errors="coerce", format="mixed").dt.strftime("%Y-%m-%d")
        comparisons.append(cl.DateOfBirthComparison("dob", input_is_string=True))
    if "city" in roles:
        comparisons.append(cl.ExactMatch("city").configure(term_frequency_adjustments=True))
    if "email" in roles:
        comparisons.append(cl.EmailComparison("email"))
    first = "dob" if "dob" in roles else "city" if "city" in roles else None
    blocking = [block_on("first_name", first) if first else block_on("first_name"), block_on("surname")]
    if "email" in roles:
        blocking.append(block_on("email"))
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking)
    linker = Linker(DuckDBAPI().register(data), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match([block_on("first_name", "surname")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    if "dob" in roles:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    elif "email" in roles:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    return linker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path")
    parser.add_argument("id_col")
    parser.add_argument("truth_col")
    parser.add_argument("roles", nargs="+", help="ROLE=COLUMN")
    parser.add_argument("--recipe", choices=("person", "company", "people"), default="person")
    parser.add_argument("--threshold", type=float, default=0.9, help="cluster at this match probability")
    args = parser.parse_args()
    roles = dict(a.split("=", 1) for a in args.roles)
    frame = pd.read_csv(args.path, dtype=str, keep_default_na=False)
    started, cpu = time.perf_counter(), time.process_time()
    model = {"company": company_model, "people": people_model}.get(args.recipe, person_model)
    linker = model(frame, args.id_col, roles)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, args.threshold).as_pandas_dataframe()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    found = clusters.set_index("unique_id")["cluster_id"].astype(str).reindex(frame[args.id_col]).to_numpy()
    both = pd.DataFrame({"found": found, "truth": frame[args.truth_col].to_numpy()})
    tp = pairs(both["found"] + "|" + both["truth"])
    n_found, n_true = pairs(both["found"]), pairs(both["truth"])
    p = tp / n_found if n_found else 1.0
    r = tp / n_true if n_true else 1.0
    print(json.dumps({"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "wall": wall,
                      "cpu": cpu, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "largest_cluster": int(both["found"].value_counts().max())}))


if __name__ == "__main__":
    main()
