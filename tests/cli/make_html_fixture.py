#!/usr/bin/env python3
"""Writes fixtures/timeline.json, the report the HTML page's screenshots are taken of:
fixtures/new.json (compared with fixtures/base.json by `memx html --baseline`) with memory
timelines, as a run with the sampler would record them, and an RSS budget that holds.
Deterministic: the same file every time. Run from tests/cli/:

    python3 make_html_fixture.py MEMX_BINARY
"""
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


def main():
    memx = sys.argv[1]
    r = json.load(open(os.path.join(FIX, "new.json")))
    r["version"] = 3
    heap0, rss0, clock = 5000, 24 << 20, 0.0
    run_points = [[0.0, heap0, rss0]]
    for k, t in enumerate(r["tests"]):
        if t["name"] == "Cache.Lookup":
            t["budget"] = {"rss": 20000}
        if not t["runs"]:
            continue
        peaks = [x["peak_bytes"] for x in t["runs"]]
        worst = peaks.index(max(peaks))
        # The slow tests (every other one) lasted 40 ms: the sampler read them every 10 ms.
        ms = 40.0 if k % 2 == 0 else 1.0
        for i, run in enumerate(t["runs"]):
            run["duration_ms"] = ms
        t["timeline"] = {"run": worst + 1, "start_ms": round(clock + worst * (ms + 0.5), 3), "points": []}
        if ms >= 10:
            peak, rss = t["runs"][worst]["peak_bytes"], t["runs"][worst]["rss_peak_bytes"]
            pts = []
            for i in range(6):
                x = ms * i / 5
                rise = math.sin(math.pi * i / 5)
                pts.append([round(x, 3), int(peak * rise) if i < 5 else t["runs"][worst]["net_bytes"],
                            int(rss * min(1.0, i / 3))])
            t["timeline"]["points"] = pts
        for i, run in enumerate(t["runs"]):
            start = clock
            clock += ms + 0.5
            run_points.append([round(start + ms / 2, 3), heap0 + run["peak_bytes"] // 2 + 48 * k,
                               rss0 + run["rss_peak_bytes"] + 4096 * k])
    run_points.append([round(clock, 3), heap0 + 192, rss0 + 4096 * len(r["tests"])])
    # At most 256 readings, as the sampler keeps them: every other one past that.
    while len(run_points) > 256:
        run_points = run_points[::2] + ([run_points[-1]] if len(run_points) % 2 == 0 else [])
    r["timeline"] = run_points
    path = os.path.join(FIX, "timeline.json")
    with open(path, "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    subprocess.run([memx, "analyze", path, "-o", path], check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
