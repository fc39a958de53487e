#!/usr/bin/env python3
"""Scale benchmark (issue 13): memx at a million tests.

    python3 bench/scale.py [--build build-bench] [--tests 1000000] [--runs 5] [--no-build]
                           [--skip-reports] [--skip-process] [--against OTHER_BUILD]

--skip-reports runs part 3 alone (a few seconds a run, no million-test reports);
--skip-process parts 1 and 2 alone; --against OTHER_BUILD adds to part 3 the memx rows of
another build directory (another commit's, built with bench/ on), interleaved with these.

1. Reports: bench/scale/make_report writes two reports of --tests tests (a baseline and a new
   run, 2% of figures moved) as the plugins write theirs (in pieces, atomically); then every
   CLI command runs on them: wall time and peak memory (targets: 10 s, 1 GiB each).
2. Hostile input: 1 GB of whitespace and a 100,000-deep nesting given to `memx show`: a clear
   error (exit 2) in at most 2 s and bounded memory.
3. In process: 100,000 trivial GoogleTest tests, plain, with memx::gtest_main, and with
   --memx-report, interleaved --runs times: wall time (target: report / plain <= 1.3; the
   ratio of the medians, and "paired": the median of each round's ratio to that round's
   plain run, which a machine whose speed drifts between rounds moves less) and
   the time from the last test's line to the process's exit (target: <= 200 ms), the output
   going to a 1 MiB pipe drained every millisecond (as a CI runner takes it); the same
   with the output to /dev/null (wall time alone); the same two tables for 100,000 trivial
   Catch2 2.x test cases (Catch2's own main, memx::catch2_main; no last-test column), where
   this build has them; then the time to the exit with a report at 25,000 to 200,000
   GoogleTest tests (target: linear, its time per test at 200,000 at most 1.5 times that at
   25,000).
Files go to a temporary directory (removed at the end). Python 3 standard library only.
"""
import argparse
import fcntl
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


GTEST_SUMMARY = re.compile(rb"\[==========\] [^\n]* ran\.")


