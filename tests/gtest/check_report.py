#!/usr/bin/env python3
"""Checks of memx reports and GoogleTest output files for the gtest plugin's CTest tests.

check_report.py golden REPORT GOLDEN [--update]
    REPORT, normalised (pid, paths, times, RSS, durations, absolute live heap), equals GOLDEN.
check_report.py one-report DIR --tests A,B,C [--complete yes|no]
    DIR holds exactly one report, memx-<pid>.json with that pid, valid, with exactly these
    tests (in order), complete or not.
check_report.py merge SINGLE_REPORT DIR
    The reports in DIR (sharded, or one process per test) hold each test of SINGLE_REPORT
    exactly once, with the same heap figures in every run (the merge the CLI will do).
check_report.py xml FILE --failed NAME... --passed NAME...
    GoogleTest's XML output: memx_* properties on every test case, failures where expected.
check_report.py gtest-json FILE --failed NAME... --passed NAME...
    The same for GoogleTest's JSON output.
"""
import argparse
import glob
import json
import re
import os
import sys
import xml.etree.ElementTree as ET

HEAP_KEYS = ("net_bytes", "net_blocks", "peak_bytes", "allocs")
MEMX_PROPERTIES = ("memx_net_bytes", "memx_peak_bytes", "memx_allocs", "memx_rss_peak_bytes")


def fail(msg):
    print("check_report.py: " + msg)
    sys.exit(1)


def load(path):
    with open(path) as f:
        r = json.load(f)
    if r.get("format") != "memx-report" or r.get("version") != 3:
        fail(f"{path}: not a memx-report version 3")
    return r


def normalise(r):
    r = json.loads(json.dumps(r))
    r["pid"] = 0
    r["binary"] = os.path.basename(r["binary"])
    r["started_at"] = "<time>"
    # This process's run: its start to the microsecond and its pid (checked, then left out).
    run_id = r.pop("run_id", None)
    if run_id is not None and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/\d+", run_id):
        fail(f"run_id {run_id!r} is not <time to the microsecond>/<pid>")
    r["finished_at"] = "<time>" if r["finished_at"] else ""
    live = r["iteration_end_live_bytes"]
    r["iteration_end_live_bytes"] = [x - live[0] for x in live] if live else []
    # Memory over time: timings and RSS, checked for shape, then left out.
    check_points(r.pop("timeline", []), 256, "the run's timeline")
    for t in r["tests"]:
        t["file"] = os.path.basename(t["file"])
        for run in t["runs"]:
            run["rss_peak_bytes"] = 0
            run["duration_ms"] = 0
        tl = t.pop("timeline", None)
        if tl is not None:
            if not 1 <= tl["run"] <= len(t["runs"]) or tl["start_ms"] < 0:
                fail(f"{t['name']}: timeline of run {tl['run']} starting at {tl['start_ms']} ms")
            peaks = [x["peak_bytes"] for x in t["runs"]]
            if tl["run"] != peaks.index(max(peaks)) + 1:
                fail(f"{t['name']}: the timeline is of run {tl['run']}, not of the first with the highest peak")
            check_points(tl["points"], 64, t["name"] + "'s timeline")
        elif t["runs"]:
            fail(f"{t['name']} ran and has no timeline")
    return r


def check_points(points, most, what):
    if len(points) > most:
        fail(f"{what}: {len(points)} points, at most {most}")
    for a, b in zip(points, points[1:]):
        if b[0] < a[0]:
            fail(f"{what}: time goes back from {a[0]} to {b[0]} ms")


def cmd_golden(a):
    got = normalise(load(a.report))
    text = json.dumps(got, indent=2, sort_keys=False) + "\n"
    if a.update:
        with open(a.golden, "w") as f:
            f.write(text)
        print(f"check_report.py: wrote {a.golden}")
        return
    with open(a.golden) as f:
        want = f.read()
    if text != want:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                   a.golden, a.report + " (normalised)"))
        fail("report differs from the golden file (rerun with --update to accept)")
    print("check_report.py: report matches " + a.golden)


def reports_in(d):
    files = sorted(glob.glob(os.path.join(d, "*.json")))
    if not files:
        fail(f"no report in {d}")
    return files


