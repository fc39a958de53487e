#!/usr/bin/env python3
"""check_junit.py FILE --failed NAME... --passed NAME...: Catch2's JUnit output marks the
test cases that memx failed as failed (with memx's message) and the others as passed."""
import argparse
import sys
import xml.etree.ElementTree as ET


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--failed", nargs="*", default=[])
    p.add_argument("--passed", nargs="*", default=[])
    a = p.parse_args()
    root = ET.parse(a.file).getroot()
    cases = {}
    for case in root.iter("testcase"):
        name = case.get("name")
        failure = case.find("failure")
        text = "" if failure is None else (failure.get("message", "") + (failure.text or ""))
        prev = cases.get(name)
        cases[name] = (failure is not None or (prev is not None and prev[0]), (prev[1] if prev else "") + text)
    problems = []
    for name in a.failed:
        if name not in cases:
            problems.append(f"no test case {name}")
        elif not cases[name][0]:
            problems.append(f"{name} is not marked failed")
        elif "memx:" not in cases[name][1]:
            problems.append(f"{name} fails without memx's message: {cases[name][1]!r}")
    for name in a.passed:
        if name not in cases:
            problems.append(f"no test case {name}")
        elif cases[name][0]:
            problems.append(f"{name} is marked failed")
    if problems:
        print("check_junit.py: " + "\ncheck_junit.py: ".join(problems))
        return 1
    print(f"check_junit.py: {a.file} as expected ({len(cases)} test cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
