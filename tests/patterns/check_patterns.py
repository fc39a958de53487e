#!/usr/bin/env python3
"""Runs a patterns binary with repetitions and a report directory, then checks each
test's leak verdict against the expectations given on the command line.

  check_patterns.py --binary B --out DIR --args "--gtest_repeat=5" \
      --expect 'Handoff.RegistersAPlugin=!leak' --expect 'RealLeak.NewSetNeverDeleted=leak'

An expectation is NAME=VERDICT (the verdict must be that) or NAME=!VERDICT (anything else);
--others gives one (VERDICT or !VERDICT) for every test not named, e.g. a third-party suite
whose tests must all come out other than leak (--others '!leak').
Exactly one report file must be in DIR afterwards: child processes must not write any.
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from report_frames import resolve_frames  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--args", default="")
    p.add_argument("--report-flag", default="--memx-report=")
    p.add_argument("--report-in-env", action="store_true",
                   help="give the report as MEMX_REPORT=DIR/report.json in the environment "
                        "(inherited by child processes) instead of a flag")
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--others", help="VERDICT or !VERDICT for every test not named by --expect")
    p.add_argument("--min-tests", type=int, default=0,
                   help="the report must have at least this many tests")
    p.add_argument("--max-tests", type=int, default=None,
                   help="the report must have at most this many tests")
    p.add_argument("--prepared", choices=("yes", "no"),
                   help="the report was (yes) or was not (no) written as its tests finished: "
                        "such a report keeps spaces after the tests array's bracket")
    p.add_argument("--min-confidence", action="append", default=[],
                   help="NAME=medium: a leak verdict at least this confident")
    p.add_argument("--leak-site", action="append", default=[],
                   help="NAME=FILE:LINE (stack mode): the verdict's reason names FILE:LINE (a path "
                        "suffix) and one of the test's sites kept from every repetition after the "
                        "warm-up has its first user frame there")
    a = p.parse_args()

    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    cmd = [a.binary] + shlex.split(a.args)
    env = dict(os.environ)
    if a.report_in_env:
        env["MEMX_REPORT"] = os.path.join(a.out, "report.json")
    else:
        cmd.append(a.report_flag + a.out + "/")
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=600, env=env)
    print(run.stdout[-6000:])
    reports = sorted(glob.glob(os.path.join(a.out, "*.json")))
    problems = []
    if len(reports) != 1:
        problems.append(f"expected exactly one report in {a.out} (children must not write), found {reports}")
    if not reports:
        print("\n".join(problems))
        return 1
    with open(reports[0]) as f:
        text = f.read()
    report = json.loads(text)
    if a.prepared is not None:
        at = text.find('"tests": [')
        padded = at >= 0 and text[at + len('"tests": [')] == " "
        if padded != (a.prepared == "yes"):
            problems.append("the report was " + ("not " if not padded else "") +
                            "written as its tests finished (prepared), expected " +
                            ("so" if a.prepared == "yes" else "otherwise"))
    resolve_frames(report)
    if not report.get("complete"):
        problems.append("the report is not complete")
    if a.expect and len(report["tests"]) < len(a.expect):
        problems.append(f"the report has {len(report['tests'])} tests, fewer than expected: "
                        "a child process may have replaced the parent's report")
    tests = {t["name"]: t for t in report["tests"]}

    def check(name, t, want, quiet_when_ok=False):
        """Checks one test's verdict against VERDICT or !VERDICT; prints and records it."""
        leak = t["leak"]
        got = leak["verdict"]
        ok = got != want[1:] if want.startswith("!") else got == want
        if ok and quiet_when_ok:
            return
        nets = [r["net_bytes"] for r in t["runs"]]
        line = f"{name}: {got} ({leak['confidence']}) nets={nets} reason: {leak['reason']}"
        print(("ok    " if ok else "WRONG ") + line + ("" if ok else f"  [expected {want}]"))
        if not ok:
            problems.append(line + f" [expected {want}]")

    for e in a.expect:
        name, want = e.split("=", 1)
        t = tests.get(name)
        if t is None:
            problems.append(f"{name}: not in the report (has {sorted(tests)})")
            continue
        check(name, t, want)
    if len(report["tests"]) < a.min_tests:
        problems.append(f"the report has {len(report['tests'])} tests, fewer than {a.min_tests}")
    if a.max_tests is not None and len(report["tests"]) > a.max_tests:
        problems.append(f"the report has {len(report['tests'])} tests, more than {a.max_tests}")
    if a.others:
        named = {e.split("=", 1)[0] for e in a.expect}
        others = {name: t for name, t in tests.items() if name not in named}
        for name, t in others.items():
            check(name, t, a.others, quiet_when_ok=True)
        print(f"{len(others)} other tests checked for {a.others}")
    order = {"low": 0, "medium": 1, "high": 2}
    for e in a.min_confidence:
        name, want = e.split("=", 1)
        t = tests.get(name)
        if t is None or order[t["leak"]["confidence"]] < order[want]:
            problems.append(f"{name}: confidence below {want}")
    for e in a.leak_site:
        name, where = e.split("=", 1)
        file, line = where.rsplit(":", 1)
        t = tests.get(name)
        if t is None:
            problems.append(f"{name}: not in the report")
            continue
        if not report.get("stacks"):
            problems.append("the report has no stacks header (stack mode was off)")
            break
        growing = [x for x in t.get("sites", [])
                   if len(x["runs"]) >= 3 and all(r["blocks"] > 0 for r in x["runs"][1:])]
        users = [x["frames"][x["user_frame"]] for x in growing]
        # The line may be the first user frame or one of its callers (a helper allocates).
        if not any(f["file"].endswith(file) and f["line"] == int(line)
                   for x in growing for f in x["frames"][x["user_frame"]:]):
            problems.append(f"{name}: no site kept every repetition at {where}; "
                            f"growing sites at {[(u['file'], u['line'], u['function']) for u in users]}")
        if not re.search(re.escape(file) + ":" + line + " in ", t["leak"]["reason"]):
            problems.append(f"{name}: the verdict does not name {where}: {t['leak']['reason']}")
        else:
            print(f"ok    {name}: {t['leak']['reason']}")
    if problems:
        print("\n".join(["", "FAILED:"] + problems))
        return 1
    print("all verdicts as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
