#!/usr/bin/env python3
"""Under `bazel test`, reports go into TEST_UNDECLARED_OUTPUTS_DIR, and memx merge takes the
shards' outputs as Bazel brings them back.

check_bazel_outputs.py --memx BIN --scenario TEST_BINARY --workdir DIR

Runs the GoogleTest binary (memx::gtest_main, two tests) as Bazel runs a test sharded two
ways: each shard with its own TEST_UNDECLARED_OUTPUTS_DIR, TEST_SHARD_INDEX/TEST_TOTAL_SHARDS
and GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS (which Bazel's test setup exports), no MEMX_REPORT
and no --memx-report. Checks that
  * each shard's directory holds exactly one report, memx-shard<N>-<pid>.json, complete,
    with that shard's test;
  * zipped as Bazel does (test.outputs/outputs.zip), `memx merge` refuses the .zip with one
    line saying how to unpack it (exit 2), and after unpacking all shards into ONE directory
    (no name clash, even with equal pids) it merges both tests;
  * an explicit --memx-report, or MEMX_REPORT, wins: nothing is written into the outputs dir.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


def run(cmd, env, expect=0):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == expect, f"{' '.join(cmd)}: exit {r.returncode}, expected {expect}:\n{out}")
    return out


def bazel_env(outputs, shard=None, shards=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMX_", "GTEST_", "TEST_"))}
    env["TEST_UNDECLARED_OUTPUTS_DIR"] = outputs
    if shard is not None:
        env.update(TEST_SHARD_INDEX=str(shard), TEST_TOTAL_SHARDS=str(shards),
                   GTEST_SHARD_INDEX=str(shard), GTEST_TOTAL_SHARDS=str(shards))
    return env


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    shards = 2
    names = []
    zips = []
    for shard in range(shards):
        # Bazel makes the directory before the test starts.
        outputs = os.path.join(a.workdir, f"shard_{shard + 1}_of_{shards}", "test.outputs")
        os.makedirs(outputs)
        run([a.scenario], bazel_env(outputs, shard, shards))
        files = os.listdir(outputs)
        check(len(files) == 1 and re.fullmatch(rf"memx-shard{shard}-[0-9]+\.json", files[0] or ""),
              f"shard {shard}: {outputs} holds {files}, expected one memx-shard{shard}-<pid>.json")
        if not files:
            continue
        with open(os.path.join(outputs, files[0])) as f:
            report = json.load(f)
        check(report.get("complete") is True, f"shard {shard}: the report is not complete")
        tests = [t["name"] for t in report["tests"]]
        check(len(tests) == 1, f"shard {shard}: tests {tests}, expected the shard's one")
        names += tests
        # Bazel zips the undeclared outputs into outputs.zip beside the directory.
        z = os.path.join(os.path.dirname(outputs), "outputs.zip")
        with zipfile.ZipFile(z, "w") as archive:
            for name in files:
                archive.write(os.path.join(outputs, name), name)
        zips.append(z)
    check(sorted(names) == ["Within.SmallVector", "Within.SomeStrings"],
          f"the shards ran {names}, expected each test once")

    # The .zip as it comes back: refused with one line naming it and the way to unpack it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMX_")}
    merged = os.path.join(a.workdir, "all.json")
    out = run([a.memx, "merge", "-o", merged, zips[0]], env, expect=2)
    check(f"{zips[0]}: a zip archive, not a memx report" in out and "unzip -d DIR" in out
          and out.count("\n") == 1, f"merge of a .zip: not one clear line: {out!r}")
    # Unpacked, all shards into one directory (as `unzip -o -d all z1 z2 ...` would).
    unpacked = os.path.join(a.workdir, "unpacked")
    for z in zips:
        with zipfile.ZipFile(z) as archive:
            archive.extractall(unpacked)
    check(len(os.listdir(unpacked)) == shards, f"unpacked: {os.listdir(unpacked)}, one per shard")
    run([a.memx, "merge", "-o", merged, unpacked], env)
    with open(merged) as f:
        got = sorted(t["name"] for t in json.load(f)["tests"])
    check(got == ["Within.SmallVector", "Within.SomeStrings"], f"merged tests {got}")

    # A report asked for wins over the outputs directory.
    outputs = os.path.join(a.workdir, "explicit", "test.outputs")
    os.makedirs(outputs)
    mine = os.path.join(a.workdir, "explicit", "mine.json")
    run([a.scenario, "--memx-report=" + mine], bazel_env(outputs))
    check(os.path.exists(mine), "--memx-report: no report at its path")
    env = bazel_env(outputs)
    env["MEMX_REPORT"] = os.path.join(a.workdir, "explicit", "env") + "/"
    run([a.scenario], env)
    check(len(glob.glob(os.path.join(a.workdir, "explicit", "env", "memx-*.json"))) == 1,
          "MEMX_REPORT: no report in its directory")
    check(os.listdir(outputs) == [], f"an explicit report still wrote {os.listdir(outputs)} "
          "into TEST_UNDECLARED_OUTPUTS_DIR")

    for problem in problems:
        print("check_bazel_outputs.py: " + problem)
    if problems:
        return 1
    print("check_bazel_outputs.py: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
