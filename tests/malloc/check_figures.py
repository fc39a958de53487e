#!/usr/bin/env python3
"""check_figures.py REPORT TEST --min-allocs N

Every run of TEST in the memx report REPORT has net bytes and net blocks of exactly 0, and
at least N allocations (the C library's were counted)."""
import argparse
import json
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("report")
    p.add_argument("test")
    p.add_argument("--min-allocs", type=int, required=True)
    a = p.parse_args()
    with open(a.report) as f:
        r = json.load(f)
    tests = [t for t in r.get("tests", []) if t.get("name") == a.test]
    if len(tests) != 1:
        print(f"check_figures.py: {a.report}: {len(tests)} tests named {a.test}")
        return 1
    runs = tests[0].get("runs", [])
    if not runs:
        print(f"check_figures.py: {a.test}: no runs")
        return 1
    for i, run in enumerate(runs):
        got = (run.get("net_bytes"), run.get("net_blocks"), run.get("allocs"))
        if got[0] != 0 or got[1] != 0 or got[2] is None or got[2] < a.min_allocs:
            print(f"check_figures.py: {a.test} run {i}: net_bytes {got[0]}, net_blocks {got[1]}, "
                  f"allocs {got[2]}; wanted 0, 0 and at least {a.min_allocs}")
            return 1
    print(f"check_figures.py: {a.test}: {len(runs)} runs, each net 0 with C allocations counted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
