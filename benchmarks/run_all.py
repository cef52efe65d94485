"""Run every benchmark in this folder at its target size, one after another, and keep the output.

Each ``bench_*.py`` is a script whose defaults are the targets the issues set (speed
and memory on a 2-core machine). They are never timed tests: timings depend on the
machine and on what else runs, so run them on a quiet machine.

    python benchmarks/run_all.py            # all of them
    python benchmarks/run_all.py routing    # those whose name contains "routing"
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not wanted or any(w in p.stem for w in wanted))
    if not scripts:
        print(f"no benchmark matches {wanted}; have: {', '.join(p.stem for p in HERE.glob('bench_*.py'))}")
        return 2
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.stem}: exit {code}, {time.perf_counter() - started:.0f} s wall", flush=True)
        if code:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
