#!/usr/bin/env python3
"""Checks what the controls put in a report written by tests/controls' scenarios.

check_controls_report.py warn_only REPORT    --memx-warn-only: warn_only, violations not enforced
check_controls_report.py suppressed REPORT   a leak suppressed by leak:*CreateSingleton*, counted
check_controls_report.py expected REPORT     MEMX_EXPECT_LEAK(2) met: verdict expected, budget leak=2
"""
import json
import sys


def fail(message):
    sys.exit(f"check_controls_report.py: {message}")


def main():
    what, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        r = json.load(f)
    if r.get("version") != 3:
        fail(f"{path}: version {r.get('version')}, expected 3")
    tests = {t["name"].split(" #")[0]: t for t in r["tests"]}
    if what == "warn_only":
        if r.get("warn_only") is not True:
            fail(f"{path}: no \"warn_only\": true")
        over = tests["Controls.OverNet"]
        if not over["violations"] or any(v["enforced"] for v in over["violations"]):
            fail(f"{path}: Controls.OverNet's violations are not all \"enforced\": false: {over['violations']}")
        if over["status"] != "passed" or tests["Controls.Leaky"]["status"] != "passed":
            fail(f"{path}: a warn-only test failed")
        if tests["Controls.Leaky"]["leak"]["verdict"] != "leak":
            fail(f"{path}: Controls.Leaky's leak is not recorded: {tests['Controls.Leaky']['leak']}")
    elif what == "suppressed":
        leak = tests["Controls.Singleton"]["leak"]
        if leak["verdict"] != "leak" or leak.get("suppressed_by") != "leak:*CreateSingleton*":
            fail(f"{path}: Controls.Singleton's leak is not suppressed by leak:*CreateSingleton*: {leak}")
        uses = {u["text"]: u for u in r.get("suppressions", [])}
        if uses.get("leak:*CreateSingleton*", {}).get("used") != 1 or uses.get("leak:libfontconfig*", {}).get("used") != 0:
            fail(f"{path}: suppression counts wrong: {r.get('suppressions')}")
        if not r.get("suppressions_file", "").endswith("lsan.supp"):
            fail(f"{path}: suppressions_file is {r.get('suppressions_file')!r}")
    elif what == "expected":
        t = tests["Controls.ExpectedLeak"]
        if t["leak"]["verdict"] != "expected" or t["budget"] != {"leak": 2} or t["violations"]:
            fail(f"{path}: Controls.ExpectedLeak: {t['leak']}, budget {t['budget']}, {t['violations']}")
        if t["status"] != "passed" or t["leak"]["blocks_per_run"] != 2:
            fail(f"{path}: Controls.ExpectedLeak {t['status']}, {t['leak']['blocks_per_run']} blocks per run")
    else:
        fail(f"unknown check {what}")
    print(f"check_controls_report.py: {path}: {what} as expected")


if __name__ == "__main__":
    main()
