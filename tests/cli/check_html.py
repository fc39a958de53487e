#!/usr/bin/env python3
"""`memx html` writes one self-contained page whose charts a real browser draws.

check_html.py --memx BIN --workdir DIR REPORT...

For each report: the page is written, refers to nothing outside itself, and keeps test
names as text (no markup injection). Then, when /usr/bin/chromium exists (Debian's
`chromium` package), each page is rendered headless with --dump-dom and the DOM must show
what the page's script drew: one peak and one net bar per test that ran, one RSS bar per
test that ran, one leak-growth line per test judged leak or suspect, one table row per
test, and the table sorted by peak when opened with #sort=peak. Allocation sites (stack
mode): one tree per test with sites, one stack per site, opened by #sites=open, every frame
as text, the frames folded away before the user's grey and the user's bold; a report
without them says how to get them. Without Chromium the browser part is skipped with exit
status 77 (CTest SKIP_RETURN_CODE) and says so.
"""
import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from report_frames import resolve_frames  # noqa: E402
import tempfile

CHROMIUM = "/usr/bin/chromium"


def fail(msg):
    print("check_html.py: FAILED: " + msg)
    sys.exit(1)


def expected(report):
    ran = [t for t in report["tests"] if t["runs"]]
    growing = [t for t in ran if t["leak"]["verdict"] in ("leak", "suspect")]
    by_peak = sorted(report["tests"], key=lambda t: (-max([r["peak_bytes"] for r in t["runs"]] or [0]),
                                                      report["tests"].index(t)))
    return {"tests": len(report["tests"]), "rows": len(report["tests"]),
            "heap-bars": 2 * min(len(ran), 60), "rss-bars": min(len(ran), 60),
            "leak-lines": min(len(growing), 12), "charts": 3 if growing else 2,
            "by_peak": [t["name"] for t in by_peak],
            "site-tests": len([t for t in report["tests"] if t.get("sites")]),
            "site-stacks": sum(len(t.get("sites", [])) for t in report["tests"]),
            "site-frames": sum(len(s["frames"]) for t in report["tests"] for s in t.get("sites", [])),
            "peak-tests": len([t for t in report["tests"] if t.get("peak_sites")]),
            "peak-sites": sum(len(t.get("peak_sites", [])) for t in report["tests"])}


def static_checks(page_path, report):
    text = open(page_path, encoding="utf-8").read()
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    if urls - {"http://www.w3.org/2000/svg"}:
        fail(f"{page_path} refers to {sorted(urls)}: the page must not need the network")
    for pattern in (r"<link\b", r"@import", r"url\(", r"\bsrc\s*="):
        if re.search(pattern, text, re.I):
            fail(f"{page_path} contains {pattern}: the page must be self-contained")
    if len(re.findall(r"<script\b", text)) != 2:
        fail(f"{page_path}: expected exactly the page's 2 <script> elements")
    for t in report["tests"]:
        if "<" in t["name"] and t["name"] in text:
            fail(f"{page_path}: the name {t['name']!r} appears unescaped")
        for site in t.get("sites", []):
            for f in site["frames"]:
                if "<" in f["function"] and f["function"] in text:
                    fail(f"{page_path}: the function {f['function']!r} appears unescaped")


