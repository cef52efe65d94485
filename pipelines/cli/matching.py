"""``leadroute dedupe``, ``leadroute match`` and ``leadroute eval``: the engine on any CSV.

Ops and data engineers can check a list before importing it, measure a change to
``routing_rules/matching.yaml`` on any labelled file, or see the model the engine
learned, without a CRM or a warehouse.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from pipelines.cli.common import friendly, settings as env_settings, table
from pipelines.matching.fields import MAPPABLE, PERSON_NAME

_FIELD_HELP = (f"FIELD=COLUMN, FIELD one of: {', '.join(MAPPABLE)}. Repeatable; a field given twice joins "
               "its columns in order (street=No --map street=Street).")


def _settings(rules: str | None, default_country: str | None, threshold: float | None, dedupe: bool = False,
              lead_address: str | None = None):
    """matching.yaml (or the defaults), with the command line's overrides validated like the file."""
    from pydantic import ValidationError

    from pipelines.matching.settings import MatchingSettings, load_matching_settings

    path = Path(rules) if rules else env_settings().rules / "matching.yaml"
    data = load_matching_settings(path).model_dump()
    if default_country:
        data["default_country"] = default_country
    if threshold is not None:
        data["dedupe" if dedupe else "link"]["threshold"] = threshold
    if lead_address:
        data["link"]["lead_address"] = lead_address
    try:
        return MatchingSettings.model_validate(data)
    except ValidationError as exc:
        raise click.UsageError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None


def _mapping(option: str, values: tuple[str, ...]) -> dict[str, str]:
    from pipelines.matching.records import parse_mapping

    try:
        return parse_mapping(values, option)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _link_files(leads_csv, accounts_csv, lead_id, account_id, maps, lead_maps, account_maps, country: str,
                extra: list[str] | None = None, named: bool | None = None):
    """The two files of ``match`` and ``eval link``, each with ``--map`` and its own map (which takes a field's
    columns instead of ``--map``'s). Two lists of people only where both files map a person's name (a company
    mapped too is where each works), or neither does and both company columns name people (``named``,
    ``--people``; by default as their mappings and names say): a leads file of people's names linked to
    accounts of companies keeps its names out of the company's."""
    from pipelines.matching.records import as_companies, read_records

    both = _mapping("--map", maps)
    lead_map, account_map = both | _mapping("--lead-map", lead_maps), both | _mapping("--account-map", account_maps)
    person_named = [any(f in m for f in PERSON_NAME) for m in (lead_map, account_map)]

    def read(people: bool):
        return (read_records(leads_csv, lead_id, lead_map, people=people, named=named, default_country=country,
                             prefer="email", extra=extra),
                read_records(accounts_csv, account_id, account_map, people=people, named=named,
                             default_country=country, prefer="website"))

    leads, accounts = read(all(person_named) or not any(person_named) or bool(named))
    if leads.people != accounts.people:  # one list names people, the other organisations (or nothing)
        if named:
            other = accounts_csv if leads.people else leads_csv
            click.echo(f"--people: {other} maps no first_name, last_name or company to read as a person's name, so "
                       "both files are read as organisations", err=True)
        if any(r.people and not r.named_by for r in (leads, accounts)):  # its person's name mapped: read again
            leads, accounts = read(False)
        else:
            leads, accounts = (as_companies(r) if r.named_by else r for r in (leads, accounts))
    return leads, accounts


