#!/usr/bin/env python3
"""compare_reports.py A B: two memx reports of the same workload (GoogleTest and Catch2)
hold the same tests with the same heap figures in every run and the same leak verdicts."""
import json
import sys

HEAP_KEYS = ("net_bytes", "net_blocks", "allocs", "peak_bytes")


def load(path):
    with open(path) as f:
        r = json.load(f)
    if r.get("format") != "memx-report" or r.get("version") != 3:
        sys.exit(f"compare_reports.py: {path}: not a memx-report version 3")
    return r


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    ta = {t["name"]: t for t in a["tests"]}
    tb = {t["name"]: t for t in b["tests"]}
    problems = []
    if sorted(ta) != sorted(tb):
        problems.append(f"tests differ: {sorted(ta)} ({a['framework']}) vs {sorted(tb)} ({b['framework']})")
    for name in sorted(set(ta) & set(tb)):
        ra, rb = ta[name]["runs"], tb[name]["runs"]
        if len(ra) != len(rb):
            problems.append(f"{name}: {len(ra)} runs vs {len(rb)}")
        for i, (x, y) in enumerate(zip(ra, rb)):
            for k in HEAP_KEYS:
                if x[k] != y[k]:
                    problems.append(f"{name} run {i}: {k} {x[k]} ({a['framework']}) vs {y[k]} ({b['framework']})")
        va, vb = ta[name]["leak"], tb[name]["leak"]
        if (va["verdict"], va["bytes_per_run"]) != (vb["verdict"], vb["bytes_per_run"]):
            problems.append(f"{name}: leak {va['verdict']} {va['bytes_per_run']} vs {vb['verdict']} {vb['bytes_per_run']}")
        print(f"{name}: " + ", ".join(f"{k} {[r[k] for r in ra]}" for k in HEAP_KEYS) + f", leak {va['verdict']}")
    if problems:
        print("compare_reports.py: the plugins disagree:\n  " + "\n  ".join(problems))
        return 1
    print(f"compare_reports.py: {len(ta)} tests, same figures under {a['framework']} and {b['framework']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
