"""Ticks that cost what their new leads cost: CPU, wall and peak memory of whole `leadroute tick`
processes on demo CRMs of several sizes, and each stage's share (issue 18).

For each size: a demo CRM, the first tick (everything is new: the account master is built, every
lead routed), a tick that reads back the owners the first tick pushed (the CRM's echo of our own
writes), then a quiet tick (0 new leads), a tick after a day's account upkeep (``--edit`` accounts
edited where no match key reads and ``--rename`` renamed, ``leadroute demo account-edits``: the
master brings those accounts up to date), ticks after ``--new`` new leads each (1, 100, 10,000 by
default), and last a tick after ``--resave`` (a share) of the open leads were saved again in the CRM
with no change leadroute reads (a mass update: every stage finds them newer, none has work). ``--world DIR`` starts from a copy of a world already ticked (a folder with the
``crm.sqlite``, ``warehouse.duckdb`` and ``ground_truth`` of ``leadroute demo init`` and its ticks)
instead of building one: at 1,000,000 accounts the first tick alone takes half an hour. CPU is the tick process's user + system time (DuckDB's and rapidfuzz's threads included),
the figure that stays meaningful on a shared machine; peak memory is its maximum resident set, and
"peak set by" the stage that raised it most (``stage/peak_rise_mib``); the
load average (1 minute) is read just before each tick starts, so a wall time can be read against it.
Each stage's CPU and wall seconds come from the tick's own asset metadata (``stage/seconds``,
``stage/cpu_seconds``, ``stage/rows``, ``stage/skipped``; ``leadroute tick --json`` lists them under
``stages``, and the data-quality checks, Great Expectations included, under ``checks``), so what the
benchmark prints is what the UI plots tick after tick. "outside the stages" is the rest of the
process: Python start, imports, the Dagster instance and run set-up, the summary.

The project's modules are byte-compiled first (``compileall``), as ``pip install .`` compiles them in
the image (deploy/Dockerfile): an editable checkout run with PYTHONDONTWRITEBYTECODE set (as on this
machine) would otherwise compile the 240-odd modules of ``pipelines/`` again in every tick process,
0.3 s of CPU that no deployed tick pays.

    python benchmarks/bench_tick.py [--accounts 10000 100000] [--leads-per-account 0.6] [--new 1 100 10000]
                                    [--edit 200] [--rename 20] [--resave 0.5] [--world DIR] [--repeat 3] [--cadence 5]
                                    [--markdown FILE]

Every command runs at a clock of its own (``--now``), ``--cadence`` minutes (5, the schedule's) after
the one before, as the schedule runs ticks; the local CRM stamps what each writes with that clock. So
the extract's five-minute overlap reaches back as far as it does in production: the first quiet tick
still reads back the owners the first tick pushed (the echo tick read them less than five minutes
after they were written), the next quiet tick reads nothing (``pipelines/ledger/watermarks.py``).
``--cadence 0`` runs every command at the machine's clock, back to back (then every quiet tick reads
that burst again).

One tick's CPU moves by a tenth from run to run on a shared machine. ``--repeat N`` runs each tick N
times, each on a copy of the world as it stood before that tick (the last on the world itself, which
goes on to the next tick), and reports the run with the median CPU, every run's CPU beside it.

Prints markdown tables (and writes them to ``--markdown``). Targets (issue 18, CPU): quiet tick
<= 3 s end to end; one new lead <= 5 s on the demo world; 10,000 new leads against 1,000,000
accounts <= 10 s (goal 5 s).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEADROUTE = str(Path(sys.executable).parent / "leadroute")
# Stages in the order a tick runs them (columns of the per-stage table).
STAGES = ["raw_crm", "unified", "enriched", "account_master", "lead_match", "routing_rules", "routing_decision",
          "reroutes", "crm_push", "distribution_pools", "kpis"]
SHORT = {"raw_crm": "extract", "unified": "unify", "enriched": "enrich", "account_master": "master",
         "lead_match": "match", "routing_rules": "rules", "routing_decision": "route", "reroutes": "reroute",
         "crm_push": "push", "distribution_pools": "pools", "kpis": "kpis"}


@dataclass
class Tick:
    accounts: int
    label: str
    new: int | None
    cpu: float
    wall: float
    peak: float
    load: float
    stages: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    cpu_runs: list[float] = field(default_factory=list)  # with --repeat: every run's CPU

    @property
    def cpu_text(self) -> str:
        runs = sorted(self.cpu_runs)
        return f"{self.cpu:.1f}" + (f" ({', '.join(f'{c:.1f}' for c in runs)})" if len(runs) > 1 else "")

    @property
    def checks_cpu(self) -> float:
        return sum(c.get("cpu_seconds", 0) for c in self.checks.values())

    @property
    def peak_by(self) -> str:
        """The stage or check that raised the process's peak memory most (``stage/peak_rise_mib``), and by how much."""
        rises = {n: v.get("peak_rise_mib", 0) for n, v in {**self.stages, **self.checks}.items()}
        if not rises or max(rises.values()) <= 0:
            return ""
        name = max(rises, key=rises.get)
        return f"{SHORT.get(name, name)} +{rises[name]:,}"

    @property
    def stages_cpu(self) -> float:
        return sum(s.get("cpu_seconds", 0) for s in self.stages.values())