def _report(records, label: str, quiet: bool, employer_compared: bool = True) -> None:
    """``employer_compared``: the other file of a link of people maps a company too."""
    if records.employer:
        company = ("the company is where they work" if employer_compared
                   else "its company is not compared, since the other file maps none")
        click.echo(f"{label}: a person's name mapped, so each row is a person, known by that name; {company} (a file "
                   f"of people: to find duplicate companies, map no first_name or last_name)", err=True)
    elif records.named_by == "--people":
        click.echo(f"{label}: --people, so each row is a person, known by the name in its company column", err=True)
    elif records.named_by:
        click.echo(f"{label}: its company column names people ({records.named_by}), so each row is a person, known "
                   f"by that name (a file of people; --companies to read it as organisations)", err=True)
    elif records.people:
        click.echo(f"{label}: no company mapped, so each row's first and last name is its name (a file of people)",
                   err=True)
    if not records.problems or quiet:
        if records.problems:
            click.echo(f"{label}: {len(records.problems)} row warning(s) (not shown: --quiet)", err=True)
        return
    for p in records.problems[:50]:
        click.echo(f"  {p}", err=True)
    if len(records.problems) > 50:
        click.echo(f"  ... {len(records.problems) - 50} more row warnings in {label}", err=True)


_common = [
    click.option("--default-country", help="ISO code for phones and addresses without a country (default: "
                 "matching.yaml's default_country, US)."),
    click.option("--rules", type=click.Path(dir_okay=False), help="matching.yaml to use (default: "
                 "$LEADROUTE_RULES/matching.yaml)."),
    click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                 help="confidence from which records match (default from matching.yaml)."),
    click.option("--quiet", is_flag=True, help="do not list row warnings."),
    click.option("--people/--companies", "people", default=None,
                 help="whether a file that maps no first_name or last_name names people in its company column "
                      "(default: when most rows hold a date of birth, or a third or more of its names are a given "
                      "name and a surname)."),
]


def _with_common(fn):
    for option in reversed(_common):
        fn = option(fn)
    return fn


def _labels(path: str | None, records, other=None, quiet: bool = False):
    """``--labels`` read against the records' ids (and the other file's, for match)."""
    if not path:
        return None
    from pipelines.matching.labels import read_labels

    labels = read_labels(path, records.ids, other.ids if other is not None else None)
    if labels.problems and not quiet:
        for p in labels.problems[:20]:
            click.echo(f"  {p}", err=True)
    click.echo(f"{path}: {len(labels.duplicates):,} known duplicate and {len(labels.distinct):,} known distinct "
               "pair(s)", err=True)
    return labels


def _show_model(parameters) -> None:
    for line in parameters.describe():
        click.echo(line)
    click.echo(table(parameters.table().fillna("").round(5), max_rows=200))


_labels_option = click.option("--labels", "labels_csv", type=click.Path(exists=True, dir_okay=False),
                              help="known pairs: two id columns and an optional yes/no column; duplicates teach "
                                   "the model, distinct pairs are never put together")
_explain_option = click.option("--explain-params", is_flag=True,
                               help="print the model learned from the file(s): m, u and weight of every "
                                    "comparison level, and where each came from")


@click.command()
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "id_column", required=True, help="column holding each row's id")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help=_FIELD_HELP)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="where to write record_id,cluster_id")
@_labels_option
@_explain_option
@_with_common
@friendly
def dedupe(input_csv, id_column, maps, out, labels_csv, explain_params, default_country, rules, threshold,
           quiet, people) -> None:
    """Find duplicate records in INPUT_CSV: writes record_id,cluster_id for every row.

    The model is learned from the file itself (see --explain-params). With first_name or last_name mapped,
    each row is a person (a contacts export), and a company mapped beside it is where they work.

    \b
    leadroute dedupe accounts.csv --id Id --map company=Name --map website=Website \\
        --map phone=Phone --out clusters.csv
    leadroute dedupe contacts.csv --id Id --map first_name=FirstName --map last_name=LastName \\
        --map company=Company --map email=Email --out people.csv
    """
    from pipelines.matching.files import dedupe_records
    from pipelines.matching.records import read_records

    started = time.perf_counter()
    s = _settings(rules, default_country, threshold, dedupe=True)
    records = read_records(input_csv, id_column, _mapping("--map", maps), default_country=s.default_country,
                           named=people, prefer="website")
    _report(records, input_csv, quiet)
    labels = _labels(labels_csv, records, quiet=quiet)
    result = dedupe_records(records, s, labels=labels, progress=_progress(quiet))
    result.to_csv(out, index=False)
    if explain_params:
        _show_model(result.attrs["parameters"])
    sizes = result.groupby("cluster_id").size()
    groups = int((sizes > 1).sum())
    click.echo(f"{len(result):,} record{'s' * (len(result) != 1)}, {len(sizes):,} cluster{'s' * (len(sizes) != 1)} "
               f"({groups:,} with duplicates, {int(sizes[sizes > 1].sum()):,} records in them) -> {out} in "
               f"{time.perf_counter() - started:.1f} s")


