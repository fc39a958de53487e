#!/usr/bin/env python3
"""Runs a command and judges it like a CTest should-fail test, but on exit code AND output.

expect_run.py [--exit zero|nonzero|signal|N] [--match REGEX]... [--reject REGEX]... [--env K=V]...
              [--cwd DIR] [--empty-dir DIR] [--no-file GLOB] -- command args...

Every --match must be found (re.S | re.M) in stdout+stderr, no --reject may be. --empty-dir
clears (creates) a directory before the run; --no-file fails if a glob matches after it.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exit", default="zero")
    p.add_argument("--match", action="append", default=[])
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--unset-env", action="append", default=[])
    p.add_argument("--cwd")
    p.add_argument("--empty-dir", action="append", default=[])
    p.add_argument("--no-file", action="append", default=[])
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    env = dict(os.environ)
    for name in ["MEMX_REPORT", "MEMX_BUDGET", "MEMX_FAIL_ON_LEAK", "MEMX_QUIET", "MEMX_COLOR",
                 "GTEST_COLOR"] + a.unset_env:
        env.pop(name, None)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    for d in a.empty_dir:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    r = subprocess.run(cmd, env=env, cwd=a.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode("utf-8", "replace")
    problems = []
    if a.exit == "zero" and r.returncode != 0:
        problems.append(f"exit code {r.returncode}, expected 0")
    elif a.exit == "nonzero" and r.returncode == 0:
        problems.append("exit code 0, expected non-zero")
    elif a.exit == "signal" and r.returncode >= 0:
        problems.append(f"exit code {r.returncode}, expected death by a signal")
    elif a.exit not in ("zero", "nonzero", "signal") and r.returncode != int(a.exit):
        problems.append(f"exit code {r.returncode}, expected {a.exit}")
    if r.returncode < 0 and a.exit != "signal":
        problems.append(f"killed by signal {-r.returncode}")
    for rx in a.match:
        if not re.search(rx, out, re.S | re.M):
            problems.append(f"output does not match: {rx}")
    for rx in a.reject:
        m = re.search(rx, out, re.S | re.M)
        if m:
            problems.append(f"output matches what it must not: {rx} ({m.group(0)[:200]!r})")
    for g in a.no_file:
        found = glob.glob(g)
        if found:
            problems.append(f"files exist that must not: {found}")
    sys.stdout.write(out)
    if problems:
        print("\nexpect_run.py: " + "\nexpect_run.py: ".join(problems))
        return 1
    print("\nexpect_run.py: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
