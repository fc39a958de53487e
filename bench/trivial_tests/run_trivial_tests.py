#!/usr/bin/env python3
"""Wall time of 10,000 trivial tests, plain GoogleTest vs memx::gtest_main, interleaved.

run_trivial_tests.py BUILD_DIR [--runs N] [-- extra test args]
Prints the median of each and the ratio memx / plain (target <= 1.3). Output of the tests
goes to /dev/null, as in CI logs that are not read live.
"""
import os
import statistics
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    build = args[0]
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 11
    exes = {k: os.path.join(build, f"memx_bench_trivial_{k}") for k in ("plain", "memx")}
    times = {k: [] for k in exes}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMX_")}
    for _ in range(runs):
        for k, exe in exes.items():
            t0 = time.perf_counter()
            subprocess.run([exe] + extra, stdout=subprocess.DEVNULL, check=True, env=env)
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in exes:
        print(f"{k:6s} median {med[k] * 1000:8.1f} ms  (min {min(times[k]) * 1000:.1f} ms, {runs} runs)")
    ratio = med["memx"] / med["plain"]
    per_test_us = (med["memx"] - med["plain"]) / 10000 * 1e6
    print(f"ratio memx/plain {ratio:.3f} (target <= 1.3), {per_test_us:.2f} us per test")
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
