"""How fast a command starts: ``fitsflow --help`` and ``fitsflow audit verify`` on an empty
database, each run in a fresh process, against a bare ``python -c pass`` measured in the
same run with the same interpreter.

    python bench/cli_bench.py [--runs 15]

Prints the median wall time of each and ``times: X.X`` (command ÷ bare Python; the target
is within 4×), and the modules that take longest to import for each command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def median_seconds(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def slowest_imports(argv: list[str], env: dict[str, str], top: int = 5) -> list[str]:
    """The top-level imports taking longest (cumulative), from ``python -X importtime``."""
    result = subprocess.run([PYTHON, "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True)
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("   "):
            rows.append((int(parts[1]), parts[2].strip()))
    return [f"{name} {micro / 1000:.0f} ms" for micro, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "FITSFLOW_DATABASE_URL": f"sqlite:///{Path(folder) / 'empty.db'}"}
        env.pop("FITSFLOW_CONFIG", None)
        cli = [PYTHON, "-m", "fitsflow.cli"]
        subprocess.run([*cli, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        bare = median_seconds([PYTHON, "-c", "pass"], env, args.runs)
        print(f"python -c pass: {bare * 1000:.0f} ms (median of {args.runs})")
        for label, argv in (("fitsflow --help", [*cli, "--help"]),
                            ("fitsflow audit verify (empty database)", [*cli, "audit", "verify"])):
            took = median_seconds(argv, env, args.runs)
            print(f"{label}: {took * 1000:.0f} ms")
            print(f"times: {took / bare:.1f}  ({label} ÷ python -c pass; target ≤ 4)")
            print(f"  slowest imports: {', '.join(slowest_imports(argv, env))}")


if __name__ == "__main__":
    main()
