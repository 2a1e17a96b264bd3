"""How long ``v2a --help`` takes (the CLI imports nothing heavy until a command runs).

    python benchmarks/cli_startup.py [--runs 5] [--limit 5.0]

Prints the median wall time of ``python -m v2a.cli --help`` and exits with status 1 if it is over
``--limit`` seconds (typically ~0.5 s; generous for loaded machines).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=float, default=5.0)
    args = parser.parse_args()
    seconds = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "v2a.cli", "--help"], capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0 or "add-sound" not in result.stdout:
            sys.exit(f"v2a --help failed: {result.stderr}")
    median = statistics.median(seconds)
    print(f"v2a --help: median {median:.2f} s over {args.runs} runs (limit {args.limit:.1f} s)")
    sys.exit(0 if median < args.limit else 1)


if __name__ == "__main__":
    main()
