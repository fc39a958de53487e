#!/usr/bin/env python3
"""`memx html` writes one self-contained page whose charts a real browser draws.

check_html.py --memx BIN --workdir DIR REPORT...

For each report: the page is written, refers to nothing outside itself, and keeps test
names as text (no markup injection). Then, when /usr/bin/chromium exists (Debian's
`chromium` package), each page is rendered headless with --dump-dom and the DOM must show
what the page's script drew: one peak and one net bar per test that ran, one RSS bar per
test that ran, one leak-growth line per test judged leak or suspect, one table row per
test, and the table sorted by peak when opened with #sort=peak. Without Chromium the
browser part is skipped with exit status 77 (CTest SKIP_RETURN_CODE) and says so.
"""
import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
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
            "by_peak": [t["name"] for t in by_peak]}


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
    dom = render(page_path, "#sort=peak", workdir)
    body = re.search(r"<body([^>]*)>", dom)
    if not body:
        fail(f"{page_path}: no <body> in the DOM Chromium dumped")
    attrs = dict(re.findall(r'data-memx-([\w-]+)="([^"]*)"', body.group(1)))
    if attrs.get("ready") != "1":
        fail(f"{page_path}: the page's script did not finish (body attributes {attrs})")
    for key in ("tests", "rows", "heap-bars", "rss-bars", "leak-lines", "charts"):
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
    print(f"check_html.py: {page_path}: Chromium drew {attrs['charts']} charts, "
          f"{attrs['heap-bars']} heap bars, {attrs['rss-bars']} RSS bars, "
          f"{attrs['leak-lines']} leak lines, {attrs['rows']} rows sorted by peak")


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
            report = json.load(f)
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
