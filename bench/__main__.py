"""``python -m bench [--quick]``: run every ``bench/*_bench.py`` as its own process, one table of figures.

Each benchmark prints a JSON list of {benchmark, metric, value, unit, target} in ``--json`` mode; a
benchmark that fails is reported as such and the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import Figure, meets, ratio

BENCH_DIR = Path(__file__).resolve().parent
TIMEOUT_S = 1800


def run(script: Path, quick: bool) -> tuple[list[Figure], str]:
    command = [sys.executable, str(script), "--json", *(["--quick"] if quick else [])]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=BENCH_DIR.parent
        )
    except subprocess.TimeoutExpired:
        return [], f"timed out after {TIMEOUT_S} s"
    if done.returncode != 0:
        return [], f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:] or ''}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    try:
        return json.loads(lines[-1]), ""
    except (IndexError, ValueError):
        return [], "printed no JSON figures"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short settings for every benchmark (CI)")
    parser.add_argument("only", nargs="*", help="benchmark names to run (e.g. proxy soak); default all")
    args = parser.parse_args()
    scripts = sorted(BENCH_DIR.glob("*_bench.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removesuffix("_bench") in args.only]
    rows: list[tuple[str, str, str, str, str, str]] = []
    failed = 0
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        figures, problem = run(script, args.quick)
        if problem:
            failed += 1
            rows.append((script.stem.removesuffix("_bench"), "FAILED", problem, "", "", ""))
        for f in figures:
            r, ok = ratio(f), meets(f)
            rows.append(
                (
                    f["benchmark"],
                    f["metric"],
                    f"{f['value']:g} {f['unit']}",
                    f.get("target") or "-",
                    f"{r:.2f}" if r is not None else "-",
                    {True: "ok", False: "MISS", None: ""}[ok],
                )
            )
    widths = [max(len(row[i]) for row in [*rows, HEADER]) for i in range(6)]
    for row in [HEADER, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 1 if failed else 0


HEADER = ("benchmark", "metric", "value", "target", "ratio", "")

if __name__ == "__main__":
    sys.exit(main())
