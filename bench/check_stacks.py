#!/usr/bin/env python3
"""memx check --stacks benchmark: the two-phase check against a plain check.

    python3 bench/check_stacks.py [--build DIR] [--rounds 5] [--repeat 5]

Issue 9's target: on a suite where about 5% of the tests leak, `memx check --stacks` (the
whole suite counted, then only the culprits rerun in stack mode) costs at most 1.3 times a
plain `memx check`. The suite is bench/check_stacks/suite.cpp: 100 tests with some
allocation work each, 5 of which leak. Runs both commands interleaved for --rounds rounds
and prints the median wall times and their ratio. Python 3 standard library only; builds
with bench/run.py's helper (build dir build-bench by default).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: build, log, machine_line)

TARGET = 1.3
RERUN = re.compile(r"memx check: (\d+) tests again in stack mode")


def timed(argv):
    """Runs a memx check (exit 1 is expected: the suite leaks); returns (wall s, output)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    out = proc.stdout.decode(errors="replace")
    if proc.returncode not in (0, 1):
        sys.exit("error: %s exited with %d\n%s" % (" ".join(argv), proc.returncode, out[-3000:]))
    return wall, out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(run.REPO, "build-bench"))
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeat", type=int, default=5, help="memx check --repeat (default 5)")
    p.add_argument("--scale", type=int, default=10,
                   help="CHECK_SCALE: work per test (default 10: a plain check of about 3 s)")
    a = p.parse_args()
    build_dir = os.path.abspath(a.build)
    if not a.no_build:
        run.build(build_dir)
        cmd = ["cmake", "--build", build_dir, "--target", "memx_tool", "memx_bench_check_suite", "-j", "2"]
        run.log("+ " + " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    memx = os.path.join(build_dir, "tools", "memx", "memx")
    suite = os.path.join(build_dir, "bench", "check_stacks", "memx_bench_check_suite")
    for path in (memx, suite):
        if not os.path.exists(path):
            sys.exit("error: %s not found: build it (or drop --no-build)" % path)
    os.environ["CHECK_SCALE"] = str(a.scale)
    tmp = tempfile.mkdtemp(prefix="memx-check-bench-")
    plain = [memx, "check", "--repeat", str(a.repeat), "--report", os.path.join(tmp, "plain.json"), "--", suite]
    stacks = [memx, "check", "--stacks", "--repeat", str(a.repeat), "--report",
              os.path.join(tmp, "stacks.json"), "--", suite]
    # A warm-up of each, which also checks that the second phase reruns the 5 culprits only.
    timed(plain)
    _, out = timed(stacks)
    m = RERUN.search(out)
    if not m or int(m.group(1)) != 5:
        sys.exit("error: memx check --stacks did not rerun the 5 leaking tests:\n" + out[-3000:])
    walls = {"check": [], "check --stacks": []}
    for r in range(a.rounds):
        order = [("check", plain), ("check --stacks", stacks)]
        if r % 2:
            order.reverse()
        for name, argv in order:
            walls[name].append(timed(argv)[0])
        run.log("round %d/%d done" % (r + 1, a.rounds))
    med = {k: statistics.median(v) for k, v in walls.items()}
    ratio = med["check --stacks"] / med["check"]
    print("memx check --stacks benchmark, %s" % time.strftime("%Y-%m-%d"))
    print("")
    print("| suite (100 tests, 5 leaking, CHECK_SCALE=%d, --repeat %d, %d rounds) | memx check s | memx check --stacks s | ratio (<= %.1f) |" % (a.scale, a.repeat, a.rounds, TARGET))
    print("|---|---:|---:|---:|")
    print("| bench/check_stacks/suite.cpp | %.3f | %.3f | %.2f %s |" % (
        med["check"], med["check --stacks"], ratio, run.verdict(ratio <= TARGET)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