def render(page_path, fragment, workdir):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    try:
        r = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=10000",
             "--dump-dom", "file://" + os.path.abspath(page_path) + fragment],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if r.returncode != 0:
        fail(f"chromium exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    return r.stdout.decode("utf-8", "replace")


def browser_checks(page_path, report, workdir):
    want = expected(report)
    dom = render(page_path, "#sort=peak&sites=open", workdir)
    body = re.search(r"<body([^>]*)>", dom)
    if not body:
        fail(f"{page_path}: no <body> in the DOM Chromium dumped")
    attrs = dict(re.findall(r'data-memx-([\w-]+)="([^"]*)"', body.group(1)))
    if attrs.get("ready") != "1":
        fail(f"{page_path}: the page's script did not finish (body attributes {attrs})")
    for key in ("tests", "rows", "heap-bars", "rss-bars", "leak-lines", "charts", "site-tests",
                "site-stacks", "site-frames", "peak-tests", "peak-sites"):
        if attrs.get(key) != str(want[key]):
            fail(f"{page_path}: data-memx-{key}={attrs.get(key)}, expected {want[key]}")
    # The drawn elements themselves, not only the page's own counts.
    if len(re.findall(r"<svg\b", dom)) != want["charts"]:
        fail(f"{page_path}: {len(re.findall(r'<svg', dom))} <svg> charts, expected {want['charts']}")
    peak_bars = re.findall(r'<rect [^>]*class="bar peak"', dom)
    if len(peak_bars) != want["heap-bars"] // 2:
        fail(f"{page_path}: {len(peak_bars)} peak bars drawn, expected {want['heap-bars'] // 2}")
    if len(re.findall(r'<polyline [^>]*class="leak-line"', dom)) != want["leak-lines"]:
        fail(f"{page_path}: wrong number of leak-growth lines")
    rows = [html.unescape(n) for n in re.findall(r'<tr data-name="([^"]*)"', dom)]
    if rows != want["by_peak"]:
        fail(f"{page_path}: table after #sort=peak is {rows}, expected {want['by_peak']}")
    if attrs.get("sorted") != "peak:desc":
        fail(f"{page_path}: data-memx-sorted={attrs.get('sorted')}")
    if len(re.findall(r"<script\b", dom)) != 2:
        fail(f"{page_path}: the DOM has extra <script> elements (markup injected from a name?)")
    site_checks(page_path, report, dom, want)
    if len(re.findall(r'<details [^>]*class="peak-site"', dom)) != want["peak-sites"]:
        fail(f"{page_path}: wrong number of peak sites drawn, expected {want['peak-sites']}")
    # Each test's peak sites, with every frame of their stacks.
    for seg in re.split(r'(?=<details class="peak-test" )', dom)[1:]:
        name = html.unescape(re.match(r'<details class="peak-test" data-name="([^"]*)"', seg).group(1))
        t = next(t for t in report["tests"] if t["name"] == name)
        drawn = len(re.findall(r"<li class=", seg.split("<h2", 1)[0]))
        if drawn != sum(len(x["frames"]) for x in t["peak_sites"]):
            fail(f"{page_path}: {name}'s peak sites: {drawn} frames drawn")
    print(f"check_html.py: {page_path}: Chromium drew {attrs['charts']} charts, "
          f"{attrs['heap-bars']} heap bars, {attrs['rss-bars']} RSS bars, "
          f"{attrs['leak-lines']} leak lines, {attrs['rows']} rows sorted by peak")


def site_checks(page_path, report, dom, want):
    """The sites' tree as drawn: every stack open (#sites=open), every frame as text."""
    if not report.get("stacks"):
        if "has no allocation sites" not in dom or "--memx-stacks" not in dom:
            fail(f"{page_path}: no stack mode, and the page does not say how to get sites")
        return
    trees = re.findall(r'<details class="site-test" data-name="([^"]*)"', dom)
    if sorted(html.unescape(n) for n in trees) != sorted(t["name"] for t in report["tests"] if t.get("sites")):
        fail(f"{page_path}: site trees for {trees}")
    if len(re.findall(r'<details class="site" open="">', dom)) != want["site-stacks"]:
        fail(f"{page_path}: not every stack is open with #sites=open")
    # Each test's tree (the page orders them leaks first), its frames in the report's order.
    segments = re.split(r'(?=<details class="site-test" )', dom)[1:]
    drawn = {}
    for seg in segments:
        seg = seg.split("<h2", 1)[0]  # the last tree ends where the next section starts
        name = html.unescape(re.match(r'<details class="site-test" data-name="([^"]*)"', seg).group(1))
        drawn[name] = re.findall(r'<li class="([^"]*)">(.*?)</li>', seg, re.S)
    frames = 0
    for t in report["tests"]:
        want_frames = [(s, i, f) for s in t.get("sites", []) for i, f in enumerate(s["frames"])]
        items = drawn.get(t["name"], [])
        if len(items) != len(want_frames):
            fail(f"{page_path}: {t['name']}: {len(items)} frames drawn, expected {len(want_frames)}")
        frames += len(items)
        for (cls, body), (site, i, f) in zip(items, want_frames):
            line = html.unescape(re.sub(r"<[^>]*>", "", body))
            want_cls = "folded" if i < site["user_frame"] else "user" if i == site["user_frame"] else ""
            if cls != want_cls or not line.startswith(f"#{i} {f['function'] or '??'} at "):
                fail(f"{page_path}: frame drawn as {cls!r} {line!r}, expected {want_cls!r} #{i} {f['function']}")
            if f["file"] and f["line"] > 0 and f"{f['file']}:{f['line']}" not in line:
                fail(f"{page_path}: frame {line!r} does not name {f['file']}:{f['line']}")
    print(f"check_html.py: {page_path}: {want['site-tests']} site trees, {want['site-stacks']} "
          f"stacks, {frames} frames, the user's frame of each marked")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("reports", nargs="+")
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    pages = []
    for i, path in enumerate(a.reports):
        page = os.path.join(a.workdir, f"page{i}.html")
        r = subprocess.run([a.memx, "html", path, "-o", page], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            fail(f"memx html {path} exited {r.returncode}: {r.stdout.decode(errors='replace')}")
        with open(path) as f:
            report = resolve_frames(json.load(f))
        static_checks(page, report)
        pages.append((page, report))
    print(f"check_html.py: {len(pages)} pages written, self-contained")
    if not os.access(CHROMIUM, os.X_OK):
        print(f"check_html.py: SKIPPED the browser check: {CHROMIUM} is not installed "
              "(Debian: apt-get install chromium)")
        return 77
    for page, report in pages:
        browser_checks(page, report, a.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
