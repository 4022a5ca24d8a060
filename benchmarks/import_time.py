"""Import time of the libraries every Keras process loads first, per Python environment, in fresh processes.

Usage:
    python benchmarks/import_time.py --python .venv/bin/python [--python OTHER_ENV/bin/python ...] [--rounds 3]

For each interpreter and each module of :data:`MODULES` that it has: the median over --rounds fresh processes of
the seconds ``import MODULE`` takes after NumPy is imported (so that NumPy's own import is not counted), with the
module's version. ml_dtypes is what Keras, TensorFlow and JAX all import first; JAX is imported by Keras's numpy
backend, on which small ``protloc predict`` inputs run. Two environments that differ in one library's version
compare its versions on the same machine in the same run.
Writes benchmarks/results/import-time.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from common import command, machine, write_results

MODULES = ("ml_dtypes", "jax")
"""Modules timed, in this order, each in its own processes."""
TIMED_IMPORT = """
import importlib, json, sys, time
import numpy
start = time.perf_counter()
module = importlib.import_module(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "version": getattr(module, "__version__", None)}))
"""


def import_seconds(python: str, module: str, rounds: int) -> dict | None:
    """{"seconds": median import seconds over ``rounds`` fresh processes, "version"} of ``module`` under the
    interpreter ``python``; None where that environment does not have it."""
    found = []
    for _ in range(rounds):
        finished = subprocess.run([python, "-c", TIMED_IMPORT, module], capture_output=True, text=True)
        if finished.returncode != 0:
            if "ModuleNotFoundError" in finished.stderr:
                return None
            raise RuntimeError(f"{python}: importing {module} failed: {finished.stderr[-2000:]}")
        found.append(json.loads(finished.stdout.splitlines()[-1]))
    return {"seconds": statistics.median(row["seconds"] for row in found), "version": found[0]["version"]}


def markdown(results: dict) -> str:
    lines = ["# Import time", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Median of {results['rounds']} fresh processes each; NumPy imported before the clock starts.", "",
             "| environment | " + " | ".join(MODULES) + " |", "|---|" + "---:|" * len(MODULES)]
    for python, timings in results["environments"].items():
        cells = [f"{row['seconds'] * 1000:,.0f} ms ({row['version']})" if row else "not installed"
                 for row in (timings.get(module) for module in MODULES)]
        lines.append(f"| `{python}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", action="append", required=True, help="an interpreter to time (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    results = {"command": command(), "machine": machine(), "rounds": args.rounds,
               "environments": {python: {module: import_seconds(python, module, args.rounds) for module in MODULES}
                                for python in args.python}}
    write_results("import-time", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