def timed(cmd, env=None, stdout=subprocess.DEVNULL):
    """(wall seconds, peak RSS bytes, exit code, stderr text) of one run of cmd."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, p.returncode, err.decode(errors="replace")


def tail_time(cmd, env, cpu=None, summary=GTEST_SUMMARY):
    """(total wall seconds, ms from the last test's summary line to exit); appends the
    process's CPU seconds (user + system) to `cpu` when given."""
    # The output goes to a pipe of 1 MiB, drained a millisecond at a time, as a CI runner
    # or ctest (which polls) takes a test's output in bulk. Until 2026-12-02 this read it
    # line by line as text: Python then woke for every one of GoogleTest's 200,000 lines
    # and kept the second CPU busy for the whole run, where memx's report thread works, so
    # the reader was measured as much as the test binary (memx + report: 1.5 to 1.6 of
    # plain that way on the PVM VM, 1.3 with stdout to a file or /dev/null). The summary
    # line is seen at most about a millisecond after it is written.
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    fd = p.stdout.fileno()
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass  # the default 64 KiB: GoogleTest may wait for the reader now and then
    last = None
    tail = b""
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        if last is None and summary is not None:  # None: no line to look for
            seen = tail + chunk
            if summary.search(seen):
                last = time.perf_counter()
            tail = seen[-256:]
        time.sleep(0.001)
    p.stdout.close()
    _, status, usage = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    p.returncode = os.waitstatus_to_exitcode(status)
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    if p.returncode != 0:
        sys.exit(f"scale: {' '.join(cmd)} exited {p.returncode}")
    return t1 - t0, ((t1 - last) if last else float("nan")) * 1000


def mib(n):
    return f"{n / 1048576:.0f} MiB"


def paired(walls, plain_walls):
    """The median of each round's ratio to the same round's plain run: the binaries of one
    round ran within a few seconds of each other, so a machine whose speed drifts between
    rounds moves both; the ratio of two medians is at the mercy of one binary's fast ones."""
    return statistics.median(w / p for w, p in zip(walls, plain_walls))


def trivial_tables(title, prefix, against, against_binary, env, report, runs, summary):
    """Part 3's two tables for one framework's trivial tests (prefix + "plain"/"memx"):
    interleaved runs through a pipe, then to /dev/null. True when a target is missed."""
    penv = dict(env, BENCH_TRIVIAL_TESTS="100000")
    variants = {"plain": [prefix + "plain"], "memx": [prefix + "memx"],
                "memx + report": [prefix + "memx", f"--memx-report={report}"]}
    if against:
        other = os.path.join(against, "bench", "trivial_tests", against_binary)
        variants["memx, --against"] = [other]
        variants["memx + report, --against"] = [other, f"--memx-report={report}"]
    walls = {k: [] for k in variants}
    tails = {k: [] for k in variants}
    cpus = {k: [] for k in variants}
    for _ in range(runs):
        for k, cmd in variants.items():
            w, t = tail_time(cmd, penv, cpus[k], summary)
            walls[k].append(w)
            tails[k].append(t)
    plain = statistics.median(walls["plain"])
    plain_cpu = statistics.median(cpus["plain"])
    print(f"\n| {title} ({runs} interleaved runs, medians) | wall s | / plain "
          "| / plain, paired | last test to exit ms | CPU s | / plain |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k in variants:
        w, c = statistics.median(walls[k]), statistics.median(cpus[k])
        tail = f"{statistics.median(tails[k]):.0f}" if summary else "-"
        print(f"| {k} | {w:.3f} | {w / plain:.2f} | {paired(walls[k], walls['plain']):.2f} "
              f"| {tail} | {c:.3f} | {c / plain_cpu:.2f} |")
    ratio = statistics.median(walls["memx + report"]) / plain
    ratio_paired = paired(walls["memx + report"], walls["plain"])
    failed = ratio > 1.3 or (summary is not None and statistics.median(tails["memx + report"]) > 200)
    print(f"\ntargets: report/plain <= 1.3 ({ratio:.2f}; paired {ratio_paired:.2f})"
          + (", last test to exit <= 200 ms" if summary else "")
          + f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: the CPU times "
          "say what a busy machine does to the wall times)")
    # The same binaries with their output where nothing reads it (a file would do as
    # well): the ratios without any reader on the second CPU, wall time alone.
    quiet = {k: [] for k in variants}
    for _ in range(runs):
        for k, cmd in variants.items():
            wall, _, rc, _ = timed(cmd, penv)
            if rc != 0:
                sys.exit(f"scale: {' '.join(cmd)} exited {rc}")
            quiet[k].append(wall)
    quiet_plain = statistics.median(quiet["plain"])
    print(f"\n| the same, stdout to /dev/null ({runs} interleaved runs, medians) | wall s | / plain "
          "| / plain, paired |")
    print("|---|---:|---:|---:|")
    for k in variants:
        w = statistics.median(quiet[k])
        print(f"| {k} | {w:.3f} | {w / quiet_plain:.2f} | {paired(quiet[k], quiet['plain']):.2f} |")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build-bench"))
    ap.add_argument("--tests", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--skip-reports", action="store_true", help="skip parts 1 and 2 (the CLI on large reports)")
    ap.add_argument("--skip-process", action="store_true", help="skip part 3 (the in-process benchmark)")
    ap.add_argument("--against", help="another build directory whose memx rows part 3 adds (an A/B of two commits)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if not args.no_build:
        configure = ["cmake", "-S", REPO, "-B", build, "-DMEMX_BUILD_BENCH=ON"]
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            configure += ["-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DMEMX_BUILD_TESTS=OFF", "-DMEMX_BUILD_EXAMPLES=OFF"]
        # Configured every time: a build directory made before bench/scale existed learns of it.
        subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "-j", "2", "--target", "memx_tool", "memx_bench_make_report",
                        "memx_bench_trivial_plain", "memx_bench_trivial_memx"], check=True, stdout=subprocess.DEVNULL)
        # Catch2 2.x's twins exist only where memx's Catch2 plugin is built against Catch2 2:
        # elsewhere the targets are unknown, and the rows are left out (never a stale binary's).
        catch2_build = subprocess.run(["cmake", "--build", build, "-j", "2", "--target",
                                       "memx_bench_trivial_catch2_plain", "memx_bench_trivial_catch2_memx"],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        catch2_built = catch2_build.returncode == 0
        if not catch2_built and b"unknown target" not in catch2_build.stdout.lower() and \
                b"no rule to make target" not in catch2_build.stdout.lower():
            sys.stdout.write(catch2_build.stdout.decode(errors="replace")[-3000:])
            sys.exit("scale: the Catch2 trivial benchmark did not build")
    else:
        catch2_built = True  # --no-build: what the build directory has
    memx = os.path.join(build, "tools", "memx", "memx")
    make = os.path.join(build, "bench", "scale", "memx_bench_make_report")
    trivial = os.path.join(build, "bench", "trivial_tests", "memx_bench_trivial_")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMX_")}
    work = tempfile.mkdtemp(prefix="memx-scale-")
    failed = False
    try:
        if not args.skip_reports:
            base, new = os.path.join(work, "base.json"), os.path.join(work, "new.json")
            for path, seed in ((base, "1"), (new, "2")):
                out = subprocess.run([make, str(args.tests), path, "--seed", seed], check=True,
                                     capture_output=True, text=True).stdout.strip()
            print(f"{out} ({os.path.getsize(new) / 1e6:.0f} MB)\n")
            print(f"| command on a report of {args.tests:,} tests | wall s (<= 10) | peak memory (<= 1 GiB) | exit |")
            print("|---|---:|---:|---:|")
            commands = [
                ("show", [memx, "show", new]),
                ("csv", [memx, "csv", new]),
                ("merge", [memx, "merge", "-o", os.path.join(work, "merged.json"), new]),
                ("diff", [memx, "diff", base, new]),
                ("gate", [memx, "gate", "--baseline", base, new]),
                ("html", [memx, "html", "-o", os.path.join(work, "page.html"), new]),
            ]
            for name, cmd in commands:
                wall, rss, rc, err = timed(cmd, env)
                ok = wall <= 10 and rss <= 1 << 30 and rc in (0, 1)
                failed |= not ok
                extra = ""
                if name == "html" and os.path.exists(os.path.join(work, "page.html")):
                    size = os.path.getsize(os.path.join(work, "page.html"))
                    extra = f" (page {size / 1e6:.0f} MB, target <= 20)"
                    failed |= size > 20e6
                print(f"| `memx {name}` | {wall:.1f}{'' if wall <= 10 else ' FAIL'} | {mib(rss)}"
                      f"{'' if rss <= 1 << 30 else ' FAIL'} | {rc}{extra} |")
                if rc not in (0, 1):
                    print(f"  {err.strip()[:300]}")
            for p in (base, new):
                os.unlink(p)
            # Hostile input.
            print("\n| hostile input to `memx show` | wall s (<= 2) | peak memory | exit | message |")
            print("|---|---:|---:|---:|---|")
            spaces = os.path.join(work, "spaces.json")
            with open(spaces, "wb") as f:
                chunk = b" " * (1 << 20)
                for _ in range(1024):
                    f.write(chunk)
            deep = os.path.join(work, "deep.json")
            with open(deep, "wb") as f:
                f.write(b"[" * 100000 + b"]" * 100000)
            for name, path in (("1 GiB of spaces", spaces), ("100,000-deep nesting", deep)):
                wall, rss, rc, err = timed([memx, "show", path], env)
                failed |= wall > 2 or rc != 2
                print(f"| {name} | {wall:.2f} | {mib(rss)} | {rc} | {err.strip().splitlines()[-1][:120] if err.strip() else ''} |")
                os.unlink(path)
        if not args.skip_process:
            report = os.path.join(work, "r.json")
            against = os.path.abspath(args.against) if args.against else None
            failed |= trivial_tables("100,000 trivial tests", trivial, against, "memx_bench_trivial_memx",
                                     env, report, args.runs, GTEST_SUMMARY)
            # The same with Catch2 2.x test cases (built where memx's Catch2 plugin is; the
            # last-test column is GoogleTest's summary line, which Catch2 has no twin of).
            catch2 = os.path.join(build, "bench", "trivial_tests", "memx_bench_trivial_catch2_")
            if catch2_built and os.path.exists(catch2 + "memx"):
                other = against if against and os.path.exists(
                    os.path.join(against, "bench", "trivial_tests", "memx_bench_trivial_catch2_memx")) else None
                failed |= trivial_tables("100,000 trivial Catch2 test cases", catch2, other,
                                         "memx_bench_trivial_catch2_memx", env, report, args.runs, None)
            else:
                print("\n(no Catch2 2.x trivial benchmark in this build: the Catch2 rows are left out)")
            # Linear: the time from the last test to the exit (the final report's analysis,
            # writing and renaming, and the process's end) at an eighth to twice the tests.
            sizes = (25000, 50000, 100000, 200000)
            tail_at = {n: [] for n in sizes}
            for _ in range(args.runs):
                for n in sizes:
                    _, t = tail_time([trivial + "memx", f"--memx-report={report}"], dict(env, BENCH_TRIVIAL_TESTS=str(n)))
                    tail_at[n].append(t)
            print(f"\n| tests, with --memx-report | last test to exit ms (median of {args.runs}) | per 1,000 tests ms |")
            print("|---:|---:|---:|")
            per = {}
            for n in sizes:
                t = statistics.median(tail_at[n])
                per[n] = t / n * 1000
                print(f"| {n:,} | {t:.0f} | {per[n]:.2f} |")
            growth = per[sizes[-1]] / per[sizes[0]]
            failed |= not growth <= 1.5
            print(f"\ntarget: linear (per-test time at {sizes[-1]:,} / at {sizes[0]:,} <= 1.5: {growth:.2f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
