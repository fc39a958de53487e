#!/usr/bin/env python3
"""`memx merge` of a sharded run, and of one process per test, equals a single-process run.

check_sharded_merge.py --memx BIN --scenario TEST_BINARY --workdir DIR [--repeat N] [--shards N]

Runs the GoogleTest binary (built with memx::gtest_main) once in one process, then in
GTEST_TOTAL_SHARDS shards, then once per test (--gtest_filter), every process writing its
own report into a directory (MEMX_REPORT=dir/). `memx merge` must turn each directory into
a report whose tests equal the single-process report's: same order, names, locations,
statuses, heap figures of every run, budgets, violations and leak verdicts (RSS, durations
and the leak reason's wording, which quotes process-wide totals, may differ). Then
`memx diff --exit-code` must find no difference either.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HEAP = ("net_bytes", "net_blocks", "peak_bytes", "allocs")


def fail(msg):
    print("check_sharded_merge.py: " + msg)
    sys.exit(1)


def run(cmd, env=None, expect=0):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    if r.returncode != expect:
        fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout.decode(errors='replace')}")
    return r.stdout.decode(errors="replace")


def comparable(report):
    tests = []
    for t in report["tests"]:
        tests.append({
            "name": t["name"], "file": t["file"], "line": t["line"], "status": t["status"],
            "runs": [{k: r[k] for k in HEAP} for r in t["runs"]],
            "budget": t["budget"], "violations": t["violations"],
            "leak": {k: t["leak"][k] for k in ("verdict", "confidence", "bytes_per_run",
                                                "blocks_per_run")},
        })
    top = {k: report[k] for k in ("framework", "complete", "repetitions", "backend")}
    top["binary"] = os.path.basename(report["binary"])
    return top, tests


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--shards", type=int, default=3)
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMX_", "GTEST_"))}
    repeat = f"--gtest_repeat={a.repeat}"

    single = os.path.join(a.workdir, "single.json")
    run([a.scenario, repeat, f"--memx-report={single}"], env=base_env)

    shards = os.path.join(a.workdir, "shards") + "/"
    os.makedirs(shards)
    for i in range(a.shards):
        env = dict(base_env, GTEST_TOTAL_SHARDS=str(a.shards), GTEST_SHARD_INDEX=str(i),
                   MEMX_REPORT=shards)
        run([a.scenario, repeat], env=env)

    per_test = os.path.join(a.workdir, "per_test") + "/"
    os.makedirs(per_test)
    names, suite = [], ""
    for line in run([a.scenario, "--gtest_list_tests"], env=base_env).splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            suite = line.strip()
        else:
            names.append(suite + line.strip().split()[0])
    if len(names) < 2:
        fail(f"--gtest_list_tests listed {names}")
    for name in names:
        run([a.scenario, repeat, f"--gtest_filter={name}"], env=dict(base_env, MEMX_REPORT=per_test))

    with open(single) as f:
        want_top, want = comparable(json.load(f))
    for label, directory in (("sharded", shards), ("one process per test", per_test)):
        files = [f for f in os.listdir(directory) if f.endswith(".json")]
        expected_files = a.shards if label == "sharded" else len(names)
        if len(files) != expected_files:
            fail(f"{label}: {len(files)} reports in {directory}, expected {expected_files}")
        merged = os.path.join(a.workdir, label.replace(" ", "_") + ".merged.json")
        out = run([a.memx, "merge", "-o", merged, directory])
        with open(merged) as f:
            got_top, got = comparable(json.load(f))
        if got_top != want_top:
            fail(f"{label}: merged report's header {got_top}, single process {want_top}")
        if [t["name"] for t in got] != [t["name"] for t in want]:
            fail(f"{label}: merged test order {[t['name'] for t in got]}, single process "
                 f"{[t['name'] for t in want]}")
        for g, w in zip(got, want):
            if g != w:
                fail(f"{label}: {g['name']} differs:\n  merged: {json.dumps(g)}\n  single: "
                     f"{json.dumps(w)}")
        run([a.memx, "diff", "--exit-code", single, merged])
        print(f"check_sharded_merge.py: {label}: {len(files)} reports merged ({out.strip()}); "
              f"{len(got)} tests equal to the single-process run")


if __name__ == "__main__":
    main()
