"""ns per call of ``app.deadlines.add_working_days``: this checkout against another's (default /work/main), same
process, alternated rounds, over the same random starts (2016-2036, any weekday, holidays included) and 1-30
working days (what deadlines and reminders ask for).

    python benchmarks/bench_working_days.py [--before /work/main/app/deadlines.py] [--calls 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import random
import time
from typing import Any

from _common import ROOT, machine


def _module(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="/work/main/app/deadlines.py")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(17)
    cases = [(dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 7300)), rng.randint(1, 30))
             for _ in range(args.calls)]
    versions = {"before": _module(args.before, "deadlines_before").add_working_days,
                "after": _module(str(ROOT / "app" / "deadlines.py"), "deadlines_after").add_working_days}
    assert all(versions["before"](s, d) == versions["after"](s, d) for s, d in cases[:2_000])  # same answers
    for add in versions.values():
        add(dt.date(2026, 1, 1), 5)  # the holiday table built outside the timing
    best = dict.fromkeys(versions, float("inf"))  # CPU ns per call: on a shared machine, wall time is others' too
    for round_ in range(1, args.rounds + 1):
        for name, add in versions.items():
            began, cpu = time.perf_counter_ns(), time.process_time_ns()
            for start, days in cases:
                add(start, days)
            wall = (time.perf_counter_ns() - began) / len(cases)
            per_call = (time.process_time_ns() - cpu) / len(cases)
            best[name] = min(best[name], per_call)
            print(f"round {round_} {name}: {per_call:,.0f} CPU ns/call ({wall:,.0f} wall) [{machine()}]")
    print(f"best CPU: before {best['before']:,.0f} ns/call, after {best['after']:,.0f} ns/call "
          f"({best['before'] / best['after']:.0f}x)")


if __name__ == "__main__":
    main()
