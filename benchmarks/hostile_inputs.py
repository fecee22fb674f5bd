"""Time and peak memory of `comicforge check` on each hostile project of the corpus (tests/project/hostile.py).

How it is measured: each case is a fresh copy of projects/demo with one hostile change (an alias bomb, a
20,000 x 20,000 1-bit sketch, a 200,000-person pose file, …), built once. `python -m comicforge check` runs on
a fresh copy `--runs` times in a child process under an address-space limit (`--memory-limit`, GiB) and a wall-clock
limit (`--timeout`, s; a run past it is killed and counted at the limit); wall time is from spawn to exit, peak
memory the child's own maximum RSS from wait4(2). We print, per case, the median time with the spread
(min-max), the largest peak RSS, the exit status of the last run and the first line of its message.
`--against DIR` measures another checkout's comicforge (e.g. `git archive main | tar -x -C /tmp/main`),
with this checkout's corpus, so the same files are measured before and after a change.

    python benchmarks/hostile_inputs.py [--runs 3] [--timeout 60] [--memory-limit 3] [--against DIR] [--only TEXT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "project"))

from hostile import CASES, make_case, run_check  # noqa: E402


def first_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return (lines[-1] if lines and "Traceback" in stderr else lines[0] if lines else "")[:150]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-limit", type=float, default=3.0, help="GiB of address space per run")
    parser.add_argument("--against", type=Path, default=ROOT, help="root of the comicforge checkout to measure")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    print(f"comicforge from {args.against}; {args.runs} runs per case, limits {args.timeout:g} s and {args.memory_limit:g} GiB")
    print(f"{'case':40} {'median s':>9} {'spread s':>13} {'peak MiB':>9} {'exit':>5}  message")
    for case in CASES:
        if args.only not in case.name:
            continue
        outcomes = []
        for _ in range(args.runs):  # a fresh copy each run: a second `check` of a valid project is a cached no-op
            with tempfile.TemporaryDirectory() as folder:
                project, _ = make_case(case, Path(folder))
                outcomes.append(run_check(project, args.against, timeout=args.timeout, memory_limit=int(args.memory_limit * 2**30)))
        times = [o.seconds for o in outcomes]
        killed = " (killed)" if max(times) >= args.timeout else ""
        last = outcomes[-1]
        print(f"{case.name:40} {statistics.median(times):9.2f} {min(times):6.2f}-{max(times):<6.2f} "
              f"{max(o.peak_rss_mib for o in outcomes):9.0f} {last.status:5}  {first_line(last.stderr)}{killed}", flush=True)


if __name__ == "__main__":
    main()
