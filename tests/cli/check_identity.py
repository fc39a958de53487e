#!/usr/bin/env python3
"""Tests identified by binary and name, and a gate that ignores the warm-up, on real runs.

check_identity.py binaries|shuffle --memx BIN --print-a A --print-b B --shuffle S --workdir DIR

binaries: A and B are two GoogleTest binaries with the same file name (a/print_test,
  b/print_test) and the same test names, measuring differently. Without --root their
  reports collide (merge: a conflict naming --root); with --root (their common parent)
  they merge into one report keeping each test's binary, two identical runs gate clean,
  a regression planted in B's test is caught and named with its binary; a merged baseline
  read back without --root is refused naming --root. A copy of B under another file name
  needs no --root.
shuffle: S's tests share a cache filled on first use. A run in order and a shuffled run
  (a seed whose first test differs) gate clean, although their warm-up runs differ beyond
  the tolerance (checked, so the case is real); a regression planted in one test is caught.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def fail(msg):
    print("check_identity.py: " + msg)
    sys.exit(1)


def run(cmd, env=None, expect=0):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    out = r.stdout.decode(errors="replace")
    if r.returncode != expect:
        fail(f"{' '.join(cmd)} exited {r.returncode}, expected {expect}:\n{out}")
    return out


def contains(out, text, what):
    if text not in out:
        fail(f"{what}: expected {text!r} in:\n{out}")


def lacks(out, text, what):
    if text in out:
        fail(f"{what}: did not expect {text!r} in:\n{out}")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_suite(binary, report, extra=(), plant=False):
    env = dict(os.environ)
    env.pop("MEMX_REPORT", None)
    env.pop("PLANT_REGRESSION", None)
    if plant:
        env["PLANT_REGRESSION"] = "1"
    run([binary, "--gtest_repeat=3", f"--memx-report={report}", *extra], env=env)


def binaries(a):
    memx, work = a.memx, a.workdir
    root = os.path.dirname(os.path.dirname(a.print_a))
    for n in ("run1", "run2", "run3"):
        os.makedirs(os.path.join(work, n))
        run_suite(a.print_a, os.path.join(work, n, "a.json"))
        run_suite(a.print_b, os.path.join(work, n, "b.json"), plant=(n == "run3"))

    # Without --root both binaries are "print_test": their Print.Ostream conflicts.
    out = run([memx, "merge", os.path.join(work, "run1"), "-o", os.path.join(work, "x.json")],
              expect=1)
    contains(out, "conflict: Print.Ostream", "merge without --root")
    contains(out, "tell them apart with --root DIR", "merge without --root")
    if os.path.exists(os.path.join(work, "x.json")):
        fail("merge with a conflict wrote its output")

    merged = {}
    for n in ("run1", "run2", "run3"):
        merged[n] = os.path.join(work, n + ".json")
        out = run([memx, "merge", "--root", root, os.path.join(work, n), "-o", merged[n]])
        contains(out, "4 tests from 2 reports", "merge --root")
    m1 = load(merged["run1"])
    got = sorted((t.get("binary"), t["name"]) for t in m1["tests"])
    want = sorted((b, t) for b in ("a/print_test", "b/print_test")
                  for t in ("Print.Ostream", "Print.Variant"))
    if got != want:
        fail(f"merged tests {got}, expected {want}")

    out = run([memx, "gate", "--root", root, "--baseline", merged["run1"], merged["run2"]])
    contains(out, "passed: no regressions in 4 tests", "gate of two identical runs")
    # The new run as its directory of per-binary reports, merged on the fly.
    out = run([memx, "gate", "--root", root, "--baseline", merged["run1"],
               os.path.join(work, "run2")])
    contains(out, "passed: no regressions in 4 tests", "gate against a directory")

    out = run([memx, "gate", "--root", root, "--baseline", merged["run1"], merged["run3"]],
              expect=1)
    contains(out, "REGRESSION b/print_test: Print.Ostream: peak", "planted regression")
    lacks(out, "a/print_test: Print.Ostream", "planted regression")

    # The rebased baseline read without --root: both binaries are "print_test" again.
    out = run([memx, "gate", "--baseline", merged["run1"], merged["run2"]], expect=2)
    contains(out, "both count as \"print_test\"", "gate without --root")
    contains(out, "--root DIR", "gate without --root")

    out = run([memx, "show", "--root", root, merged["run1"]])
    contains(out, "a/print_test: Print.Ostream", "show")
    contains(out, "b/print_test: Print.Ostream", "show")
    out = run([memx, "csv", "--root", root, merged["run1"]])
    contains(out, ",over_budget,binary\n", "csv")
    contains(out, ",b/print_test\n", "csv")

    # Different file names need no --root, and the binary is shown.
    other = os.path.join(work, "bin", "format_test")
    os.makedirs(os.path.dirname(other))
    shutil.copy(a.print_b, other)
    for n in ("run4", "run5"):
        os.makedirs(os.path.join(work, n))
        run_suite(a.print_a, os.path.join(work, n, "a.json"))
        run_suite(other, os.path.join(work, n, "b.json"))
        run([memx, "merge", os.path.join(work, n), "-o", os.path.join(work, n + ".json")])
    out = run([memx, "gate", "--baseline", os.path.join(work, "run4.json"),
               os.path.join(work, "run5.json")])
    contains(out, "passed: no regressions in 4 tests", "gate, two file names")
    out = run([memx, "show", os.path.join(work, "run4.json")])
    contains(out, "format_test: Print.Ostream", "show, two file names")
    contains(out, "print_test: Print.Ostream", "show, two file names")


def worst(test, key, skip_warm_up):
    runs = test["runs"][1:] if skip_warm_up and len(test["runs"]) > 1 else test["runs"]
    return max(r[key] for r in runs)


def shuffle(a):
    memx, work = a.memx, a.workdir
    in_order = os.path.join(work, "in_order.json")
    run_suite(a.shuffle, in_order)
    base = load(in_order)
    first = base["tests"][0]["name"]
    shuffled = os.path.join(work, "shuffled.json")
    for seed in range(1, 100):
        run_suite(a.shuffle, shuffled, ("--gtest_shuffle", f"--gtest_random_seed={seed}"))
        now = load(shuffled)
        if now["tests"][0]["name"] != first:
            break
    else:
        fail("no seed in 1..99 runs another test first")
    # The case is real: counting the warm-up run, the one-time growth moved (beyond the
    # gate's 10% peak tolerance) from the first test in order to the first shuffled one.
    by_name = {t["name"]: t for t in now["tests"]}
    moved = [t["name"] for t in base["tests"]
             if worst(by_name[t["name"]], "peak_bytes", False) >
             1.1 * worst(t, "peak_bytes", False) or
             worst(t, "peak_bytes", False) > 1.1 * worst(by_name[t["name"]], "peak_bytes", False)]
    if not moved:
        fail("the warm-up runs of the two orders do not differ: the suite tests nothing")

    out = run([memx, "gate", "--baseline", in_order, shuffled])
    contains(out, "passed: no regressions in 6 tests", "gate of a shuffled run")
    out = run([memx, "diff", "--exit-code", in_order, shuffled])

    planted = os.path.join(work, "planted.json")
    run_suite(a.shuffle, planted, ("--gtest_shuffle", f"--gtest_random_seed={seed}"), plant=True)
    out = run([memx, "gate", "--baseline", in_order, planted], expect=1)
    contains(out, "REGRESSION Cache.Third: peak", "planted regression")
    contains(out, "FAILED: 1 test regressed (1 regression) in 6 tests", "planted regression")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("part", choices=("binaries", "shuffle"))
    p.add_argument("--memx", required=True)
    p.add_argument("--print-a", required=True)
    p.add_argument("--print-b", required=True)
    p.add_argument("--shuffle", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    binaries(a) if a.part == "binaries" else shuffle(a)
    print(f"check_identity.py: {a.part}: ok")


if __name__ == "__main__":
    main()
