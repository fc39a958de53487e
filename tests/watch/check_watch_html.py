#!/usr/bin/env python3
"""`memx html` on a leak watch's report draws the watch: its analysis and a chart of the live
heap and RSS over time, one point per sample.

check_watch_html.py --memx BIN --workdir DIR REPORT

The page is written; when /usr/bin/chromium exists it is rendered headless with --dump-dom
and the DOM must show the watch section with its note (samples, duration, verdict), one line
per trend and per recommendation of the report, and the chart's point count equal to the
report's samples. Without Chromium: exit 77 (CTest SKIP_RETURN_CODE).
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
    print("check_watch_html.py: FAILED: " + msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memx", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("report")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    with open(args.report) as f:
        watch = json.load(f)["watch"]
    page = os.path.join(args.workdir, "watch.html")
    r = subprocess.run([args.memx, "html", args.report, "-o", page], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        fail(f"memx html exited {r.returncode}: {r.stdout.decode(errors='replace')}")
    if not os.path.exists(CHROMIUM):
        print("check_watch_html.py: no " + CHROMIUM + ": the page was written, not drawn (skipped)")
        sys.exit(77)
    profile = tempfile.mkdtemp(prefix="memx-chromium-")
    try:
        r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-background-networking", "--user-data-dir=" + profile,
                            "--virtual-time-budget=10000", "--dump-dom", "file://" + os.path.abspath(page)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = r.stdout.decode("utf-8", "replace")
    m = re.search(r'data-memx-watch-points="(\d+)"', dom)
    if not m:
        fail("the page did not record the watch chart's points")
    if int(m.group(1)) != len(watch["samples"]):
        fail(f"the chart has {m.group(1)} points, the report {len(watch['samples'])} samples")
    if '<div id="watch" hidden' in dom:
        fail("the watch section stayed hidden")
    a = watch["analysis"]
    note = re.search(r'id="watch-note">([^<]*)', dom)
    if not note or not html.unescape(note.group(1)).startswith(f"{a['samples']} samples over"):
        fail(f"the watch's note is not there or wrong: {note.group(1) if note else None!r}")
    trends = re.findall(r'class="watch-trend">([^<]*)', dom)
    if len(trends) != 4:
        fail(f"{len(trends)} trend lines, expected 4")
    advice = [html.unescape(x) for x in re.findall(r'class="watch-advice">([^<]*)', dom)]
    if advice != a["recommendations"]:
        fail(f"recommendations {advice!r}, the report has {a['recommendations']!r}")
    print(f"check_watch_html.py: the watch's {len(watch['samples'])} samples drawn, "
          f"{len(advice)} recommendation(s) shown")


if __name__ == "__main__":
    main()
