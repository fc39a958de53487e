#!/usr/bin/env python3
"""Checks a stack-mode report: each test's verdict and where its first site is.

check_sites.py REPORT [--site TEST=FILE:LINE]... [--verdict TEST=VERDICT]... [--reason TEST=REGEX]...
               [--no-sites TEST]...

--site: the test's first site (the sites with blocks from the most repetitions come first)
has its first user frame (user_frame) at FILE (a path suffix) and LINE, and the frames
before it are the runtime's, the standard library's or a framework's.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from report_frames import resolve_frames  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("report")
    p.add_argument("--site", action="append", default=[])
    p.add_argument("--verdict", action="append", default=[])
    p.add_argument("--reason", action="append", default=[])
    p.add_argument("--no-sites", action="append", default=[])
    p.add_argument("--peak-site", action="append", default=[],
                   help="TEST=FILE:LINE: the first of the test's peak_sites is there")
    p.add_argument("--sample-bytes", type=int, default=0,
                   help="the stacks header says sampling with this mean (0: every allocation)")
    p.add_argument("--depth", type=int, default=0, help="the stacks header's depth")
    a = p.parse_args()
    with open(a.report, encoding="utf-8") as f:
        r = json.load(f)
    resolve_frames(r)
    problems = []
    if r.get("version") != 3:
        problems.append(f"version {r.get('version')}, expected 3")
    st = r.get("stacks")
    if not st or st.get("depth", 0) < 1 or st.get("unwinder") not in ("libunwind", "frame-pointer", "glibc-backtrace", "dwarf-cfi"):
        problems.append(f"no usable stacks header: {st}")
    elif not st.get("final") or st.get("dropped") != 0:
        problems.append(f"stacks header not final or allocations dropped: {st}")
    if st and st.get("sample_bytes", 0) != a.sample_bytes:
        problems.append(f"stacks header's sample_bytes {st.get('sample_bytes', 0)}, expected {a.sample_bytes}")
    if st and a.depth and st.get("depth") != a.depth:
        problems.append(f"stacks header's depth {st.get('depth')}, expected {a.depth}")
    tests = {t["name"]: t for t in r["tests"]}

    def test(name):
        if name not in tests:
            problems.append(f"no test {name} in the report")
            return None
        return tests[name]

    def first_site(spec, key):
        """The test of TEST=FILE:LINE and its first site of `key` if that site's user frame
        is at FILE:LINE (a problem is recorded otherwise); (None, None) when not."""
        name, _, where = spec.partition("=")
        file, _, line = where.rpartition(":")
        t = test(name)
        if t is None:
            return None, None
        if not t.get(key):
            problems.append(f"{name}: no {key}")
            return None, None
        s = t[key][0]
        u = s["frames"][s["user_frame"]]
        if not u["file"].endswith(file) or u["line"] != int(line):
            problems.append(f"{name}: first of {key} has its user frame at {u['file']}:{u['line']} in {u['function']}, expected {where}")
        return t, s

    for spec in a.site:
        t, s = first_site(spec, "sites")
        if s is None:
            continue
        if s["blocks"] <= 0 or s["bytes"] <= 0 or len(s["runs"]) != len(t["runs"]):
            problems.append(f"{t['name']}: first site's figures are off: {s['bytes']} B, {s['blocks']} blocks, {len(s['runs'])} runs")
        if sum(x["blocks"] for x in s["runs"]) != s["blocks"]:
            problems.append(f"{t['name']}: first site's runs do not add up to its blocks")
    for spec in a.peak_site:
        t, s = first_site(spec, "peak_sites")
        if s is None:
            continue
        if s["runs"]:
            problems.append(f"{t['name']}: a peak site has runs: {s['runs']}")
        peak = max(r["peak_bytes"] for r in t["runs"])
        held = sum(x["bytes"] for x in t["peak_sites"])
        # Sampled: estimates, within 10% (a block far above the mean stands for itself).
        slack = 4096 + (peak // 10 if a.sample_bytes else 0)
        if not (peak * 15 // 16 <= held + slack and held <= peak + slack):
            problems.append(f"{t['name']}: peak sites hold {held} B, the worst peak is {peak} B")
    for spec in a.verdict:
        name, _, verdict = spec.partition("=")
        t = test(name)
        if t is not None and t["leak"]["verdict"] != verdict:
            problems.append(f"{name}: verdict {t['leak']['verdict']} ({t['leak']['reason']}), expected {verdict}")
    for spec in a.reason:
        name, _, rx = spec.partition("=")
        t = test(name)
        if t is not None and not re.search(rx, t["leak"]["reason"]):
            problems.append(f"{name}: reason {t['leak']['reason']!r} does not match {rx!r}")
    for name in a.no_sites:
        t = test(name)
        if t is not None and t.get("sites"):
            problems.append(f"{name}: has sites {t['sites'][0]['frames'][t['sites'][0]['user_frame']]}")
    for pr in problems:
        print("check_sites.py:", pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
