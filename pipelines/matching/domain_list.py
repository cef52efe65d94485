"""The account domain list ops keep in the rules folder (``account_domains.csv``), read and checked once.

Real accounts own several web domains (``example.com``, ``example.de``, ``example-labs.io``)
while the CRM's ``Website`` holds one. Ops list the others, one row per domain::

    account_id,domain
    001000000000042AAA,example.de
    001000000000042AAA,https://www.example-labs.io/

A cell may be a bare domain, a URL or an email address: its registered domain is kept
(``shop.example.de`` -> ``example.de``). Each mistake is named at its line: an empty cell,
something that is not a domain, a free-mail provider (``gmail.com`` is nobody's company
domain), a row listed twice, one domain listed for two accounts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, load_yaml, read_csv

COLUMNS = ("account_id", "domain")
DEFAULT_FILE = "account_domains.csv"  # in the rules folder, unless matching.yaml `domains.file` says otherwise


def named_file(matching_yaml: Path) -> str | None:
    """The list's file name as matching.yaml gives it (``domains.file``; the default when unsaid, None when
    set to null). Read without the matching settings model, so ``leadroute validate`` stays quick."""
    data = load_yaml(matching_yaml) if matching_yaml.exists() else None
    domains = data.get("domains") if isinstance(data, dict) else None
    if isinstance(domains, dict) and "file" in domains:
        return str(domains["file"]) if domains["file"] else None
    return DEFAULT_FILE


def read_domain_list(path: str | Path, display: str | None = None) -> list[tuple[str, str, str]]:
    """``(account_id, registered domain, source)`` per row, the source naming file and line."""
    # Imported here, not at the top: the normaliser brings tldextract, phonenumbers, usaddress and
    # cleanco, and `leadroute validate` (a pre-commit hook) pays for them only when a list exists.
    from pipelines.matching.normalise import is_free_mail, registered_domain

    name = display or str(path)
    rows = read_csv(path, name)
    header = set(rows[0][1]) if rows else set(COLUMNS)
    if rows and not set(COLUMNS) <= header:
        raise ConfigError([ConfigProblem(SourceRef(name, 1), f"columns must be {', '.join(COLUMNS)} "
                                                             f"(found {', '.join(sorted(header))})")])
    cells = pd.Series([r.get("domain", "") for _, r in rows], dtype=object)
    domains = registered_domain(cells) if len(cells) else cells
    # One domain per cell: the normaliser takes the first of a field holding two, a list must not.
    several = cells.astype(str).str.strip().str.contains(r"[\s,;|]", regex=True) if len(cells) else cells
    free = is_free_mail(domains.fillna("")) if len(cells) else cells
    problems: list[ConfigProblem] = []
    out: list[tuple[str, str, str]] = []
    seen: dict[str, tuple[str, int]] = {}
    for (line, row), domain, is_free, two in zip(rows, domains, free, several):
        where = SourceRef(name, line)
        account = row.get("account_id", "")
        if not account:
            problems.append(ConfigProblem(where, "empty account_id: the CRM id of the account that owns the domain"))
        elif two and isinstance(domain, str):
            problems.append(ConfigProblem(where, f"{row.get('domain', '')!r} holds more than one value: one domain "
                                                 "per row (write each on a row of its own, with the account's id)"))
        elif not isinstance(domain, str):
            problems.append(ConfigProblem(where, f"{row.get('domain', '')!r} is not a web domain "
                                                 f"(e.g. example.de, or https://www.example.de)"))
        elif is_free:
            problems.append(ConfigProblem(where, f"{domain} is a free-mail provider, nobody's company domain"))
        elif domain in seen:
            first, at = seen[domain]
            why = "listed twice" if first == account else f"already listed for account {first}"
            problems.append(ConfigProblem(where, f"{domain} is {why} at line {at}"))
        else:
            seen[domain] = (account, line)
            out.append((account, domain, f"{name} line {line}"))
    if problems:
        raise ConfigError(problems)
    return out