def cmd_one_report(a):
    files = reports_in(a.dir)
    if len(files) != 1:
        fail(f"expected one report in {a.dir}, found {files}")
    r = load(files[0])
    if os.path.basename(files[0]) != f"memx-{r['pid']}.json":
        fail(f"{files[0]} was written by pid {r['pid']}: a child process wrote it")
    names = [t["name"] for t in r["tests"]]
    want = a.tests.split(",")
    if names != want:
        fail(f"tests {names}, expected {want}")
    if a.complete is not None and r["complete"] != (a.complete == "yes"):
        fail(f"complete is {r['complete']}, expected {a.complete}")
    print(f"check_report.py: {files[0]} as expected")


def cmd_merge(a):
    single = load(a.single)
    merged = {}
    for path in reports_in(a.dir):
        r = load(path)
        if not r["complete"]:
            fail(f"{path} is incomplete")
        for t in r["tests"]:
            if t["name"] in merged:
                fail(f"{t['name']} appears in two reports")
            merged[t["name"]] = t
    problems = []
    for t in single["tests"]:
        m = merged.pop(t["name"], None)
        if m is None:
            problems.append(f"{t['name']}: missing from the reports in {a.dir}")
            continue
        for i, (x, y) in enumerate(zip(t["runs"], m["runs"])):
            for k in HEAP_KEYS:
                if x[k] != y[k]:
                    problems.append(f"{t['name']} run {i}: {k} {y[k]} in {a.dir}, {x[k]} in one process")
        if len(t["runs"]) != len(m["runs"]):
            problems.append(f"{t['name']}: {len(m['runs'])} runs, expected {len(t['runs'])}")
        if t["status"] != m["status"]:
            problems.append(f"{t['name']}: status {m['status']}, expected {t['status']}")
    problems += [f"{n}: not in the single-process report" for n in merged]
    if problems:
        fail("merged figures differ:\n  " + "\n  ".join(problems))
    print(f"check_report.py: {len(single['tests'])} tests, same figures as one process")


def check_cases(cases, a, what):
    for name in a.failed + a.passed:
        if name not in cases:
            fail(f"{what}: no test case {name}")
    for name, (failed, props) in cases.items():
        missing = [p for p in MEMX_PROPERTIES if p not in props]
        if missing:
            fail(f"{what}: {name} lacks properties {missing}")
        for p in MEMX_PROPERTIES:
            int(props[p])
        if name in a.failed and not failed:
            fail(f"{what}: {name} is not marked failed")
        if name in a.passed and failed:
            fail(f"{what}: {name} is marked failed")
    print(f"check_report.py: {what} as expected ({len(cases)} test cases)")


def cmd_xml(a):
    root = ET.parse(a.file).getroot()
    cases = {}
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            failed = case.find("failure") is not None
            cases[f"{suite.get('name')}.{case.get('name')}"] = (failed, props)
    check_cases(cases, a, a.file)


def cmd_gtest_json(a):
    with open(a.file) as f:
        root = json.load(f)
    cases = {}
    for suite in root["testsuites"]:
        for case in suite["testsuite"]:
            props = {k: v for k, v in case.items() if k.startswith("memx_")}
            cases[f"{suite['name']}.{case['name']}"] = (bool(case.get("failures")), props)
    check_cases(cases, a, a.file)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden")
    g.add_argument("report")
    g.add_argument("golden")
    g.add_argument("--update", action="store_true")
    o = sub.add_parser("one-report")
    o.add_argument("dir")
    o.add_argument("--tests", required=True)
    o.add_argument("--complete", choices=["yes", "no"])
    m = sub.add_parser("merge")
    m.add_argument("single")
    m.add_argument("dir")
    for name in ("xml", "gtest-json"):
        x = sub.add_parser(name)
        x.add_argument("file")
        x.add_argument("--failed", nargs="*", default=[])
        x.add_argument("--passed", nargs="*", default=[])
    a = p.parse_args()
    {"golden": cmd_golden, "one-report": cmd_one_report, "merge": cmd_merge, "xml": cmd_xml,
     "gtest-json": cmd_gtest_json}[a.cmd](a)


if __name__ == "__main__":
    main()