def _progress(quiet: bool):
    return (lambda m: None) if quiet else (lambda m: click.echo(f"  {m}", err=True))


@click.command()
@click.option("--leads", "leads_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--accounts", "accounts_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--lead-id", help="id column of the leads file")
@click.option("--account-id", help="id column of the accounts file")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="both files. " + _FIELD_HELP)
@click.option("--lead-map", "lead_maps", multiple=True, metavar="FIELD=COLUMN",
              help="leads file only (a field given here takes these columns instead of --map's).")
@click.option("--account-map", "account_maps", multiple=True, metavar="FIELD=COLUMN",
              help="accounts file only (a field given here takes these columns instead of --map's).")
@click.option("--out", type=click.Path(dir_okay=False), help="where to write lead_id,account_id,confidence,reason")
@click.option("--lead-address", type=click.Choice(["company", "person"]), default="company", show_default=True,
              help="whose address and phone the leads file holds: the company's (two lists of organisations) "
                   "or a person's (web-form leads), which makes disagreement count less")
@_labels_option
@_explain_option
@_with_common
@friendly
def match(leads_csv, accounts_csv, lead_id, account_id, maps, lead_maps, account_maps, out, lead_address, labels_csv,
          explain_params, default_country, rules, threshold, quiet, people) -> None:
    """Match every lead in LEADS to the best account in ACCOUNTS (empty account_id when none).

    The model is learned from the two files. With --explain-params and no files, shows the models
    the pipeline learned from the org's own records (stored in the warehouse).

    \b
    leadroute match --leads leads.csv --accounts accounts.csv --lead-id Id --account-id Id \\
        --map company=Company --lead-map email=Email --account-map website=Website --out matches.csv
    leadroute match --explain-params
    """
    from pipelines.matching.files import match_records

    if explain_params and not (leads_csv or accounts_csv):
        _stored_models()
        return
    missing = [name for name, v in [("--leads", leads_csv), ("--accounts", accounts_csv), ("--lead-id", lead_id),
                                    ("--account-id", account_id), ("--out", out)] if not v]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (only --explain-params runs without files)")
    started = time.perf_counter()
    s = _settings(rules, default_country, threshold, lead_address=lead_address)
    leads, accounts = _link_files(leads_csv, accounts_csv, lead_id, account_id, maps, lead_maps, account_maps,
                                  s.default_country, named=people)
    _report(leads, leads_csv, quiet, employer_compared=accounts.employer)
    _report(accounts, accounts_csv, quiet, employer_compared=leads.employer)
    labels = _labels(labels_csv, leads, accounts, quiet=quiet)
    result = match_records(leads, accounts, s, labels=labels, progress=_progress(quiet))
    result.to_csv(out, index=False)
    if explain_params:
        _show_model(result.attrs["parameters"])
    matched = int((result["account_id"] != "").sum())
    click.echo(f"{len(result):,} leads, {matched:,} matched ({matched / max(len(result), 1):.1%}) against "
               f"{len(accounts.ids):,} accounts -> {out} in {time.perf_counter() - started:.1f} s")


def _stored_models() -> None:
    """The models the pipeline stored at its last master rebuild and lead match."""
    from pipelines.matching.parameters import stored_models
    from pipelines.warehouse import db

    path = env_settings().warehouse
    if not path.exists():
        raise click.ClickException(f"no warehouse at {path}: run a tick first (leadroute tick), or give "
                                   "--leads/--accounts to learn from two files")
    with db.connect(path, read_only=True) as con:
        if not db.table_exists(con, "matching_parameters"):
            raise click.ClickException("no model learned yet: the warehouse has had no master rebuild")
        click.echo(stored_models(con))


