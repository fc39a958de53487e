#!/usr/bin/env python3
"""Two identical runs give byte-identical baselines (`memx baseline update`).

check_baseline_stable.py --memx BIN --scenario BIN --workdir DIR [-- scenario args...]

Runs the scenario twice (different processes: other pids, times, durations, RSS), each run's
report into its own directory, writes a baseline from each, and compares the bytes. The
reports themselves must differ (else the check proves nothing), and the baseline must hold
no pid, time, run identifier or absolute path.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args()
    args = [x for x in a.args if x != "--"]
    shutil.rmtree(a.workdir, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMX_", "GTEST_"))}
    baselines, reports = [], []
    for i in (1, 2):
        run_dir = os.path.join(a.workdir, f"run{i}")
        subprocess.run([a.scenario, f"--memx-report={run_dir}/"] + args, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        files = [os.path.join(run_dir, f) for f in os.listdir(run_dir)]
        reports.append(open(files[0], "rb").read())
        baseline = os.path.join(a.workdir, f"baseline{i}.json")
        subprocess.run([a.memx, "baseline", "update", "--baseline", baseline, run_dir], check=True,
                       stdout=subprocess.DEVNULL)
        baselines.append(open(baseline, "rb").read())
    problems = []
    if reports[0] == reports[1]:
        problems.append("the two runs wrote the same report: the check proves nothing")
    if baselines[0] != baselines[1]:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(
            baselines[0].decode().splitlines(True), baselines[1].decode().splitlines(True),
            "baseline1.json", "baseline2.json"))
        problems.append("the baselines of two identical runs differ")
    b = json.loads(baselines[0])
    if b["pid"] != 0 or b["started_at"] or b["finished_at"] or "run_id" in b:
        problems.append("the baseline has a pid, a time or a run identifier")
    if "/" in b["binary"] or any(t["file"].startswith("/") for t in b["tests"]):
        problems.append("the baseline has absolute paths")
    names = [t["name"] for t in b["tests"]]
    if names != sorted(names):
        problems.append(f"the tests are not sorted: {names}")
    if any(r["duration_ms"] or r["rss_peak_bytes"] for t in b["tests"] for r in t["runs"]):
        problems.append("the baseline has durations or RSS figures")
    for problem in problems:
        print(f"check_baseline_stable.py: {problem}")
    if problems:
        return 1
    print(f"check_baseline_stable.py: two runs, byte-identical baselines ({len(names)} tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
