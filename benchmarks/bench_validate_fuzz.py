"""Fuzzing ``leadroute validate --offline``: mutated copies of the shipped rules, counted by outcome.

Each copy of ``routing_rules/`` gets one mutation of ``tests/rules_mutations.py`` (the classes issue 16
found, and generic ones: flipped bytes, swapped values, dropped lines) and is checked by the
``validate`` command in a child process of its own (forked, so each copy costs the check and not
the imports), with a memory cap and a time limit. Counted, as issue 16 counted them:

- crash: a Python exception escaped (a traceback), or the child died;
- hang: the check took longer than ``--timeout`` seconds (10);
- accepted invalid: a mutation that must be rejected (``invalid``) was valid, or ``NO`` in a list of
  codes was read as the boolean false;
- error without file:line: a problem printed without the file and line to fix (a missing file, which
  has no line, names its file alone);
- leak: the output showed another file's content (``/etc/passwd``).

Exit status 1 when any of these is above zero. Not a timed test: the slowest copies are printed.

    python benchmarks/bench_validate_fuzz.py                      # 420 copies, seed 16
    python benchmarks/bench_validate_fuzz.py --copies 3000 --seed 7
    python benchmarks/bench_validate_fuzz.py --code /path/to/other/checkout   # measure another version
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = re.compile(r"^(?P<where>\S.*?): (?P<severity>error|warning): ")
WITH_LINE = re.compile(r"^\S+:\d+$")
MEMORY_CAP = 3 * 1024 ** 3


def _mutations():
    spec = importlib.util.spec_from_file_location("rules_mutations", ROOT / "tests" / "rules_mutations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["rules_mutations"] = module
    spec.loader.exec_module(module)
    return module


def _bools_in_conditions(folder: Path) -> bool:
    """Whether a condition of the loaded rules holds a boolean in a list (YAML 1.1's NO read as false)."""
    from pipelines.routing.ruleset.checks import conditions
    from pipelines.routing.ruleset.load import load_rules

    rules = load_rules(folder)
    for flow in rules.flows.values():
        for step in flow.steps:
            for cond in conditions(step.when):
                value = getattr(cond, "value", None)
                if isinstance(value, list) and any(isinstance(v, bool) for v in value):
                    return True
    return False


def _check(folder: str, probe: bool, conn) -> None:
    """In the child: run the command as a shell would, send back (exit code, output, traceback, probe)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    from click.testing import CliRunner

    from pipelines.cli.rules import validate

    try:
        result = CliRunner().invoke(validate, [folder, "--offline"], catch_exceptions=True)
        crash = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            crash = "".join(traceback.format_exception(result.exception))[-1500:]
        yaml11 = bool(probe and result.exit_code == 0 and _bools_in_conditions(Path(folder)))
        conn.send((result.exit_code, result.output[-20000:], crash, yaml11))
    except BaseException:  # noqa: BLE001 - the harness reports whatever escaped
        conn.send((-1, "", traceback.format_exc()[-1500:], False))


def classify(mutation, exit_code: int, output: str, crash: str | None, yaml11: bool) -> list[str]:
    """The outcomes of one copy (empty: it behaved)."""
    out = []
    if crash or "Traceback (most recent call last)" in output or exit_code not in (0, 1, 2):
        out.append("crash")
    if mutation.invalid and exit_code == 0:
        out.append("accepted invalid")
    if yaml11:
        out.append("accepted invalid")
    for line in output.splitlines():
        m = PROBLEM.match(line.strip())
        # A missing file has no line to show: the one error that may name its file alone.
        if m and m.group("severity") == "error" and not WITH_LINE.match(m.group("where")) \
                and not line.strip()[m.end():].startswith("file not found"):
            out.append("error without file:line")
            break
    if any(text in output for text in mutation.forbidden):
        out.append("leak")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=420)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after which a copy counts as a hang")
    parser.add_argument("--rules", type=Path, default=ROOT / "routing_rules")
    parser.add_argument("--code", type=Path, default=None, help="import pipelines from this checkout instead")
    parser.add_argument("--targeted-share", type=float, default=0.6, help="share of copies with a targeted mutation")
    parser.add_argument("--show", type=int, default=3, help="examples shown per outcome")
    parser.add_argument("--kinds", default="", help="only these mutations (comma-separated function names)")
    args = parser.parse_args(argv)

    if args.code is not None:
        sys.path.insert(0, str(args.code.resolve()))
    else:
        sys.path.insert(0, str(ROOT))
    import pipelines.cli.rules  # noqa: F401 - imported once, before the children fork
    import pipelines.routing.ruleset.load  # noqa: F401

    catalogue = _mutations()
    rnd = random.Random(args.seed)
    ctx = mp.get_context("fork")
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    slowest: list[tuple[float, str]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lr-fuzz-") as tmp:
        for n in range(args.copies):
            base = Path(tmp) / f"copy{n}"
            folder = base / "routing_rules"
            shutil.copytree(args.rules, folder)
            pool = catalogue.TARGETED if rnd.random() < args.targeted_share else catalogue.GENERIC
            if args.kinds:
                pool = [getattr(catalogue, k) for k in args.kinds.split(",")]
            try:
                mutation = catalogue.mutate(folder, rnd, pool)[0]
            except (AssertionError, ValueError, IndexError, OSError) as exc:  # the mutation did not apply
                counts["mutation skipped"] += 1
                shutil.rmtree(base, ignore_errors=True)
                print(f"skipped: {exc}", file=sys.stderr)
                continue
            kinds[mutation.kind] += 1
            here, there = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_check, args=(str(folder), mutation.yaml11_probe, there))
            t0 = time.perf_counter()
            child.start()
            outcome: list[str]
            if here.poll(args.timeout):
                try:
                    exit_code, output, crash, yaml11 = here.recv()
                    outcome = classify(mutation, exit_code, output, crash, yaml11)
                    detail = crash or output.strip().splitlines()[0] if (crash or output.strip()) else ""
                except EOFError:
                    outcome, detail = ["crash"], f"the child died (exit {child.exitcode})"
            else:
                outcome, detail = ["hang"], f"still running after {args.timeout:g} s"
            child.kill()
            child.join()
            elapsed = time.perf_counter() - t0
            slowest = sorted([*slowest, (elapsed, str(mutation))], reverse=True)[:5]
            counts["copies"] += 1
            for what in dict.fromkeys(outcome):
                counts[what] += 1
                examples.setdefault(what, [])
                if len(examples[what]) < args.show:
                    examples[what].append(f"{mutation}\n      {str(detail).strip().splitlines()[-1][:300]}")
            shutil.rmtree(base, ignore_errors=True)
            if (n + 1) % 50 == 0:
                print(f"{n + 1} copies, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    print(f"{counts['copies']} mutated copies (seed {args.seed}) in {time.perf_counter() - started:.0f} s; "
          f"mutations: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}")
    bad = ("crash", "hang", "accepted invalid", "error without file:line", "leak")
    for what in bad:
        print(f"{what:<24} {counts[what]}")
        for example in examples.get(what, []):
            print(f"    {example}")
    print("slowest copies: " + "; ".join(f"{s:.1f} s {m}" for s, m in slowest))
    return 1 if any(counts[w] for w in bad) else 0


if __name__ == "__main__":
    sys.exit(main())