@click.group(name="eval")
def evaluate() -> None:
    """Measure the engine on labelled data."""


@evaluate.command(name="matching")
@click.option("--accounts", default=20_000, show_default=True, help="accounts to generate")
@click.option("--leads", default=3_000, show_default=True, help="leads to generate")
@click.option("--seed", default=7, show_default=True)
@click.option("--crm", "crm_path", type=click.Path(dir_okay=False),
              help="an existing generated CRM (with --truth) instead of generating one")
@click.option("--truth", "truth_dir", type=click.Path(file_okay=False), help="its ground truth folder")
@click.option("--rules", type=click.Path(file_okay=False), help="rules folder (default $LEADROUTE_RULES)")
@click.option("--workdir", type=click.Path(file_okay=False), help="keep the generated CRM and warehouse here")
@click.option("--ecm", is_flag=True, help="also score recordlinkage's ECM classifier on the same candidate pairs")
@friendly
def eval_matching(accounts, leads, seed, crm_path, truth_dir, rules, workdir, ecm) -> None:
    """Precision, recall and F1 of lead-to-account matching and account deduplication on generated data."""
    from pipelines.matching.evaluate import evaluate_generated

    rules_dir = Path(rules) if rules else env_settings().rules
    try:
        report = evaluate_generated(rules_dir, accounts=accounts, leads=leads, seed=seed,
                                    crm_path=Path(crm_path) if crm_path else None,
                                    truth_dir=Path(truth_dir) if truth_dir else None,
                                    workdir=Path(workdir) if workdir else None, ecm=ecm,
                                    progress=lambda m: click.echo(f"  {m}", err=True))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    for line in report.describe():
        click.echo(line)
    if report.errors is not None and len(report.errors):
        click.echo("\nSome wrong lead matches:")
        click.echo(table(report.errors, max_rows=15))
    sys.stdout.flush()


@evaluate.command(name="dedupe")
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "id_column", required=True, help="column holding each row's id")
@click.option("--truth", "truth_column", required=True,
              help="column naming each row's true cluster (entity); empty: a record with no duplicate")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help=_FIELD_HELP)
@click.option("--examples", default=3, show_default=True, type=click.IntRange(min=0), help="examples of each kind of error")
@_labels_option
@_with_common
@friendly
def eval_dedupe(input_csv, id_column, truth_column, maps, examples, labels_csv, default_country, rules, threshold,
                quiet, people) -> None:
    """How well `leadroute dedupe` does on a labelled INPUT_CSV: precision, recall and F1 (pairwise and
    B-cubed), each blocking rule's pairs completeness, and the errors by cause, with examples.

    \b
    leadroute eval dedupe listings.csv --id Id --truth EntityId --map company=Name --map street=Address
    """
    from pipelines.matching.files import dedupe_records
    from pipelines.matching.measures import evaluate_dedupe
    from pipelines.matching.records import read_records

    s = _settings(rules, default_country, threshold, dedupe=True)
    records = read_records(input_csv, id_column, _mapping("--map", maps), default_country=s.default_country,
                           named=people, prefer="website", extra=[truth_column])
    _report(records, input_csv, True)
    labels = _labels(labels_csv, records, quiet=quiet)
    result = dedupe_records(records, s, labels=labels, progress=_progress(quiet))
    fields = records.fields

    def describe(position: int) -> str:
        row = fields.iloc[position]
        return " | ".join(str(v) for v in row.tolist() if str(v).strip())

    # A labelled file often names only the duplicates' entity: an empty cell is a record of its own, not one
    # cluster of every unlabelled record.
    labelled = records.extra[truth_column].str.strip()
    truth, _ = pd.factorize(labelled)
    blank = (labelled == "").to_numpy()
    truth[blank] = truth.max() + 1 + np.arange(blank.sum())
    ev = evaluate_dedupe(truth, result.attrs["result"], describe, max_examples=examples)
    _print_evaluation(ev, result.attrs["parameters"], "pairs", examples)


