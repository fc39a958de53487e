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

With --screens REPORT BASE (a report with memory timelines and its baseline): the page of
`memx html REPORT --baseline BASE` is drawn at two window sizes. At each, the DOM (every test's
row opened by #details=open) must show the whole run's timeline with each test's start marked,
one timeline chart per test with readings, a limit line per budget on a drawn bar and a red
excess per violation, the verdict `memx gate` gives (its exit status and its REGRESSION lines),
charts as wide as the window and nothing cut off (the page's own measurement of every legend
entry and chart text against its box). The screenshot at each size must match the committed
reference PNG in --references (at most 1% of pixels differ by more than a little;
--update-screenshots rewrites them). A report of 1000 tests with full timelines makes a page
that keeps 300 of them.
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
import struct
import tempfile
import zlib

CHROMIUM = "/usr/bin/chromium"
SIZES = [(1400, 900), (800, 1000)]


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
            "leak-lines": min(len(growing), 12),
            "charts": 2 + (1 if growing else 0) + (1 if len(report.get("timeline", [])) >= 2 else 0),
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


def render(page_path, fragment, workdir, size=None, screenshot=None):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    extra = []
    if size:
        extra += [f"--window-size={size[0]},{size[1]}", "--force-device-scale-factor=1", "--hide-scrollbars"]
    extra += ["--screenshot=" + screenshot] if screenshot else ["--dump-dom"]
    try:
        r = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=10000"]
            + extra + ["file://" + os.path.abspath(page_path) + fragment],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if r.returncode != 0:
        fail(f"chromium exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    return r.stdout.decode("utf-8", "replace")


def browser_checks(page_path, report, workdir):
    want = expected(report)
    dom = render(page_path, "#sort=peak&sites=open", workdir)
    attrs = body_attrs(dom, page_path)
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
    type_checks(page_path, report, dom, attrs)
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


def type_checks(page_path, report, dom, attrs):
    """The census by type: one row per type the page carries, and every live byte of the
    tests' sites in some type (a census partitions them)."""
    text = open(page_path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="memx-report">(.*?)</script>', text, re.S)
    page = json.loads(m.group(1)).get("page", {})
    types = page.get("types", [])
    if not report.get("stacks"):
        if types or "no allocated types" not in dom:
            fail(f"{page_path}: no stack mode, yet types are listed or not explained")
        return
    if attrs.get("type-rows") != str(len(types)):
        fail(f"{page_path}: data-memx-type-rows={attrs.get('type-rows')}, expected {len(types)}")
    table = dom.split('id="types-table"', 1)[1].split("</table>", 1)[0] if types else ""
    if len(re.findall(r"<tr>", table.split("<tbody>", 1)[-1])) != len(types):
        fail(f"{page_path}: the types table does not have {len(types)} rows")
    if page.get("types_total", 0) <= len(types):
        sites = sum(s["bytes"] for t in report["tests"] for s in t.get("sites", []))
        if sum(t["bytes"] for t in types) != sites:
            fail(f"{page_path}: the types hold {sum(t['bytes'] for t in types)} live bytes, the sites {sites}")


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


def read_png(path):
    """(width, height, rows): rows of RGB bytes, from an 8-bit RGB or RGBA PNG, not interlaced."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color not in (2, 6) or interlace:
                raise ValueError(f"{path}: PNG of depth {depth}, colour type {color}, interlace {interlace}")
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif f != 0:
            raise ValueError(f"{path}: unknown PNG filter {f}")
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return w, h, rows


def write_pgm(path, w, h, rows):
    with open(path, "wb") as f:
        f.write(b"P5 %d %d 255\n" % (w, h))
        for r in rows:
            f.write(bytes(r))


def compare_png(shot, ref, diff_path):
    """The share of pixels of `shot` with a channel more than 48 away from `ref`'s; the
    differing pixels are written white on black to `diff_path` (a PGM) when any differ."""
    w, h, got = read_png(shot)
    rw, rh, want = read_png(ref)
    if (w, h) != (rw, rh):
        fail(f"{shot} is {w}x{h}, the reference {ref} {rw}x{rh}")
    changed, mask = 0, []
    for a, b in zip(got, want):
        row = bytearray(w)
        if a != b:
            for x in range(w):
                i = 3 * x
                if max(abs(a[i] - b[i]), abs(a[i + 1] - b[i + 1]), abs(a[i + 2] - b[i + 2])) > 48:
                    row[x] = 255
                    changed += 1
        mask.append(row)
    if changed:
        write_pgm(diff_path, w, h, mask)
    return changed / (w * h)


def body_attrs(dom, page_path):
    body = re.search(r"<body([^>]*)>", dom)
    if not body:
        fail(f"{page_path}: no <body> in the DOM Chromium dumped")
    attrs = dict(re.findall(r'data-memx-([\w-]+)="([^"]*)"', body.group(1)))
    if attrs.get("ready") != "1":
        fail(f"{page_path}: the page's script did not finish (body attributes {attrs})")
    return attrs


def run_gate(memx, report_path, base_path):
    """`memx gate`'s verdict and REGRESSION lines, the page must show the same."""
    r = subprocess.run([memx, "gate", "--baseline", base_path, report_path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    if r.returncode not in (0, 1):
        fail(f"memx gate exited {r.returncode}: {out}")
    lines = re.findall(r"^memx gate: REGRESSION (.*)$", out, re.M)
    return ("passed" if r.returncode == 0 else "failed"), lines


def screen_checks(a, report_path, base_path):
    """The page of a report with timelines against its baseline, at two window sizes."""
    page = os.path.join(a.workdir, "screens.html")
    # The page names the baseline as given: the same short name wherever the tree is.
    shutil.copyfile(report_path, os.path.join(a.workdir, "timeline.json"))
    shutil.copyfile(base_path, os.path.join(a.workdir, "base.json"))
    r = subprocess.run([os.path.abspath(a.memx), "html", "timeline.json", "--baseline", "base.json",
                        "-o", "screens.html", "--title", "memx: screenshots"], cwd=a.workdir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        fail(f"memx html --baseline exited {r.returncode}: {r.stdout.decode(errors='replace')}")
    with open(report_path) as f:
        report = resolve_frames(json.load(f))
    static_checks(page, report)
    verdict, regressions = run_gate(a.memx, report_path, base_path)
    timed = [t for t in report["tests"] if t.get("timeline", {}).get("run", 0) > 0]
    with_points = [t for t in timed if len(t["timeline"]["points"]) >= 2]
    ran = [t for t in report["tests"] if t["runs"]][:60]
    limits = sum(1 for t in ran for k in ("peak", "net", "rss") if (t.get("budget") or {}).get(k) is not None)
    overs = sum(1 for t in ran for v in t["violations"] if v["key"] in ("peak", "net", "rss"))
    if not with_points or not limits or not overs or not regressions:
        fail(f"{report_path}: the screenshot report needs timelines, budgets, a violation and a regression")
    references = {}
    for w, h in SIZES:
        dom = render(page, "#details=open", a.workdir, size=(w, h))
        attrs = body_attrs(dom, page)
        if not attrs.get("window", "").startswith(f"{w}x"):
            fail(f"{page} at {w}x{h}: the page saw a window of {attrs.get('window')}")
        want = {"cut": "0", "timeline-marks": str(len(timed)),
                "timeline-points": str(len(report["timeline"])), "expanded": str(len(report["tests"])),
                "row-charts": str(len(with_points)), "limits": str(limits), "overs": str(overs)}
        for key, value in want.items():
            if attrs.get(key) != value:
                cut = re.search(r'<pre id="memx-cut"[^>]*>(.*?)</pre>', dom, re.S)
                fail(f"{page} at {w}x{h}: data-memx-{key}={attrs.get(key)}, expected {value}" +
                     (f"; cut off: {html.unescape(cut.group(1))}" if key == "cut" and cut else ""))
        width = int(attrs.get("chart-width") or 0)
        if not (w * 0.85 - 60 <= width <= w):
            fail(f"{page} at {w}x{h}: the charts are {width} px wide: they must use the window's width")
        gate = re.search(r'<div id="gate" class="([^"]*)">(.*?)</div>\s*<div class="summary"', dom, re.S)
        if not gate or gate.group(1) != verdict:
            fail(f"{page}: the page's verdict is {gate and gate.group(1)}, memx gate's {verdict}")
        shown = [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", gate.group(2), re.S)]
        if sorted(x for x in shown if x in regressions) != sorted(regressions):
            fail(f"{page}: the page lists {shown}, memx gate's regressions are {regressions}")
        # Every run's value on hover (the bar's <title>), in the order of the runs.
        for t in ran:
            m = re.search(r"<title>" + re.escape(html.escape(t["name"], quote=False)) +
                          r": peak [^;<]*; per run: ([^<]*)</title>", dom)
            if not m or len(m.group(1).split(", ")) != min(len(t["runs"]), 20):
                fail(f"{page}: {t['name']}'s peak bar does not give the value of each of its runs")
        # Each change the gate names is in the test's "vs baseline" cell, as the gate words it.
        # (The gate prints one line per test: "Name: peak A -> B (+X, +Y%; tolerance T); net ...".)
        for line in regressions:
            name = line.split(": ", 1)[0]
            for m in re.finditer(r"(peak|net|allocs) \S+ (?:\S+ )?-> \S+ (?:\S+ )?\(([^;)]*)", line):
                if not re.search(r'<tr data-name="' + re.escape(name) + r'"(?:(?!<tr[ >]).)*?<td class="bad">[^<]*' +
                                 re.escape(f"{m.group(1)} {m.group(2)}"), dom, re.S):
                    fail(f"{page}: {name}'s row does not show the change \"{m.group(1)} {m.group(2)}\"")
        # Each test's file:line is in its open row.
        for t in report["tests"]:
            if t["file"] and f"{t['file']}:{t['line']}" not in dom:
                fail(f"{page}: {t['name']}'s {t['file']}:{t['line']} is not shown")
        shot = os.path.join(a.workdir, f"screen_{w}x{h}.png")
        render(page, "", a.workdir, size=(w, h), screenshot=shot)
        references[(w, h)] = shot
        print(f"check_html.py: {w}x{h}: {attrs['timeline-marks']} test starts on the run's timeline, "
              f"{attrs['row-charts']} test timelines, {limits} limits, {overs} over, gate {verdict}, nothing cut off")
    for (w, h), shot in references.items():
        ref = os.path.join(a.references, f"html_{w}x{h}.png")
        if a.update_screenshots:
            shutil.copyfile(shot, ref)
            print(f"check_html.py: wrote {ref}")
            continue
        if not os.path.exists(ref):
            fail(f"no reference screenshot {ref} (run with --update-screenshots)")
        diff_path = os.path.join(a.workdir, f"diff_{w}x{h}.pgm")
        share = compare_png(shot, ref, diff_path)
        if share > 0.01:
            fail(f"{shot} differs from {ref} in {share:.2%} of its pixels (at most 1%); "
                 f"the differing pixels are white in {diff_path}")
        print(f"check_html.py: {w}x{h}: the screenshot matches {os.path.basename(ref)} "
              f"({share:.3%} of pixels differ)")
    return 0


def big_page_check(a):
    """1000 tests with full timelines: the page keeps the 300 of highest peak, and opens."""
    with open(a.screens[0]) as f:
        r = json.load(f)
    proto = r["tests"][0]
    tests = []
    for i in range(1000):
        t = json.loads(json.dumps(proto))
        t["name"] = f"Big.T{i:04d}"
        for run in t["runs"]:
            run["peak_bytes"] = 1000 + i
        t["budget"], t["violations"] = None, []
        t["timeline"] = {"run": 1, "start_ms": float(i), "points": [[j * 0.5, j * 10, j * 20] for j in range(64)]}
        tests.append(t)
    r["tests"] = tests
    path = os.path.join(a.workdir, "big.json")
    with open(path, "w") as f:
        json.dump(r, f)
    page = os.path.join(a.workdir, "big.html")
    subprocess.run([a.memx, "html", path, "-o", page], check=True, stdout=subprocess.DEVNULL, timeout=120)
    text = open(page, encoding="utf-8").read()
    data = json.loads(re.search(r'<script type="application/json" id="memx-report">(.*?)</script>', text, re.S).group(1))
    kept = [t["name"] for t in data["report"]["tests"] if "timeline" in t]
    if len(kept) != 300 or kept != [f"Big.T{i:04d}" for i in range(700, 1000)]:
        fail(f"{page}: {len(kept)} tests keep their timelines, expected the 300 of highest peak")
    if data["page"]["timelines_dropped"] != 700:
        fail(f"{page}: timelines_dropped={data['page']['timelines_dropped']}, expected 700")
    if os.access(CHROMIUM, os.X_OK):
        dom = render(page, "#sort=peak&details=open", a.workdir)
        attrs = body_attrs(dom, page)
        # Opened from the highest peak: the first 200 rows (the most #details=open opens)
        # are among the 300 kept, each with its chart; at most 200 starts marked.
        if (attrs.get("rows"), attrs.get("expanded"), attrs.get("row-charts"), attrs.get("timeline-marks")) != \
                ("1000", "200", "200", "200"):
            fail(f"{page}: rows, open rows, their charts and marks: {attrs}")
    print(f"check_html.py: 1000 tests with timelines: the page keeps 300 ({len(text) >> 10} KiB)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--screens", nargs=2, metavar=("REPORT", "BASE"))
    p.add_argument("--references", help="the directory of the reference screenshots")
    p.add_argument("--update-screenshots", action="store_true")
    p.add_argument("reports", nargs="*")
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
    if a.screens:
        big_page_check(a)
        return screen_checks(a, *a.screens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