class Timeline:
    """The clock each command runs at: ``cadence`` after the one before (None: the machine's clock)."""

    def __init__(self, cadence: timedelta | None):
        self.cadence = cadence
        self.at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

    def next(self) -> list[str]:
        """``--now`` for the next command (nothing at the machine's clock)."""
        if self.cadence is None:
            return []
        self.at += self.cadence
        return ["--now", self.at.isoformat()]

    def after_world(self, folder: Path) -> None:
        """Start after the latest stamp of a copied world's CRM and the latest read of its warehouse."""
        import duckdb  # the benchmark's own process reads the copy before any tick opens it

        with sqlite3.connect(folder / "crm.sqlite") as crm:
            stamps = [crm.execute(f'SELECT max(SystemModstamp) FROM "{t}"').fetchone()[0] for t in ("Lead", "Account")]
        latest = [datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S") for s in stamps if s]
        with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
            latest += [v for v in con.execute("SELECT max(value), max(read_at) FROM watermark").fetchone() if v]
        self.at = max([self.at, *latest])


def resave_leads(folder: Path, share: float, now: list[str]) -> int:
    """Save ``share`` of the open leads again in the local CRM, at the command clock ``now``, changing
    nothing else: what a mass update does that back-fills a field leadroute does not map, or a
    workflow that touches every lead. Each of them is a new version that every stage finds newer
    than its row; none has work. Returns how many."""
    at = datetime.fromisoformat(now[1]) if now else datetime.now(timezone.utc).replace(tzinfo=None)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    with sqlite3.connect(folder / "crm.sqlite") as crm:
        open_leads = crm.execute("SELECT count(*) FROM Lead WHERE IsDeleted = 0 AND IsConverted = 0").fetchone()[0]
        return crm.execute("UPDATE Lead SET SystemModstamp = ?, LastModifiedDate = ? WHERE Id IN (SELECT Id FROM Lead "
                           "WHERE IsDeleted = 0 AND IsConverted = 0 ORDER BY Id LIMIT ?)",
                           [stamp, stamp, int(open_leads * share)]).rowcount


def run(folder: Path, *args: str) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) and stdout of one `leadroute` process."""
    env = {**os.environ, "LEADROUTE_CRM_PATH": str(folder / "crm.sqlite"),
           "LEADROUTE_WAREHOUSE": str(folder / "warehouse.duckdb"), "LEADROUTE_DATA": str(folder),
           "LEADROUTE_RULES": str(ROOT / "routing_rules"), "DAGSTER_HOME": "", "GX_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([LEADROUTE, *args], env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"leadroute {' '.join(args)} failed: {err.read().decode()[-2000:]}")
        return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def tick(folder: Path, label: str, accounts: int, new: int | None, repeat: int, now: list[str]) -> Tick:
    """The tick at the clock ``now`` (``--now``, or nothing), run ``repeat`` times (see ``--repeat``):
    the run with the median CPU."""
    runs = []
    for _ in range(repeat - 1):
        trial = folder.with_name(folder.name + "-trial")
        shutil.copytree(folder, trial)
        try:
            runs.append(_tick_once(trial, label, accounts, new, now))
        finally:
            shutil.rmtree(trial)
    runs.append(_tick_once(folder, label, accounts, new, now))
    chosen = sorted(runs, key=lambda t: t.cpu)[len(runs) // 2]
    chosen.cpu_runs = [t.cpu for t in runs]
    return chosen


def _tick_once(folder: Path, label: str, accounts: int, new: int | None, now: list[str]) -> Tick:
    load = os.getloadavg()[0]
    wall, cpu, rss, out = run(folder, "tick", "--json", *now)
    summary = json.loads(out)
    t = Tick(accounts, label, new, cpu, wall, rss, load, summary.get("stages", {}), summary.get("checks", {}))
    # Skipped stages too: finding that nothing is new has its cost.
    costly = sorted(t.stages.items(), key=lambda kv: -kv[1].get("cpu_seconds", 0))
    print(f"{accounts:>10,} {label:<22} CPU {cpu:6.1f} s  wall {wall:6.1f} s  peak {rss:5.0f} MiB  load {load:4.1f} | "
          + ", ".join(f"{SHORT.get(n, n)}{' (nothing new)' if s.get('skipped') else ''} {s.get('cpu_seconds', 0):.2f}"
                      for n, s in costly[:4])
          + f", checks {t.checks_cpu:.2f}; peak set by {t.peak_by or '-'} MiB", file=sys.stderr, flush=True)
    return t


def tables(ticks: list[Tick]) -> str:
    """The whole-tick table and the per-stage CPU table, as markdown."""
    out = ["| accounts | tick | new leads | CPU s | wall s | peak MiB | peak set by (MiB it added) | load avg (1 min) "
           "| stages CPU s | checks CPU s | outside the stages CPU s |",
           "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for t in ticks:
        outside = t.cpu - t.stages_cpu - t.checks_cpu
        out.append(f"| {t.accounts:,} | {t.label} | {'' if t.new is None else f'{t.new:,}'} | {t.cpu_text} | "
                   f"{t.wall:.1f} | {t.peak:,.0f} | {t.peak_by} | {t.load:.1f} | {t.stages_cpu:.1f} | {t.checks_cpu:.1f} | "
                   f"{outside:.1f} |")
    out += ["", "CPU seconds per stage (wall seconds in brackets; `-` skipped, no new rows, with what finding that "
                "out cost beside it):", ""]
    out.append("| accounts | tick | " + " | ".join(SHORT[s] for s in STAGES) + " | checks |")
    out.append("|---:|---|" + "---:|" * (len(STAGES) + 1))
    for t in ticks:
        cells = []
        for s in STAGES:
            v = t.stages.get(s)
            if v is None:
                cells.append("")
            elif v.get("skipped"):  # finding that nothing is new is work too (a whole-table join, say)
                cells.append(f"- {v.get('cpu_seconds', 0):.2f} ({v.get('seconds', 0):.2f})")
            else:
                cells.append(f"{v.get('cpu_seconds', 0):.2f} ({v.get('seconds', 0):.2f})")
        wall = sum(c.get("seconds", 0) for c in t.checks.values())
        cells.append(f"{t.checks_cpu:.2f} ({wall:.2f})")
        out.append(f"| {t.accounts:,} | {t.label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--leads-per-account", type=float, default=0.6)
    parser.add_argument("--new", type=int, nargs="+", default=[1, 100, 10_000],
                        help="new leads before each tick after the quiet one")
    parser.add_argument("--edit", type=int, default=200, help="accounts edited where no match key reads "
                        "before the account-upkeep tick (0 with --rename 0: no such tick)")
    parser.add_argument("--rename", type=int, default=20, help="accounts renamed before that tick")
    parser.add_argument("--resave", type=float, default=0.5, help="share of the open leads saved again in the CRM "
                        "without a change leadroute reads, before a tick (0: no such tick)")
    parser.add_argument("--world", type=Path, help="start from a copy of this ticked world (skips --accounts)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tick, each from the same world "
                        "(the median CPU is reported, every run's beside it)")
    parser.add_argument("--cadence", type=float, default=5.0, help="minutes between the commands' clocks, as "
                        "the schedule runs ticks (0: the machine's clock, back to back)")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    if not 0 <= args.resave <= 1:
        parser.error("--resave is a share of the open leads, from 0 to 1")
    if args.cadence < 0:
        parser.error("--cadence must be 0 or more minutes")
    ticks: list[Tick] = []
    compileall.compile_dir(ROOT / "pipelines", quiet=1)  # as the image's `pip install .` does (see above)
    for accounts in ([None] if args.world else args.accounts):
        with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
            folder = Path(tmp)
            clock = Timeline(timedelta(minutes=args.cadence) if args.cadence else None)
            if args.world:
                for name in ("crm.sqlite", "warehouse.duckdb"):
                    shutil.copy(args.world / name, folder / name)
                shutil.copytree(args.world / "ground_truth", folder / "ground_truth")
                with sqlite3.connect(folder / "crm.sqlite") as crm:
                    accounts = crm.execute("SELECT count(*) FROM Account WHERE IsDeleted = 0").fetchone()[0]
                if clock.cadence:
                    clock.after_world(folder)
            else:
                leads = int(accounts * args.leads_per_account)
                run(folder, "demo", "init", "--accounts", str(accounts), "--leads", str(leads), *clock.next())
                ticks.append(tick(folder, "first (all new)", accounts, leads, args.repeat, clock.next()))
                # The tick after it reads back the owners the first tick pushed (the CRM's echo of our own
                # writes); the next still finds them in the extract's overlap; the one after is quiet.
                ticks.append(tick(folder, "echo of our writes", accounts, 0, args.repeat, clock.next()))
            ticks.append(tick(folder, "quiet (the last burst in the overlap)", accounts, 0, args.repeat, clock.next()))
            ticks.append(tick(folder, "quiet", accounts, 0, args.repeat, clock.next()))
            if args.edit or args.rename:
                run(folder, "demo", "account-edits", "--edit", str(args.edit), "--rename", str(args.rename),
                    "--seed", "1", *clock.next())
                ticks.append(tick(folder, f"{args.edit + args.rename:,} accounts edited ({args.rename:,} renamed)",
                                  accounts, 0, args.repeat, clock.next()))
            for n in args.new:
                run(folder, "demo", "trickle", "--leads", str(n), "--seed", str(n), *clock.next())
                ticks.append(tick(folder, f"{n:,} new lead{'s' if n > 1 else ''}", accounts, n, args.repeat,
                                  clock.next()))
            if args.resave:  # last: the ticks after it would read these leads again in the extract's overlap
                n = resave_leads(folder, args.resave, clock.next())
                ticks.append(tick(folder, f"{n:,} leads saved again", accounts, 0, args.repeat, clock.next()))
    text = tables(ticks)
    text += (f"\n\nCPU: user + system of the whole `leadroute tick` process (Python start and imports included); "
             f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end.\n")
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
