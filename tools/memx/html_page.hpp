// memx CLI: the template of the `html` page: inline CSS and JavaScript, no network access.
// "@@TITLE@@" becomes the escaped title and "@@REPORT@@" {"report": the report's JSON,
// "page": what html.cpp adds (the baseline's comparison, timelines left out)}, escaped so
// that it cannot end the <script> element that holds it.
#pragma once

namespace memx::cli {

inline constexpr const char* kHtmlPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>@@TITLE@@</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
.note, #gate, .meta, .row-facts { overflow-wrap: anywhere; } th { white-space: nowrap; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.6em 0 .4em; }
.meta, .note { color: #666; } .note { font-size: .9em; max-width: 60em; }
.summary span { display: inline-block; margin-right: 1.2em; }
.bad { color: #b00020; } .warn { color: #a06000; } .good { color: #1b7a1b; } .dim { color: #888; }
table { border-collapse: collapse; margin-top: .5em; width: 100%; }
.table-box { overflow-x: auto; }
.chart { width: 100%; } .chart svg { display: block; }
#gate { padding: .5em .8em; margin: .6em 0; border-left: 4px solid #888; background: #f4f4f4; }
#gate.passed { border-color: #1b7a1b; background: #eef7ee; } #gate.failed { border-color: #b00020; background: #fbeeee; }
#gate ul { margin: .3em 0 0; padding-left: 1.4em; }
.toggle { cursor: pointer; } .toggle::before { content: "\25B8  "; color: #888; }
.toggle[aria-expanded="true"]::before { content: "\25BE  "; }
tr.expanded > td { background: #fafafa; padding: .4em 1em .8em 2em; }
tr.expanded table { width: auto; } tr.expanded td.over { color: #b00020; font-weight: bold; }
tr.expanded tr.kept td { background: #eef3fb; }
.row-facts { margin: .2em 0 .4em; }
th, td { padding: .25em .6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { cursor: pointer; user-select: none; background: #f4f4f4; position: sticky; top: 0; }
th[data-dir="desc"]::after { content: " \25BC"; } th[data-dir="asc"]::after { content: " \25B2"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
details.site-test { margin: .3em 0; } details.site-test > summary { cursor: pointer; }
details.site-place, details.site { margin: .15em 0 .15em 1.6em; } details summary { cursor: pointer; }
.site-bar-box { display: inline-block; width: 126px; } .site-bar { display: inline-block; height: .7em; background: #e08a2c; }
.site-bytes { display: inline-block; min-width: 11em; font-variant-numeric: tabular-nums; }
.where { font-family: ui-monospace, monospace; font-size: .92em; }
ol.stack { list-style: none; margin: .2em 0 .4em 1.6em; padding: 0; font: 12px/1.45 ui-monospace, monospace; }
ol.stack li { white-space: pre-wrap; word-break: break-all; } ol.stack li.folded { color: #999; }
ol.stack li.user { font-weight: bold; } ol.stack .at { color: #555; } ol.stack li.folded .at { color: #aaa; }
.legend { display: flex; flex-wrap: wrap; gap: .15em 1.2em; margin: .2em 0; }
.legend span { white-space: nowrap; max-width: 100%; overflow-wrap: normal; }
.legend i { display: inline-block; width: .9em; height: .9em; margin: 0 .3em 0 0; vertical-align: -.1em; }
.legend i.limit { width: 2px; height: 1.1em; background: #222; margin: 0 .55em 0 .35em; vertical-align: -.2em; }
.legend i.tick { width: 1px; height: 1.1em; background: #bbb; margin: 0 .6em 0 .4em; vertical-align: -.2em; }
</style>
</head>
<body>
<h1>memx report</h1>
<div class="meta" id="meta"></div>
<div id="gate" hidden></div>
<div class="summary" id="summary"></div>
<div class="note" id="aggregate-note" hidden></div>
<div id="histograms" hidden>
<h2>All tests, by size</h2>
<div class="note">How many tests fall in each power-of-two range, over every test of the report (the page lists only some of them).</div>
<div id="chart-hist" class="chart"></div>
</div>
<noscript><p class="bad">This page draws its charts and table with JavaScript; enable it to see them.</p></noscript>

<div id="watch" hidden>
<h2>Leak watch</h2>
<div class="note" id="watch-note"></div>
<ul id="watch-findings"></ul>
<div class="legend"><span><i style="background:#3b6fb6"></i>live heap</span><span><i style="background:#8a5fb0"></i>RSS (each from its lowest to its highest reading)</span></div>
<div id="chart-watch" class="chart"></div>
</div>

<h2>Memory over time</h2>
<div class="note" id="timeline-note"></div>
<div class="legend" id="timeline-legend"><span><i style="background:#3b6fb6"></i>live heap</span><span><i style="background:#8a5fb0"></i>RSS (each from its lowest to its highest reading)</span><span><i class="tick"></i>a test starts (its run with the highest peak)</span></div>
<div id="chart-timeline" class="chart"></div>

<h2>Peak and net per test</h2>
<div class="legend"><span><i style="background:#3b6fb6"></i>peak (highest run)</span><span><i style="background:#e08a2c"></i>net per run (mean after the warm-up run)</span><span><i style="background:#7fb07f"></i>net per run, negative</span><span><i class="limit"></i>budget limit</span><span><i style="background:#c62828"></i>over the limit (worst run)</span></div>
<div id="chart-heap" class="chart"></div>

<h2>Leak growth per repetition</h2>
<div class="note">Live bytes a test left behind, summed over its repetitions, for the tests judged <b>leak</b> or <b>suspect</b>. Repetition 1 is the warm-up (static caches, first-use buffers), which the verdict leaves out.</div>
<div id="chart-leaks" class="chart"></div>
<div class="legend" id="leak-legend"></div>

<h2>RSS per test</h2>
<div class="note">Each test's highest RSS growth above its start (<code>rss_peak_bytes</code>, the highest run); the whole run's RSS is under Memory over time.</div>
<div class="legend"><span><i style="background:#8a5fb0"></i>RSS growth (highest run)</span><span><i class="limit"></i>budget limit</span><span><i style="background:#c62828"></i>over the limit</span></div>
<div id="chart-rss" class="chart"></div>

<h2>Tests</h2>
<div class="note">Click a column heading to sort, a test to open its runs, budget and memory over time (#details=open opens them all).</div>
<div class="table-box"><table id="tests"><thead><tr>
<th data-key="index" data-type="num">#</th><th data-key="name">test</th><th data-key="status">status</th>
<th data-key="runs" data-type="num">runs</th><th data-key="net" data-type="num">net/run</th>
<th data-key="peak" data-type="num">peak</th><th data-key="allocs" data-type="num">allocs</th>
<th data-key="rss" data-type="num">rss</th><th data-key="ms" data-type="num">time</th>
<th data-key="leakRank" data-type="num">leak</th><th data-key="budget">budget</th>
<th data-key="change" data-type="num" id="change-head" hidden>vs baseline</th>
</tr></thead><tbody></tbody></table></div>

<h2>Allocation sites</h2>
<div class="note" id="sites-note"></div>
<div id="sites"></div>

<h2>Left live by type</h2>
<div class="note" id="types-note"></div>
<div class="table-box" id="types"></div>

<h2>What made the peaks</h2>
<div class="note" id="peaks-note"></div>
<div id="peaks"></div>

<script type="application/json" id="memx-report">@@REPORT@@</script>
<script>
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("memx-report").textContent);
  var report = data.report, page = data.page || {}, baseline = page.baseline || null;
  // A large report is aggregated (memx html lists at most a few thousand of its tests).
  var agg = page.aggregate || null;
  // Report version 2 stores each frame and stack once: give every site its frames.
  (function () {
    var frames = report.frame_table || [], stacks = report.stack_table || [];
    (report.tests || []).forEach(function (t) {
      (t.sites || []).concat(t.peak_sites || []).forEach(function (s) {
        if (s.frames === undefined && typeof s.stack === "number" && stacks[s.stack]) {
          s.frames = stacks[s.stack].map(function (i) { return frames[i] || {}; });
        }
        if (s.frames === undefined) s.frames = [];
      });
    });
  })();
  var MAX_BARS = 60;

  function fmtBytes(v) {
    var neg = v < 0, m = Math.abs(v), units = ["B", "KiB", "MiB", "GiB"], u = 0;
    if (m < 1024) return (neg ? "-" : "") + Math.round(m) + " B";
    while (u < 3 && m >= 1024) { m /= 1024; u++; }
    var t = Math.round(m * 10) / 10;
    if (t >= 1024 && u < 3) { t = Math.round(t / 1024 * 10) / 10; u++; }
    return (neg ? "-" : "") + (t % 1 === 0 ? t.toFixed(0) : t.toFixed(1)) + " " + units[u];
  }
  function fmtCount(v) {
    var units = ["", "k", "M", "G"], u = 0, m = v;
    if (m < 1000) return String(m);
    while (u < 3 && m >= 1000) { m /= 1000; u++; }
    var t = Math.round(m * 10) / 10;
    return (t % 1 === 0 ? t.toFixed(0) : t.toFixed(1)) + units[u];
  }
  function el(tag, attrs, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4))
                                      : document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var leakRank = { clean: 0, expected: 0, unknown: 1, suspect: 2, leak: 3 };
  var confRank = { low: 0, medium: 1, high: 2 };

  var tests = report.tests.map(function (t, i) {
    var f = { index: i + 1, number: agg ? agg.indexes[i] + 1 : i + 1, name: t.binary ? t.binary + ": " + t.name : t.name, status: t.status, runs: t.runs.length, peak: 0, net: 0,
              worstNet: 0, allocs: 0, rss: 0, ms: 0, leak: t.leak, raw: t };
    t.runs.forEach(function (r, k) {
      if (k === 0 || r.peak_bytes > f.peak) f.peak = r.peak_bytes;
      if (k === 0 || r.allocs > f.allocs) f.allocs = r.allocs;
      if (k === 0 || r.rss_peak_bytes > f.rss) f.rss = r.rss_peak_bytes;
      f.ms += r.duration_ms;
    });
    f.net = t.leak.bytes_per_run;
    f.leakRank = leakRank[t.leak.verdict] * 3 + confRank[t.leak.confidence];
    f.where = t.file ? t.file + (t.line > 0 ? ":" + t.line : "") : "";
    f.change = 0;
    f.budget = t.violations.length ? "over: " + t.violations.map(function (v) { return v.key; }).join(", ")
             : (t.budget ? "ok" : "-");
    return f;
  });
  var ran = tests.filter(function (f) { return f.runs > 0; });

  document.getElementById("meta").textContent =
    report.binary + " \u2014 " + report.framework + ", " + report.repetitions + " repetition(s), " +
    report.backend + " backend, started " + report.started_at +
    (report.complete ? "" : " \u2014 INCOMPLETE: the process did not finish");
  var leaking = agg ? agg.counts.leak : tests.filter(function (f) { return f.leak.verdict === "leak"; }).length;
  var suspect = agg ? agg.counts.suspect : tests.filter(function (f) { return f.leak.verdict === "suspect"; }).length;
  var over = agg ? agg.counts.over_budget : tests.filter(function (f) { return f.raw.violations.length > 0; }).length;
  var summary = document.getElementById("summary");
  [[(agg ? agg.total : tests.length) + " tests", ""], [over + " over budget", over ? "bad" : "good"],
   [leaking + " leaking", leaking ? "bad" : "good"], [suspect + " suspect", suspect ? "warn" : "good"]]
    .forEach(function (p) { summary.appendChild(el("span", { "class": p[1] }, p[0])); });

  // Widths: every chart takes its container's width (the window's, less the margins), and
  // is drawn again when the window is resized.
  function widthOf(container) { return Math.max(300, Math.floor(container.clientWidth || 600)); }
  // Shortens an SVG text (attached to the page) until it is at most `max` pixels wide.
  function fitText(t, full, max) {
    t.textContent = full;
    if (t.getComputedTextLength() <= max) return;
    var n = full.length;
    while (n > 1 && t.getComputedTextLength() > max) {
      n = Math.max(1, Math.min(n - 1, Math.floor(n * max / t.getComputedTextLength())));
      t.textContent = full.slice(0, n) + "\u2026";
    }
  }
  function fmtMs(ms) {
    if (ms < 1) return (Math.round(ms * 1000) / 1000) + " ms";
    if (ms < 1000) return (Math.round(ms * 10) / 10) + " ms";
    return (Math.round(ms / 100) / 10) + " s";
  }
  function perRun(f, key, format) {
    var vals = f.raw.runs.map(function (r) { return format(r[key]); });
    if (vals.length > 20) vals = vals.slice(0, 20).concat(["\u2026 (" + (vals.length - 20) + " more)"]);
    return vals.length ? "per run: " + vals.join(", ") : "no run";
  }
  function violation(f, key) {
    return f.raw.violations.filter(function (v) { return v.key === key; })[0] || null;
  }

  // Horizontal bar chart: one row per item, one bar per series; a series' budget limit is a
  // black line across its bar, and a violation's excess (limit to the worst run) is red.
  function barChart(container, items, series, label) {
    var shown = items.slice(0, MAX_BARS);
    if (items.length > shown.length) {
      container.appendChild(el("div", { "class": "note" },
        "The " + shown.length + " largest of " + items.length + " tests; the table below has them all."));
    }
    if (!shown.length) {
      container.appendChild(el("div", { "class": "note" }, "No test ran."));
      return 0;
    }
    var max = 1, anyOver = false;
    shown.forEach(function (it) {
      series.forEach(function (s) {
        max = Math.max(max, Math.abs(s.value(it)));
        var lim = s.limit ? s.limit(it) : null, v = s.budgetKey ? violation(it, s.budgetKey) : null;
        if (lim !== null && lim !== undefined) max = Math.max(max, lim);
        if (v) { max = Math.max(max, v.measured); anyOver = true; }
      });
    });
    var width = widthOf(container);
    var labelW = Math.max(110, Math.min(320, Math.floor(width * 0.28)));
    var textW = anyOver ? Math.min(300, Math.floor(width * 0.3)) : 80;
    var barW = Math.max(60, width - labelW - textW - 8), rowH = 8 + 12 * series.length;
    var svg = el("svg:svg", { width: width, height: shown.length * rowH + 6, role: "img", "aria-label": label });
    container.appendChild(svg);  // attached first: the labels are fitted to their room
    var bars = 0;
    shown.forEach(function (it, row) {
      var y = row * rowH + 4;
      var t = el("svg:text", { x: labelW - 6, y: y + rowH / 2 + 2, "text-anchor": "end" });
      svg.appendChild(t);
      fitText(t, it.name, labelW - 10);
      t.appendChild(el("svg:title", {}, it.name + (it.where ? " (" + it.where + ")" : "")));
      series.forEach(function (s, k) {
        var v = s.value(it), w = Math.max(v === 0 ? 0 : 1, Math.round(Math.abs(v) / max * barW));
        var by = y + k * 12, end = labelW + w;
        var r = el("svg:rect", { x: labelW, y: by, width: w, height: 10,
                                 fill: v < 0 && s.negative ? s.negative : s.color, "class": "bar " + s.key });
        r.appendChild(el("svg:title", {}, it.name + ": " + s.key + " " + s.format(v) + "; " + s.runs(it)));
        svg.appendChild(r);
        var note = "";
        var lim = s.limit ? s.limit(it) : null;
        if (lim !== null && lim !== undefined) {
          var vio = violation(it, s.budgetKey);
          if (vio) {
            var x0 = labelW + Math.round(lim / max * barW), x1 = labelW + Math.max(1, Math.round(vio.measured / max * barW));
            var over = el("svg:rect", { x: x0, y: by, width: Math.max(1, x1 - x0), height: 10, fill: "#c62828", "class": "over " + s.key });
            over.appendChild(el("svg:title", {}, it.name + ": " + vio.message + (vio.enforced === false ? " (warn only)" : "")));
            svg.appendChild(over);
            end = Math.max(end, x1);
            note = " \u2014 limit " + s.format(lim) + ", over by " + s.format(vio.measured - lim) +
                   (lim > 0 ? " (+" + Math.round((vio.measured - lim) / lim * 100) + "%)" : "");
          }
          var lx = labelW + Math.round(lim / max * barW);
          var line = el("svg:line", { x1: lx, x2: lx, y1: by - 2, y2: by + 12, stroke: "#222", "stroke-width": 2, "class": "limit " + s.key });
          line.appendChild(el("svg:title", {}, it.name + ": " + s.key + " budget " + s.format(lim)));
          svg.appendChild(line);
          end = Math.max(end, lx + 1);
        }
        var vt = el("svg:text", { x: end + 4, y: by + 9, "class": note ? "bad" : "" });
        svg.appendChild(vt);
        fitText(vt, s.format(v) + note, Math.max(20, width - end - 8));
        if (note) vt.setAttribute("fill", "#b00020");
        bars++;
      });
    });
    svg.setAttribute("data-bars", bars);
    return bars;
  }

  // A line chart of timeline points ([ms, heap, rss]): one panel per series, each with its
  // own scale from its lowest to its highest value (RSS is megabytes where the heap may be
  // kilobytes), sharing the time axis; `marks` ({ms, label}) are thin vertical lines.
  function lineChart(container, points, series, marks, label, height, maxWidth) {
    var W = Math.min(widthOf(container), maxWidth || Infinity), PH = height || 90, GAP = 14, L = 76, R = 12, T = 8, B = 32;
    var H = T + series.length * PH + (series.length - 1) * GAP + B;
    var t1 = Math.max(points[points.length - 1][0], 0.001);
    var svg = el("svg:svg", { width: W, height: H, role: "img", "aria-label": label, "class": "timeline" });
    container.appendChild(svg);
    function px(ms) { return L + (W - L - R) * ms / t1; }
    (marks || []).forEach(function (m) {
      var x = px(Math.min(m.ms, t1));
      var line = el("svg:line", { x1: x, x2: x, y1: T, y2: H - B, stroke: "#bbb", "class": "boundary" });
      line.appendChild(el("svg:title", {}, m.label));
      svg.appendChild(line);
    });
    series.forEach(function (s, k) {
      var top = T + k * (PH + GAP), lo = Infinity, hi = -Infinity;
      points.forEach(function (p) { lo = Math.min(lo, p[s.index]); hi = Math.max(hi, p[s.index]); });
      if (s.fromZero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
      if (hi - lo < 1) hi = lo + 1;
      function py(v) { return top + PH * (1 - (v - lo) / (hi - lo)); }
      svg.appendChild(el("svg:line", { x1: L, y1: top + PH, x2: W - R, y2: top + PH, stroke: "#ccc" }));
      svg.appendChild(el("svg:line", { x1: L, y1: top, x2: L, y2: top + PH, stroke: "#999" }));
      // Two readings that print alike (24 MiB and 24.03 MiB): the top one as the difference.
      svg.appendChild(el("svg:text", { x: L - 4, y: top + 9, "text-anchor": "end" },
                         fmtBytes(hi) === fmtBytes(lo) ? "+" + fmtBytes(hi - lo) : fmtBytes(hi)));
      svg.appendChild(el("svg:text", { x: L - 4, y: top + PH, "text-anchor": "end" }, fmtBytes(lo)));
      svg.appendChild(el("svg:text", { x: L + 4, y: top + 11, fill: s.color }, s.name));
      var line = el("svg:polyline", { points: points.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[s.index]).toFixed(1); }).join(" "),
                                      fill: "none", stroke: s.color, "stroke-width": 2, "class": "tl-line " + s.key });
      line.appendChild(el("svg:title", {}, s.name + ": from " + fmtBytes(lo) + " to " + fmtBytes(hi) + " in " + points.length + " readings"));
      svg.appendChild(line);
    });
    svg.appendChild(el("svg:text", { x: L, y: H - B + 16, "text-anchor": "start" }, "0"));
    svg.appendChild(el("svg:text", { x: W - R, y: H - B + 16, "text-anchor": "end" }, fmtMs(t1)));
    svg.appendChild(el("svg:text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, label));
    return svg;
  }

  // The verdict of `memx gate` against the baseline (memx html --baseline), at the top.
  (function () {
    if (!baseline) return;
    var box = document.getElementById("gate");
    box.hidden = false;
    box.className = baseline.verdict;
    var head = el("div");
    head.appendChild(el("b", {}, baseline.verdict === "passed" ? "Gate passed" : baseline.verdict === "failed" ? "Gate FAILED" : "No gate verdict"));
    head.appendChild(document.createTextNode(": " + baseline.summary + " against the baseline " + baseline.path +
      " (memx gate's default tolerances: " + baseline.tolerances + ")"));
    box.appendChild(head);
    var lines = (baseline.regressions || []).map(function (r) { return r.message; })
      .concat((baseline.missing || []).map(function (m) { return m + ": in the baseline, not in this report"; }))
      .concat((baseline.incomplete || []).map(function (w) { return w + " is incomplete: its process did not finish"; }));
    if (lines.length) {
      var ul = el("ul");
      lines.slice(0, 50).forEach(function (l) { ul.appendChild(el("li", {}, l)); });
      if (lines.length > 50) ul.appendChild(el("li", {}, "\u2026 and " + (lines.length - 50) + " more (memx gate lists them all)"));
      box.appendChild(ul);
    }
    (baseline.tests || []).forEach(function (c) {
      var f = tests[c.index];
      if (!f) return;
      f.changeInfo = c;
      f.change = c.peak ? c.peak[1] - c.peak[0] : 0;
    });
    document.getElementById("change-head").hidden = false;
  })();

  var heapBars = 0, rssBars = 0, leakLines = 0, timelineMarks = 0;
  function budgetOf(key) { return function (f) { return f.raw.budget && f.raw.budget[key] !== undefined ? f.raw.budget[key] : null; }; }

  // The whole run over time: live heap and RSS as the sampler read them, each test's start
  // marked (at most MAX_MARKS: those with the highest peaks).
  var MAX_MARKS = 200;
  function drawTimeline() {
    var container = document.getElementById("chart-timeline"), note = document.getElementById("timeline-note");
    var pts = report.timeline || [];
    var timed = tests.filter(function (f) { return f.raw.timeline && f.raw.timeline.run > 0; });
    if (pts.length < 2) {
      note.textContent = "This report has no timeline of the whole run (a report of several processes merged, " +
        "or written by an older memx). Each test's runs are in the table.";
      return;
    }
    var marked = timed;
    if (timed.length > MAX_MARKS) marked = timed.slice().sort(function (a, b) { return b.peak - a.peak || a.index - b.index; }).slice(0, MAX_MARKS);
    var all = timed.length + (page.timelines_dropped || 0);
    note.textContent = "The process's live heap and RSS as memx's sampler read them (" + pts.length + " readings, at most 256: " +
      "past that every other one is kept), with " + (marked.length < all ?
        "the starts of the " + marked.length + " tests of highest peak (of " + all + ")" : "each test's start") +
      " marked. Open a test in the table for its own.";
    var marks = marked.map(function (f) {
      return { ms: f.raw.timeline.start_ms, label: f.name + " starts (run " + f.raw.timeline.run + ", peak " + fmtBytes(f.peak) + ")" };
    });
    lineChart(container, pts, [{ key: "heap", name: "live heap", index: 1, color: "#3b6fb6" },
                               { key: "rss", name: "RSS", index: 2, color: "#8a5fb0" }], marks, "time since the run began", 100);
    timelineMarks = marks.length;
  }

  // A leak watch (memx watch, memx::write_watch_report): its analysis, and the live heap and
  // RSS of its samples ([ms, heap bytes, heap blocks, RSS, descriptors, threads]) over time.
  var watchPoints = 0;
  function drawWatch() {
    var w = report.watch;
    if (!w) return;
    document.getElementById("watch").hidden = false;
    var a = w.analysis;
    function rate(t, unit) { return (t.per_second >= 0 ? "+" : "") + (unit ? t.per_second.toFixed(2) + " " + unit : fmtBytes(t.per_second)) + "/s"; }
    var growing = [];
    if (a.heap_bytes.confidence !== "low") growing.push("the live heap");
    if (a.fds.confidence !== "low") growing.push("descriptors");
    if (a.threads.confidence !== "low") growing.push("threads");
    document.getElementById("watch-note").textContent = a.samples + " samples over " + a.duration_s.toFixed(1) +
      " s, every " + w.interval_ms + " ms: " + (a.leak ? "growing: " + growing.join(", ") : "no growth found") +
      " (heap growth confidence " + a.confidence + ").";
    var ul = document.getElementById("watch-findings");
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    [["live heap", rate(a.heap_bytes) + ", " + rate(a.heap_blocks, "blocks"), a.heap_bytes],
     ["RSS", rate(a.rss_bytes), a.rss_bytes],
     ["descriptors", rate(a.fds, "descriptors"), a.fds],
     ["threads", rate(a.threads, "threads"), a.threads]].forEach(function (r) {
      ul.appendChild(el("li", { "class": "watch-trend" }, r[0] + ": " + r[1] + " (R\u00b2 " + r[2].r2.toFixed(2) + "): " + r[2].confidence));
    });
    a.recommendations.forEach(function (text) { ul.appendChild(el("li", { "class": "watch-advice" }, text)); });
    var pts = w.samples.map(function (s) { return [s[0], s[1], s[3]]; });
    var container = document.getElementById("chart-watch");
    if (pts.length < 2) return;
    lineChart(container, pts, [{ key: "heap", name: "live heap", index: 1, color: "#3b6fb6" },
                               { key: "rss", name: "RSS", index: 2, color: "#8a5fb0" }], [], "time since the watch began", 100);
    watchPoints = pts.length;
  }

  function drawBars() {
    var byPeak = ran.slice().sort(function (a, b) { return b.peak - a.peak; });
    heapBars = barChart(document.getElementById("chart-heap"), byPeak, [
      { key: "peak", color: "#3b6fb6", value: function (f) { return f.peak; }, format: fmtBytes,
        limit: budgetOf("peak"), budgetKey: "peak", runs: function (f) { return perRun(f, "peak_bytes", fmtBytes); } },
      { key: "net", color: "#e08a2c", negative: "#7fb07f", value: function (f) { return f.net; }, format: fmtBytes,
        limit: budgetOf("net"), budgetKey: "net", runs: function (f) { return perRun(f, "net_bytes", fmtBytes); } }
    ], "peak and net per test");
    var byRss = ran.slice().sort(function (a, b) { return b.rss - a.rss; });
    rssBars = barChart(document.getElementById("chart-rss"), byRss, [
      { key: "rss", color: "#8a5fb0", value: function (f) { return f.rss; }, format: fmtBytes,
        limit: budgetOf("rss"), budgetKey: "rss", runs: function (f) { return perRun(f, "rss_peak_bytes", fmtBytes); } }
    ], "RSS growth per test");
  }

  // Leak growth: cumulative net bytes after each repetition, one line per leaking test.
  function drawLeaks() {
    var container = document.getElementById("chart-leaks"), legend = document.getElementById("leak-legend");
    leakLines = 0;
    var growing = tests.filter(function (f) {
      return f.runs > 0 && (f.leak.verdict === "leak" || f.leak.verdict === "suspect");
    }).sort(function (a, b) { return b.leakRank - a.leakRank || b.net - a.net; }).slice(0, 12);
    if (!growing.length) {
      container.appendChild(el("div", { "class": "note good" }, "No test is judged leak or suspect."));
      return;
    }
    var colors = ["#b00020", "#e08a2c", "#3b6fb6", "#1b7a1b", "#8a5fb0", "#6b4f2a"];
    var series = growing.map(function (f) {
      var sum = 0;
      return [0].concat(f.raw.runs.map(function (r) { sum += r.net_bytes; return sum; }));
    });
    var maxN = 1, lo = 0, hi = 1;
    series.forEach(function (s) { maxN = Math.max(maxN, s.length - 1); s.forEach(function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); }); });
    var W = widthOf(container), H = 240, L = 70, B = 30, T = 10, R = 16;
    var svg = el("svg:svg", { width: W, height: H, role: "img", "aria-label": "leak growth" });
    function px(i) { return L + (W - L - R) * i / maxN; }
    function py(v) { return T + (H - T - B) * (1 - (v - lo) / (hi - lo)); }
    svg.appendChild(el("svg:line", { x1: L, y1: py(0), x2: W - R, y2: py(0), stroke: "#999" }));
    svg.appendChild(el("svg:line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
    svg.appendChild(el("svg:text", { x: L - 4, y: py(hi) + 4, "text-anchor": "end" }, fmtBytes(hi)));
    svg.appendChild(el("svg:text", { x: L - 4, y: py(0) + 4, "text-anchor": "end" }, "0 B"));
    for (var i = 0; i <= maxN; i++) {
      svg.appendChild(el("svg:text", { x: px(i), y: H - B + 16, "text-anchor": "middle" }, String(i)));
    }
    svg.appendChild(el("svg:text", { x: (L + W) / 2, y: H - 2, "text-anchor": "middle" }, "repetition"));
    series.forEach(function (s, k) {
      var f = growing[k], color = colors[k % colors.length];
      var points = s.map(function (v, i) { return px(i) + "," + py(v); }).join(" ");
      var line = el("svg:polyline", { points: points, fill: "none", stroke: color, "stroke-width": 2, "class": "leak-line" });
      line.appendChild(el("svg:title", {}, f.name + ": " + f.leak.verdict + " (" + f.leak.confidence + "), " + f.leak.reason));
      svg.appendChild(line);
      var item = el("span", { title: f.name });
      item.appendChild(el("i", { style: "background:" + color }));
      item.appendChild(document.createTextNode((f.name.length > 60 ? f.name.slice(0, 59) + "\u2026" : f.name) +
        " \u2014 " + f.leak.verdict + ", " + fmtBytes(f.net) + "/run"));
      legend.appendChild(item);
      leakLines++;
    });
    svg.setAttribute("data-lines", leakLines);
    container.appendChild(svg);
  }

  // A large report's histograms: for each column, the tests in each power-of-two range.
  function drawHistograms() {
    var c = document.getElementById("chart-hist");
    var kinds = [["peak", "peak", fmtBytes], ["net", "net per run", fmtBytes], ["allocs", "allocations", fmtCount],
                 ["us", "time", function (us) { return fmtMs(us / 1000); }]];
    var W = widthOf(c), H = 120, T = 18, B = 30, gap = 24, w = Math.max(140, Math.floor((W - gap * 3) / 4));
    var perRow = Math.max(1, Math.floor((W + gap) / (w + gap)));
    var svg = el("svg:svg", { width: W, height: Math.ceil(kinds.length / perRow) * (H + 10), role: "img",
                              "aria-label": "histograms of every test's peak, net per run, allocations and time" });
    kinds.forEach(function (k, n) {
      var buckets = agg.histograms[k[0]] || [];
      var x0 = (n % perRow) * (w + gap), y0 = Math.floor(n / perRow) * (H + 10);
      var most = 1;
      buckets.forEach(function (b) { most = Math.max(most, b[2]); });
      svg.appendChild(el("svg:text", { x: x0, y: y0 + 12 }, k[1] + " (" + agg.counts.ran + " tests that ran)"));
      var bw = buckets.length ? Math.max(2, Math.floor(w / buckets.length) - 2) : 0;
      buckets.forEach(function (b, i) {
        var h = Math.max(1, Math.round((H - T - B) * b[2] / most));
        var x = x0 + i * (bw + 2);
        var bar = el("svg:rect", { x: x, y: y0 + H - B - h, width: bw, height: h, fill: "#3b6fb6" });
        bar.appendChild(el("svg:title", {}, (b[0] === 0 ? "0 or less" : k[2](b[0]) + " to " + k[2](b[1])) + ": " + fmtCount(b[2]) + " tests"));
        svg.appendChild(bar);
      });
      if (buckets.length) {
        var first = buckets[0], last = buckets[buckets.length - 1];
        svg.appendChild(el("svg:text", { x: x0, y: y0 + H - B + 14 }, first[0] === 0 ? "0" : k[2](first[0])));
        svg.appendChild(el("svg:text", { x: x0 + w, y: y0 + H - B + 14, "text-anchor": "end" }, k[2](last[1])));
      }
    });
    c.appendChild(svg);
  }
  if (agg) {
    var note = document.getElementById("aggregate-note");
    note.hidden = false;
    var exact = function (n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); };
    note.textContent = "This report has " + exact(agg.total) + " tests; the page lists " + exact(agg.listed) +
      " of them: " + (agg.flagged > agg.flagged_listed ? "the " + exact(agg.flagged_listed) + " most serious of the " + exact(agg.flagged)
                     : "every one of the " + exact(agg.flagged)) +
      " failed, over budget, leaking, suspect or regressed, and the " + agg.top_per_column +
      " highest of each column (peak, net per run, allocations, RSS, time). The charts and the table below are of these; " +
      "the counts above and the histograms are of all. memx show, csv and gate read every test.";
    document.getElementById("histograms").hidden = false;
  }

  function drawCharts() {
    if (agg) {
      var hist = document.getElementById("chart-hist");
      while (hist.firstChild) hist.removeChild(hist.firstChild);
      drawHistograms();
    }
    ["chart-watch", "chart-timeline", "chart-heap", "chart-rss", "chart-leaks", "leak-legend"].forEach(function (id) {
      var c = document.getElementById(id);
      while (c.firstChild) c.removeChild(c.firstChild);
    });
    drawWatch();
    drawTimeline();
    drawBars();
    drawLeaks();
  }
  drawCharts();

  // The table, sortable by any column.
  var tbody = document.querySelector("#tests tbody");
  function leakCell(f) {
    var cls = { leak: f.leak.confidence === "low" ? "warn" : "bad", suspect: "warn", clean: "good", expected: "good", unknown: "dim" }[f.leak.verdict];
    var td = el("td", { "class": cls, title: f.leak.reason }, "\u25CF " + f.leak.verdict + " (" + f.leak.confidence + ")");
    return td;
  }
  // A test's expanded row: where it is, each run's figures, its budget, its change against
  // the baseline and its memory over time (built when opened).
  var openRows = {}, expandedRows = 0, rowCharts = 0;
  var openAllRows = /(^#|&)details=open\b/.test(location.hash);
  function fillRow(td, f) {
    while (td.firstChild) td.removeChild(td.firstChild);
    var t = f.raw, tl = t.timeline;
    var facts = el("div", { "class": "row-facts" });
    facts.appendChild(el("span", { "class": "where" }, f.where || "source location unknown"));
    var budget = t.budget ? Object.keys(t.budget).map(function (k) {
      var v = t.budget[k];
      return k + "=" + (typeof v === "number" && ["peak", "net", "rss"].indexOf(k) >= 0 ? fmtBytes(v) : String(v));
    }).join(", ") : "none";
    facts.appendChild(document.createTextNode(" — budget: " + budget));
    if (f.changeInfo) facts.appendChild(document.createTextNode(" — against the baseline: " + f.changeInfo.text));
    td.appendChild(facts);
    t.violations.forEach(function (v) { td.appendChild(el("div", { "class": "bad" }, v.message + (v.enforced === false ? " (warn only)" : ""))); });
    if (t.runs.length) {
      var lim = t.budget || {};
      var runs = el("table", { "class": "runs" });
      var head = el("tr");
      ["run", "net", "blocks", "peak", "allocs", "rss", "time"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
      runs.appendChild(head);
      t.runs.forEach(function (r, k) {
        var tr = el("tr", { "class": tl && tl.run === k + 1 ? "kept" : "" });
        function cell(text, over) { tr.appendChild(el("td", { "class": "num" + (over ? " over" : "") }, text)); }
        cell(String(k + 1) + (k === 0 && t.runs.length > 1 ? " (warm-up)" : ""));
        cell(fmtBytes(r.net_bytes), lim.net !== undefined && r.net_bytes > lim.net);
        cell(String(r.net_blocks), lim.blocks !== undefined && r.net_blocks > lim.blocks);
        cell(fmtBytes(r.peak_bytes), lim.peak !== undefined && r.peak_bytes > lim.peak);
        cell(fmtCount(r.allocs), lim.allocs !== undefined && r.allocs > lim.allocs);
        cell(fmtBytes(r.rss_peak_bytes), lim.rss !== undefined && r.rss_peak_bytes > lim.rss);
        cell(r.duration_ms.toFixed(2) + " ms");
        runs.appendChild(tr);
      });
      td.appendChild(runs);
    }
    var box = el("div", { "class": "chart row-chart" });
    td.appendChild(box);
    if (tl && tl.run > 0 && tl.points.length >= 2) {
      lineChart(box, tl.points, [{ key: "heap", name: "live heap above the run's start", index: 1, color: "#3b6fb6", fromZero: true },
                                 { key: "rss", name: "RSS above the run's start", index: 2, color: "#8a5fb0", fromZero: true }], [],
                "run " + tl.run + " (its highest peak), time since it started", 70,
                // As wide as the visible part of the table (which scrolls when it is wider).
                Math.max(300, document.querySelector(".table-box").clientWidth - 64));
      rowCharts++;
    } else {
      box.appendChild(el("div", { "class": "note" }, (!tl || !tl.run) && page.timelines_dropped && t.runs.length
        ? "Its memory timeline is left out of this page, which keeps those of the " + page.timelines_kept +
          " tests with the highest peaks (the report has them all)."
        : !tl || !tl.run
        ? "No memory timeline: the report has none for this test (an older memx, or the test did not run)."
        : "No readings between the start and end of run " + tl.run + " (" + t.runs[tl.run - 1].duration_ms.toFixed(2) +
          " ms): shorter than one sampling interval (MEMX_SAMPLE_INTERVAL, 10 ms by default)."));
    }
  }
  function setOpen(tr, f, open) {
    var next = tr.nextSibling;
    if (next && next.classList && next.classList.contains("expanded")) tbody.removeChild(next);
    if (!open) { delete openRows[f.index]; return; }
    openRows[f.index] = true;
    var row = el("tr", { "class": "expanded", "data-index": f.index });
    var td = el("td", { colspan: 12 });
    row.appendChild(td);
    tbody.insertBefore(row, tr.nextSibling);
    fillRow(td, f);
  }
  function toggleRow(e) {
    var t = e.target;
    if (!t.classList || !t.classList.contains("toggle")) return;
    if (e.type === "keydown" && e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    var open = t.getAttribute("aria-expanded") !== "true";
    t.setAttribute("aria-expanded", open ? "true" : "false");
    setOpen(t.parentNode.parentNode, tests[Number(t.getAttribute("data-index")) - 1], open);
  }
  tbody.addEventListener("click", toggleRow);
  tbody.addEventListener("keydown", toggleRow);
  function render(rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rowCharts = 0;
    var opened = 0;
    rows.forEach(function (f) {
      var tr = el("tr", { "data-name": f.name });
      var none = f.runs === 0;
      tr.appendChild(el("td", { "class": "num" }, String(f.number)));
      // One light element per row (a page may hold 100 000): one listener on the table.
      var nameCell = el("td"), toggle = el("span", { "class": "toggle", role: "button", tabindex: "0",
                                                     "aria-expanded": "false", "data-index": f.index, title: f.where || "" }, f.name);
      nameCell.appendChild(toggle);
      tr.appendChild(nameCell);
      tr.appendChild(el("td", { "class": f.status === "failed" ? "bad" : f.status === "skipped" ? "warn" : "" }, f.status));
      tr.appendChild(el("td", { "class": "num" }, String(f.runs)));
      tr.appendChild(el("td", { "class": "num" }, none ? "-" : fmtBytes(f.net)));
      tr.appendChild(el("td", { "class": "num" }, none ? "-" : fmtBytes(f.peak)));
      tr.appendChild(el("td", { "class": "num" }, none ? "-" : fmtCount(f.allocs)));
      tr.appendChild(el("td", { "class": "num" }, none ? "-" : fmtBytes(f.rss)));
      tr.appendChild(el("td", { "class": "num" }, none ? "-" : f.ms.toFixed(2) + " ms"));
      tr.appendChild(leakCell(f));
      tr.appendChild(el("td", { "class": f.raw.violations.length ? "bad" : "", title: f.raw.violations.map(function (v) { return v.message; }).join("\n") }, f.budget));
      if (baseline) {
        var c = f.changeInfo;
        tr.appendChild(el("td", { "class": c && c.regressions.length ? "bad" : c && c.status === "new" ? "warn" : "dim" },
          c ? c.text + (c.regressions.length ? " (regression: " + c.regressions.join(", ") + ")" : "") : "-"));
      }
      tbody.appendChild(tr);
      // At most 200 rows open at once from #details=open (a page of many tests stays usable).
      var open = openRows[f.index] || (openAllRows && opened < 200);
      if (open) { opened++; toggle.setAttribute("aria-expanded", "true"); setOpen(tr, f, true); }
    });
    expandedRows = tbody.querySelectorAll("tr.expanded").length;
  }
  var headers = document.querySelectorAll("#tests th");
  function sortBy(key, dir) {
    var th = document.querySelector('#tests th[data-key="' + key + '"]');
    if (!th) return;
    var num = th.getAttribute("data-type") === "num";
    if (!dir) dir = th.getAttribute("data-dir") === "desc" ? "asc" : (num && key !== "index" ? "desc" : "asc");
    var rows = tests.slice().sort(function (a, b) {
      var x = a[key], y = b[key], c = num ? x - y : String(x).localeCompare(String(y));
      return (dir === "asc" ? c : -c) || a.index - b.index;
    });
    headers.forEach(function (h) { h.removeAttribute("data-dir"); });
    th.setAttribute("data-dir", dir);
    document.body.setAttribute("data-memx-sorted", key + ":" + dir);
    render(rows);
  }
  headers.forEach(function (h) { h.addEventListener("click", function () { sortBy(h.getAttribute("data-key")); }); });
  var m = /^#(?:[^#]*&)?sort=(\w+)(?::(asc|desc))?(?:&|$)/.exec(location.hash);
  if (m) sortBy(m[1], m[2]); else render(tests);

  // Helpers of the sites and the peaks below.
  function userFrame(s) {
    if (!s.frames.length) return null;
    return s.frames[Math.min(Math.max(s.user_frame, 0), s.frames.length - 1)];
  }
  function hex(n) { return "0x" + Number(n).toString(16); }
  // As memx::site_location: "file:line in function", else "module+0xOFFSET in function (note)".
  function where(s) {
    var f = userFrame(s);
    if (!f) return "an unknown place (no stack recorded)";
    var fn = f.function || "??";
    if (/C_A_T_C_H_T_E_S_T_|C_A_T_C_H____T_E_S_T|CATCH2_INTERNAL_TEST_/.test(fn)) fn = "the TEST_CASE";
    if (f.file && f.line > 0) return f.file + ":" + f.line + " in " + fn;
    return (f.module || "??") + "+" + hex(f.offset) + (f.function ? " in " + f.function : "") +
      (f.note ? " (" + f.note + ")" : "");
  }
  function plural(n, what) { return n + " " + what + (n === 1 ? "" : "s"); }
  // As `memx show --sites`: "runs 2-5 of 5", "run 1 of 5".
  function keptBy(s, runs) {
    var n = Math.max(runs, s.runs.length), ranges = [], kept = 0;
    for (var k = 0; k < s.runs.length;) {
      if (s.runs[k].blocks <= 0) { k++; continue; }
      var end = k;
      while (end + 1 < s.runs.length && s.runs[end + 1].blocks > 0) end++;
      kept += end - k + 1;
      ranges.push(end === k ? String(k + 1) : (k + 1) + "-" + (end + 1));
      k = end + 1;
    }
    return kept ? (kept === 1 ? "run " : "runs ") + ranges.join(", ") + " of " + n : "no run of " + n;
  }
  function bar(bytes, max) {
    var box = el("span", { "class": "site-bar-box" }), b = el("span", { "class": "site-bar" });
    b.style.width = Math.max(1, Math.round(bytes / max * 120)) + "px";
    box.appendChild(b);
    return box;
  }
  function frameItem(f, i, user) {
    var li = el("li", { "class": i < user ? "folded" : i === user ? "user" : "" });
    li.appendChild(document.createTextNode("#" + i + " " + (f.function || "??")));
    var at = f.file && f.line > 0 ? f.file + ":" + f.line
           : (f.file ? f.file + " in " : "") + (f.module || "??") + "+" + hex(f.offset);
    var notes = (f.inlined ? ["inlined"] : []).concat(f.note ? [f.note] : []);
    li.appendChild(el("span", { "class": "at" }, " at " + at + (notes.length ? " (" + notes.join(", ") + ")" : "")));
    return li;
  }

  // Allocation sites (stack mode): per test, a tree of live bytes by the user's line that
  // allocated them, then by whole stack, then the stack's frames. Text only (textContent).
  var siteTests = 0, sitePlaces = 0, siteStacks = 0, siteFrames = 0;
  (function () {
    var container = document.getElementById("sites"), note = document.getElementById("sites-note");
    var st = report.stacks;
    if (!st) {
      note.textContent = "This report has no allocation sites: its tests ran without stack mode. " +
        "Run them with --memx-stacks (or MEMX_STACKS=on) to record where the blocks each test " +
        "left live were allocated.";
      return;
    }
    var openAll = /(^#|&)sites=open\b/.test(location.hash);
    note.textContent = "Where the blocks each test's repetitions left live were allocated (stack mode: depth " +
      st.depth + ", " + st.unwinder + ", at most " + st.top + " sites per test, " +
      (st.final ? "taken at the end of the run" : "each test's as of its last run") +
      (st.dropped ? "; " + st.dropped + " allocations could not be recorded, and the sites miss them" : "") +
      "). Each test opens to the lines of its code that allocated them, each line to its call stacks, " +
      "each stack to its frames, innermost first; the frames before the user's (memx, the runtime, " +
      "the standard library, the test framework) are grey, the user's is bold.";
    var withSites = tests.filter(function (f) { return f.raw.sites && f.raw.sites.length; });
    var bytesOf = function (f) { return f.raw.sites.reduce(function (a, s) { return a + s.bytes; }, 0); };
    withSites.sort(function (a, b) { return b.leakRank - a.leakRank || bytesOf(b) - bytesOf(a) || a.index - b.index; });
    var unrecorded = tests.filter(function (f) { return f.raw.sites_recorded === false; }).length;
    var none = tests.filter(function (f) {
      return f.runs > 0 && f.raw.sites_recorded !== false && !(f.raw.sites && f.raw.sites.length);
    }).length;
    if (unrecorded) {
      container.appendChild(el("div", { "class": "note" }, plural(unrecorded, "test") +
        " ran without stack mode (merged from a report without it, or not rerun by memx check --stacks): " +
        "their sites were not recorded."));
    }
    if (!withSites.length) {
      container.appendChild(el("div", { "class": "note good" }, "No test left blocks live."));
      return;
    }
    withSites.forEach(function (f) {
      var sites = f.raw.sites, runs = f.raw.site_runs ? Math.min(f.raw.site_runs, f.raw.runs.length) : f.raw.runs.length;
      var bytes = 0, blocks = 0, places = [], byKey = {};
      sites.forEach(function (s) {
        bytes += s.bytes; blocks += s.blocks;
        var key = where(s);
        if (!byKey[key]) { byKey[key] = { where: key, bytes: 0, blocks: 0, sites: [] }; places.push(byKey[key]); }
        byKey[key].bytes += s.bytes; byKey[key].blocks += s.blocks; byKey[key].sites.push(s);
      });
      var max = Math.max(1, places.reduce(function (a, p) { return Math.max(a, p.bytes); }, 0));
      var cls = { leak: f.leak.confidence === "low" ? "warn" : "bad", suspect: "warn", clean: "good", expected: "good", unknown: "dim" }[f.leak.verdict];
      var d = el("details", { "class": "site-test", "data-name": f.name });
      d.open = openAll || f.leak.verdict === "leak";
      var sum = el("summary");
      sum.appendChild(el("b", {}, f.name));
      sum.appendChild(document.createTextNode(" \u2014 "));
      sum.appendChild(el("span", { "class": cls, title: f.leak.reason }, f.leak.verdict + " (" + f.leak.confidence + ")"));
      sum.appendChild(document.createTextNode(" \u2014 " + fmtBytes(bytes) + " in " + plural(blocks, "block") +
        " live at " + plural(sites.length, "site") + (st.top > 0 && sites.length >= st.top ? " (the top " + sites.length + "; more with --memx-sites=N)" : "")));
      d.appendChild(sum);
      places.forEach(function (p, pi) {
        var pd = el("details", { "class": "site-place" });
        pd.open = openAll || (d.open && pi === 0);
        var ps = el("summary");
        ps.appendChild(el("span", { "class": "site-bytes" }, fmtBytes(p.bytes) + " in " + plural(p.blocks, "block")));
        ps.appendChild(bar(p.bytes, max));
        ps.appendChild(el("span", { "class": "where" }, p.where));
        if (p.sites.length > 1) ps.appendChild(document.createTextNode(" (" + p.sites.length + " stacks)"));
        pd.appendChild(ps);
        p.sites.forEach(function (s) {
          var sd = el("details", { "class": "site" });
          sd.open = openAll;
          sd.appendChild(el("summary", {}, fmtBytes(s.bytes) + " in " + plural(s.blocks, "block") +
            ", kept by " + keptBy(s, runs) + ", " + plural(s.frames.length, "frame")));
          var ol = el("ol", { "class": "stack" });
          s.frames.forEach(function (fr, i) { ol.appendChild(frameItem(fr, i, s.user_frame)); siteFrames++; });
          sd.appendChild(ol);
          pd.appendChild(sd);
          siteStacks++;
        });
        d.appendChild(pd);
        sitePlaces++;
      });
      container.appendChild(d);
      siteTests++;
    });
    if (none) {
      container.appendChild(el("div", { "class": "note" }, plural(none, "other test") + " that ran left no block live."));
    }
  })();

  // What the tests left live by allocated type (stack mode; memx/census.hpp), over every
  // test of the report: the page's `types`, most live bytes first.
  var typeRows = 0;
  (function () {
    var container = document.getElementById("types"), note = document.getElementById("types-note");
    if (!report.stacks) {
      note.textContent = "Stack mode was off: no allocated types.";
      return;
    }
    var types = page.types || [];
    if (!types.length) {
      note.textContent = "No test left blocks live.";
      return;
    }
    note.textContent = "The blocks every test left live (their sites) by the type they were allocated as: " +
      "the std::make_shared<T>, the standard container they went through, an allocator's T, the class whose " +
      "constructor allocated them, else the allocating function." +
      (page.types_total > types.length ? " The " + types.length + " largest of " + page.types_total +
       "; memx show --types lists all." : "");
    var table = el("table", { id: "types-table" });
    var head = el("tr");
    ["type", "from", "live", "blocks", "sites", "tests", "for example at"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    types.forEach(function (t) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, t.type));
      tr.appendChild(el("td", { "class": "dim" }, t.from));
      tr.appendChild(el("td", { "class": "num" }, fmtBytes(t.bytes)));
      tr.appendChild(el("td", { "class": "num" }, String(t.blocks)));
      tr.appendChild(el("td", { "class": "num" }, String(t.sites)));
      tr.appendChild(el("td", { "class": "num" }, String(t.tests)));
      tr.appendChild(el("td", { "class": "where" }, t.where));
      body.appendChild(tr);
      typeRows++;
    });
    table.appendChild(body);
    container.appendChild(table);
  })();

  // What made each test's peak (stack mode, peak_sites): what its worst run held at its
  // peak, by stack, most bytes first; each stack opens to its frames.
  var peakTests = 0, peakSites = 0;
  (function () {
    var container = document.getElementById("peaks"), note = document.getElementById("peaks-note");
    if (!report.stacks) {
      note.textContent = "Stack mode was off: no sites of the peaks.";
      return;
    }
    var withPeaks = tests.filter(function (f) { return f.raw.peak_sites && f.raw.peak_sites.length; });
    withPeaks.sort(function (a, b) { return b.peak - a.peak || a.index - b.index; });
    note.textContent = withPeaks.length
      ? "What each test's worst run held at its peak (within 1/16 of it), by call stack, most bytes first."
      : "No test held 1 KiB at its peak.";
    var openAll = /(^#|&)sites=open\b/.test(location.hash);
    withPeaks.forEach(function (f) {
      var d = el("details", { "class": "peak-test", "data-name": f.name });
      d.open = openAll;
      var max = Math.max(1, f.raw.peak_sites.reduce(function (a, s) { return Math.max(a, s.bytes); }, 0));
      var sum = el("summary");
      sum.appendChild(el("b", {}, f.name));
      sum.appendChild(document.createTextNode(" \u2014 peak " + fmtBytes(f.peak) + ", " +
        plural(f.raw.peak_sites.length, "site")));
      d.appendChild(sum);
      f.raw.peak_sites.forEach(function (s) {
        var sd = el("details", { "class": "peak-site" });
        sd.open = openAll;
        var ss = el("summary");
        ss.appendChild(el("span", { "class": "site-bytes" }, fmtBytes(s.bytes) + " in " + plural(s.blocks, "block")));
        ss.appendChild(bar(s.bytes, max));
        ss.appendChild(el("span", { "class": "where" }, where(s)));
        sd.appendChild(ss);
        var ol = el("ol", { "class": "stack" });
        s.frames.forEach(function (fr, i) { ol.appendChild(frameItem(fr, i, s.user_frame)); });
        sd.appendChild(ol);
        d.appendChild(sd);
        peakSites++;
      });
      container.appendChild(d);
      peakTests++;
    });
  })();

  // For tests and tools: what was drawn.
  var b = document.body;
  b.setAttribute("data-memx-tests", tests.length);
  b.setAttribute("data-memx-rows", tbody.querySelectorAll("tr[data-name]").length);
  b.setAttribute("data-memx-site-tests", siteTests);
  b.setAttribute("data-memx-site-places", sitePlaces);
  b.setAttribute("data-memx-site-stacks", siteStacks);
  b.setAttribute("data-memx-site-frames", siteFrames);
  b.setAttribute("data-memx-peak-tests", peakTests);
  b.setAttribute("data-memx-peak-sites", peakSites);
  b.setAttribute("data-memx-type-rows", typeRows);
  // What the charts drew, and whether anything is cut off: every legend entry inside its
  // legend, every chart inside the page's width and every text of a chart inside it.
  function measured() {
    b.setAttribute("data-memx-heap-bars", heapBars);
    b.setAttribute("data-memx-rss-bars", rssBars);
    b.setAttribute("data-memx-leak-lines", leakLines);
    b.setAttribute("data-memx-timeline-marks", timelineMarks);
    b.setAttribute("data-memx-watch-points", watchPoints);
    b.setAttribute("data-memx-timeline-points", document.querySelectorAll("#chart-timeline polyline").length ? report.timeline.length : 0);
    b.setAttribute("data-memx-expanded", tbody.querySelectorAll("tr.expanded").length);
    b.setAttribute("data-memx-row-charts", tbody.querySelectorAll("tr.expanded svg.timeline").length);
    b.setAttribute("data-memx-limits", document.querySelectorAll("line.limit").length);
    b.setAttribute("data-memx-overs", document.querySelectorAll("rect.over").length);
    b.setAttribute("data-memx-charts", document.querySelectorAll("svg").length);
    var cut = [], pageW = document.documentElement.clientWidth;
    function outside(r, box) { return r.left < box.left - 1 || r.right > box.right + 1; }
    document.querySelectorAll(".legend").forEach(function (lg) {
      var box = lg.getBoundingClientRect();
      if (outside(box, { left: 0, right: pageW })) cut.push("legend wider than the window: " + lg.textContent.slice(0, 60));
      lg.querySelectorAll("span").forEach(function (s) {
        if (outside(s.getBoundingClientRect(), box)) cut.push("legend entry cut off: " + s.textContent.slice(0, 60));
      });
    });
    document.querySelectorAll("svg").forEach(function (svg) {
      var box = svg.getBoundingClientRect();
      if (outside(box, { left: 0, right: pageW })) cut.push("chart wider than the window: " + (svg.getAttribute("aria-label") || ""));
      svg.querySelectorAll("text").forEach(function (t) {
        if (outside(t.getBoundingClientRect(), box)) cut.push("chart text cut off: " + t.textContent.slice(0, 60));
      });
    });
    b.setAttribute("data-memx-window", window.innerWidth + "x" + window.innerHeight);
    b.setAttribute("data-memx-chart-width", (document.querySelector("#chart-heap svg") || { getAttribute: function () { return 0; } }).getAttribute("width"));
    b.setAttribute("data-memx-cut", cut.length);
    var list = document.getElementById("memx-cut") || el("pre", { id: "memx-cut", hidden: "" });
    list.textContent = cut.join("\n");
    b.appendChild(list);
  }
  measured();
  // Drawn again for the new width (and the open rows with it) when the window is resized.
  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      drawCharts();
      tbody.querySelectorAll("tr.expanded").forEach(function (row) {
        fillRow(row.firstChild, tests[Number(row.getAttribute("data-index")) - 1]);
      });
      measured();
    }, 150);
  });
  b.setAttribute("data-memx-ready", "1");
})();
</script>
</body>
</html>
)HTML";

}  // namespace memx::cli
