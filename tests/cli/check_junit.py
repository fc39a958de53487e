#!/usr/bin/env python3
"""memx gate --junit writes well-formed JUnit XML that CI systems can read.

check_junit.py --memx BIN

For several fixture pairs of tests/cli/fixtures/ (regressions, an allow-list, missing tests,
an incomplete report, test names with control characters, quotes, '<' and non-ASCII), runs
`memx gate --junit FILE`, parses FILE with xml.etree (an XML parser: a stray control
character or '&' fails it), and checks what GitLab and Jenkins read: one <testcase> per test
the gate compared, each with a name, the counts on <testsuite> and <testsuites> equal to the
<failure>/<skipped> elements, a <failure> exactly for the tests the gate printed as
REGRESSION or MISSING, and the test names as the gate prints them.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")

CASES = [
    ["--baseline", "base.json", "new.json", "--allow", "allow.txt"],
    ["--baseline", "control_names.json", "control_names_new.json"],
    ["--baseline", "odd_names.json", "odd_names.json"],
    ["--baseline", "base.json", "crashed.json", "--allow-missing"],
    ["--baseline", "base.json", "crashed.json", "--allow-incomplete"],
    ["--baseline", "binaries", "binaries_new"],
]


def check(memx, args, tmp, problems):
    out = os.path.join(tmp, "junit.xml")
    r = subprocess.run([memx, "gate"] + args + ["--junit", out], cwd=FIXTURES,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    where = "memx gate " + " ".join(args)
    if r.returncode not in (0, 1):
        problems.append(f"{where}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
        return
    try:
        root = ET.parse(out).getroot()
    except ET.ParseError as e:
        problems.append(f"{where}: not well-formed XML: {e}")
        return
    if root.tag != "testsuites":
        problems.append(f"{where}: root element <{root.tag}>, expected <testsuites>")
        return
    suites = root.findall("testsuite")
    if len(suites) != 1:
        problems.append(f"{where}: {len(suites)} <testsuite> elements, expected 1")
        return
    cases = suites[0].findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    for element in (root, suites[0]):
        for attr, want in (("tests", len(cases)), ("failures", len(failures)),
                           ("skipped", len(skipped)), ("errors", 0)):
            if element.get(attr) != str(want):
                problems.append(f"{where}: <{element.tag}> {attr}=\"{element.get(attr)}\", "
                                f"counted {want}")
    for c in cases:
        if not c.get("name") or not c.get("classname"):
            problems.append(f"{where}: a testcase without name or classname")
        f = c.find("failure")
        if f is not None and (not f.get("message") or not f.get("type")):
            problems.append(f"{where}: {c.get('name')}: <failure> without message or type")
    # The gate's own lines name the failing tests: REGRESSION / MISSING <name>: ...
    text = r.stdout.decode("utf-8", "replace")
    printed = set(re.findall(r"^memx gate: (?:REGRESSION|MISSING) (.*?): (?:[a-z]|in the baseline)",
                             text, re.M))
    failed = {c.get("name") for c in failures if c.find("failure").get("type") != "incomplete"}
    if printed != failed:
        problems.append(f"{where}: failures {sorted(failed)}, the gate printed {sorted(printed)}")
    incomplete = "INCOMPLETE" in text
    has_incomplete = any(c.find("failure").get("type") == "incomplete" for c in failures)
    if incomplete != has_incomplete:
        problems.append(f"{where}: incomplete printed {incomplete}, in the XML {has_incomplete}")
    passed = "memx gate: passed" in text
    if passed != (not failures):
        problems.append(f"{where}: gate passed={passed} but {len(failures)} failures in the XML")
    return [c.get("name") for c in cases]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    a = p.parse_args()
    memx = os.path.abspath(a.memx)
    problems = []
    with tempfile.TemporaryDirectory(prefix="memx-junit-") as tmp:
        names = {}
        for args in CASES:
            names[args[1] + " " + args[2]] = check(memx, args, tmp, problems)
    odd = names.get("odd_names.json odd_names.json") or []
    for want in ('Odd.Comma,"Quote" | pipe', "Odd.<script>alert(1)</script>", "Odd.ünïcødé"):
        if want not in odd:
            problems.append(f"odd_names: testcase name {want!r} not read back: {odd}")
    control = names.get("control_names.json control_names_new.json") or []
    if "Evil.Red\\x1b[31m|pipe" not in control or any(ord(ch) < 0x20 for n in control for ch in n):
        problems.append(f"control_names: names not as printed: {control}")
    for problem in problems:
        print("check_junit.py: " + problem)
    if problems:
        return 1
    print(f"check_junit.py: {len(CASES)} JUnit files well-formed and consistent with the gate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
