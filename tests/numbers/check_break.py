#!/usr/bin/env python3
"""End to end: the allocation a leak message names is the leaking line.

check_break.py --line FILE:LINE -- COMMAND...
Runs COMMAND (a test binary with repetitions and --memx-fail-on-leak), takes the
MEMX_BREAK_ON_ALLOC=... the leak message gives, runs COMMAND again under gdb with it, and
checks that the debugger stops with FILE:LINE on the stack. Exits 77 (skipped) without gdb.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys


def main():
    args = sys.argv[1:]
    if len(args) < 4 or args[0] != "--line" or args[2] != "--":
        print(__doc__)
        return 2
    where, command = args[1], args[3:]
    r = subprocess.run(command, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    m = re.search(r"to stop there in a debugger: MEMX_BREAK_ON_ALLOC=(.+)$", out, re.M)
    if r.returncode == 0 or not m:
        print(out[-3000:])
        print("check_break.py: no failing leak message naming MEMX_BREAK_ON_ALLOC")
        return 1
    value = shlex.split(m.group(1))[0]
    print(f"MEMX_BREAK_ON_ALLOC={value}")
    # Without a debugger the process stops on SIGTRAP, after memx's line.
    env = dict(os.environ, MEMX_BREAK_ON_ALLOC=value)
    r = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != -5 or "(MEMX_BREAK_ON_ALLOC): raising SIGTRAP" not in r.stdout + r.stderr:
        print((r.stdout + r.stderr)[-3000:])
        print(f"check_break.py: exit {r.returncode}, expected SIGTRAP (-5) after memx's line")
        return 1
    if "ignoring unknown environment variable" in r.stdout + r.stderr:
        print((r.stdout + r.stderr)[-3000:])
        print("check_break.py: memx called its own MEMX_BREAK_ON_ALLOC an unknown variable")
        return 1
    gdb = shutil.which("gdb")
    if gdb is None:
        print("check_break.py: no gdb: the debugger part is skipped")
        return 77
    r = subprocess.run([gdb, "-q", "-batch", "-ex", "run", "-ex", "bt", "--args"] + command,
                       capture_output=True, text=True, env=env, timeout=300)
    out = r.stdout + r.stderr
    if "SIGTRAP" not in out and re.search(r"ptrace: Operation not permitted|"
                                          r"Couldn't get registers|Could not trace", out):
        print(out[-2000:])
        print("check_break.py: gdb may not trace processes here: the debugger part is skipped")
        return 77
    if not re.search(r"SIGTRAP", out) or not re.search(re.escape(where) + r"\b", out):
        print(out[-4000:])
        print(f"check_break.py: gdb did not stop with {where} on the stack")
        return 1
    print(f"check_break.py: gdb stopped at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