@evaluate.command(name="link")
@click.option("--leads", "leads_csv", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--accounts", "accounts_csv", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--lead-id", required=True, help="id column of the leads file")
@click.option("--account-id", required=True, help="id column of the accounts file")
@click.option("--truth", "truth_column", required=True,
              help="column of the leads file holding each lead's true account id (empty: no account)")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="both files. " + _FIELD_HELP)
@click.option("--lead-map", "lead_maps", multiple=True, metavar="FIELD=COLUMN",
              help="leads file only (a field given here takes these columns instead of --map's).")
@click.option("--account-map", "account_maps", multiple=True, metavar="FIELD=COLUMN",
              help="accounts file only (a field given here takes these columns instead of --map's).")
@click.option("--lead-address", type=click.Choice(["company", "person"]), default="company", show_default=True)
@click.option("--examples", default=3, show_default=True, type=click.IntRange(min=0), help="examples of each kind of error")
@_labels_option
@_with_common
@friendly
def eval_link(leads_csv, accounts_csv, lead_id, account_id, truth_column, maps, lead_maps, account_maps, lead_address,
              examples, labels_csv, default_country, rules, threshold, quiet, people) -> None:
    """How well `leadroute match` does on labelled files: precision, recall and F1 of the links, each
    blocking rule's pairs completeness, and the errors by cause, with examples.

    \b
    leadroute eval link --leads leads.csv --accounts accounts.csv --lead-id Id --account-id Id \\
        --truth TrueAccountId --map company=Name --map street=Address
    """
    from pipelines.matching.files import match_records
    from pipelines.matching.link import blocking_rules
    from pipelines.matching.measures import evaluate_link

    s = _settings(rules, default_country, threshold, lead_address=lead_address)
    leads, accounts = _link_files(leads_csv, accounts_csv, lead_id, account_id, maps, lead_maps, account_maps,
                                  s.default_country, extra=[truth_column], named=people)
    _report(leads, leads_csv, True, employer_compared=accounts.employer)
    _report(accounts, accounts_csv, True, employer_compared=leads.employer)
    labels = _labels(labels_csv, leads, accounts, quiet=quiet)
    result = match_records(leads, accounts, s, labels=labels, progress=_progress(quiet))
    position = pd.Series(range(len(accounts.ids)), index=accounts.ids.to_numpy())
    position = position[~position.index.duplicated()]
    truth = leads.extra[truth_column].str.strip().map(position).fillna(-1).astype(int).to_numpy()
    predicted = result["account_id"].map(position).fillna(-1).astype(int).to_numpy()

    def describe(lead: int, account: int) -> str:
        text = lambda frame, i: " | ".join(str(v) for v in frame.iloc[i].tolist() if str(v).strip())  # noqa: E731
        return f"{text(leads.fields, lead)}  ~  {text(accounts.fields, account)}"

    ev = evaluate_link(truth, predicted, result.attrs["pairs"], result.attrs["scored"], s.link.threshold,
                       blocking_rules(s.blocking), describe, max_examples=examples)
    _print_evaluation(ev, result.attrs["parameters"], "leads", examples)


def _print_evaluation(ev, parameters, unit: str, examples: int) -> None:
    """What `eval dedupe` and `eval link` print: the measures, the model, blocking, errors by cause, examples."""
    for line in ev.describe() + parameters.describe()[:1]:
        click.echo(line)
    click.echo("\nBlocking: true pairs each rule proposed")
    click.echo(table(ev.completeness.assign(pairs_completeness=ev.completeness["pairs_completeness"].map("{:.1%}".format))))
    click.echo(f"\nErrors by cause ({unit})")
    click.echo(table(ev.causes))
    if examples and len(ev.examples):
        click.echo("\nExamples")
        click.echo(table(ev.examples, max_rows=len(ev.examples)))


COMMANDS = [dedupe, match, evaluate]
