#!/usr/bin/env python3
"""Writes the raw report fixtures of tests/cli/fixtures/ (then `memx analyze` fills in the
budget violations and leak verdicts with memx's own analysis). Run from tests/cli/:

    python3 make_fixtures.py MEMX_BINARY [SITES_REPORT]

sites.json (stack mode, report version 2) is the report of the stack-mode scenario
(tests/sites/gtest_sites.cpp) with its paths made stable; give SITES_REPORT to remake it:

    build/tests/sites/memx_sites_gtest_omit --gtest_repeat=5 --memx-stacks --memx-report=x.json

sites_base.json and sites_base_v1.json (its base for `memx diff`) are derived from it.
"""
import copy
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from report_frames import resolve_frames  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


def run(net=0, blocks=None, peak=0, allocs=0, rss=0, ms=1.0):
    if blocks is None:
        blocks = 1 if net > 0 else (-1 if net < 0 else 0)
    return {"net_bytes": net, "net_blocks": blocks, "peak_bytes": peak, "allocs": allocs,
            "rss_peak_bytes": rss, "duration_ms": ms}


def test(name, line, runs, status="passed", budget=None, file="tests/app_test.cpp"):
    return {"name": name, "file": file, "line": line, "status": status, "runs": runs,
            "budget": budget, "violations": [],
            "leak": {"verdict": "unknown", "confidence": "low", "bytes_per_run": 0.0,
                     "blocks_per_run": 0.0, "reason": "not analysed"}}


def report(tests, pid=1000, live=None, complete=True, reps=5, binary="/ci/build/app_tests"):
    return {"format": "memx-report", "version": 1, "framework": "googletest",
            "binary": binary, "pid": pid, "complete": complete, "repetitions": reps,
            "started_at": "2024-05-01T12:00:00Z",
            "finished_at": "2024-05-01T12:00:09Z" if complete else None,
            "backend": "mimalloc", "iteration_end_live_bytes": live or [], "tests": tests}


def same(n, **kw):
    return [run(**kw) for _ in range(n)]


def base_tests():
    return [
        test("Cache.Lookup", 10, same(5, peak=10000, allocs=100, rss=8192)),
        test("Parser.Tokens", 20, same(5, peak=4096, allocs=50)),
        test("Session.Leaky", 30, [run(net=32, peak=64, allocs=2)] * 5),
        test("Pool.Grow", 40, [run(net=1024, blocks=2, peak=2048, allocs=4)] +
             same(4, peak=2048, allocs=4)),
        test("Old.Removed", 50, same(5, peak=100, allocs=1)),
        test("Budgeted.Fits", 60, same(5, peak=4000, allocs=10), budget={"peak": 8192}),
        test("Flaky.Allowed", 70, same(5, peak=1000, allocs=5)),
        test("Stable.Same", 80, same(5, peak=512, allocs=3)),
    ]


def new_tests():
    t = {x["name"]: x for x in copy.deepcopy(base_tests())}
    t["Cache.Lookup"]["runs"] = same(5, peak=12000, allocs=105, rss=16384)  # peak +20%
    t["Parser.Tokens"]["runs"] = same(5, peak=4096, allocs=80)              # allocs +60%
    t["Session.Leaky"]["runs"] = same(5, peak=64, allocs=2)                 # fixed
    t["Pool.Grow"]["runs"] = [run(net=1024, blocks=2, peak=2048, allocs=4)] + \
        [run(net=48, peak=2048, allocs=4)] * 4                              # new leak
    t["Budgeted.Fits"]["runs"] = same(5, peak=9000, allocs=10)              # over budget
    t["Flaky.Allowed"]["runs"] = same(5, peak=2000, allocs=5)               # allowed
    del t["Old.Removed"]
    out = list(t.values())
    out.append(test("New.Added", 90, same(5, peak=256, allocs=2)))
    out.append(test("New.Skipped", 95, [], status="skipped"))
    return out


def control_tests(new=False):
    out = [test("Evil.Title\x1b]0;pwned\x07", 1, same(3, peak=100, allocs=1)),
           test("Evil.Red\x1b[31m|pipe", 2, same(3, peak=400 if new else 200, allocs=2))]
    if not new:
        out.append(test("Evil.Line\n[  PASSED  ] \u009b2J", 3, same(3, peak=300, allocs=3)))
    return out


def write(name, r):
    with open(os.path.join(FIX, name), "w") as f:
        json.dump(r, f, indent=2, ensure_ascii=False)
        f.write("\n")


def stable_sites_report(path):
    """The scenario's report with the paths of this checkout and build made stable."""
    text = open(path).read()
    root = os.path.dirname(os.path.dirname(HERE))
    for old, new in ((root + "/build/", "/ci/build/"), (root + "/", "/ci/src/"),
                     ('"build/tests/', '"/ci/build/tests/'),
                     ("../../../tests/", "/ci/src/tests/"),
                     ("../../gtest_plugin/", "/ci/src/gtest_plugin/")):
        text = text.replace(old, new)
    r = resolve_frames(json.loads(text), keep_tables=False)
    r.update(pid=5000, started_at="2026-11-30T09:00:00Z", finished_at="2026-11-30T09:00:01Z")
    for t in r["tests"]:
        for run_ in t["runs"]:
            run_["duration_ms"] = 0.05
    return r


def sites_base(r):
    """The base of sites.json for `memx diff`: an older run of the scenario in which
    Sites.Direct did not leak yet and Sites.String leaked in another function (so its
    leaking site in sites.json is new); the other leaks are at the same sites."""
    r = copy.deepcopy(r)
    r.update(pid=4999, started_at="2026-11-29T09:00:00Z", finished_at="2026-11-29T09:00:01Z")
    tests = {t["name"]: t for t in r["tests"]}
    direct = tests["Sites.Direct"]
    removed = 0
    for k, run_ in enumerate(direct["runs"]):
        if k > 0:
            removed += run_["net_bytes"]
            run_.update(net_bytes=0, net_blocks=0)
        r["iteration_end_live_bytes"][k] -= removed
    direct["sites"] = [s for s in direct["sites"] if s["runs"][0]["blocks"] > 0]
    for s in direct["sites"]:
        s["runs"] = [s["runs"][0]] + [{"bytes": 0, "blocks": 0}] * (len(s["runs"]) - 1)
        s["bytes"], s["blocks"] = s["runs"][0]["bytes"], s["runs"][0]["blocks"]
    string = tests["Sites.String"]["sites"][0]
    string["frames"][string["user_frame"]].update(function="append_text(unsigned long)", line=27)
    return r


def main():
    memx = sys.argv[1]
    os.makedirs(FIX, exist_ok=True)
    raw = {
        "base.json": report(base_tests(), live=[5000, 5032, 5064, 5096, 5128]),
        "new.json": report(new_tests(), pid=1001, live=[5000, 5048, 5096, 5144, 5192]),
        # A sharded run of four tests: shard 0 ran A and C, shard 1 B and D.
        "shards/shard0.json": report([test("Shard.A", 10, same(3, peak=100, allocs=1)),
                                      test("Shard.C", 30, same(3, net=16, peak=16, allocs=1))],
                                     pid=2000, live=[900, 916, 932], reps=3),
        "shards/shard1.json": report([test("Shard.B", 20, same(3, peak=200, allocs=2)),
                                      test("Shard.D", 40, same(3, peak=400, allocs=4),
                                           status="failed")],
                                     pid=2001, live=[800, 800, 800], reps=3),
        # Shard 1 again under another name (the same test in two reports, same figures).
        "dup/shard1_copy.json": report([test("Shard.B", 20, same(3, peak=200, allocs=2))],
                                       pid=2002, live=[800, 800, 800], reps=3),
        # Shard.A with other figures.
        "conflict/other_a.json": report([test("Shard.A", 10, same(3, peak=150, allocs=1))],
                                        pid=2003, live=[700, 700, 700], reps=3),
        # A process that crashed after its first test.
        "incomplete.json": report([test("Crash.First", 5, same(3, peak=64, allocs=1))],
                                  pid=2004, complete=False, reps=3, live=[100, 100]),
        # The baseline's run crashed after its first four tests (same figures as far as it got).
        "crashed.json": report(base_tests()[:4], pid=2005, complete=False, live=[5000]),
        # Names with control characters (a Catch2 TEST_CASE name can hold them): escaped
        # wherever memx prints a name to a terminal or Markdown. The new run: Evil.Red grew,
        # Evil.Line is missing.
        "control_names.json": report(control_tests(), reps=3, pid=3001),
        "control_names_new.json": report(control_tests(new=True), reps=3, pid=3002),
        # A run under Valgrind, which replaced memx's operator new: no figures at all.
        "unmeasured.json": dict(report([test("Parser.Tokens", 20, [], budget={"allocs": 0}),
                                        test("Stable.Same", 80, [])], pid=3100, reps=1),
                                backend="system", tool="Valgrind", measured=False),
        # Names that need quoting in CSV and escaping in Markdown and HTML.
        "odd_names.json": report([test('Odd.Comma,"Quote" | pipe', 1, same(1, peak=10, allocs=1)),
                                  test("Odd.<script>alert(1)</script>", 2,
                                       same(1, peak=20, allocs=2)),
                                  test("Odd.ünïcødé", 3, same(1, peak=30, allocs=3))],
                                 reps=1, pid=3000),
        # Two binaries of a suite with the same test name (different file names): two tests.
        # binaries_new: parser_test's Print.Ostream grew.
        "binaries/fmt.json": report([test("Print.Ostream", 10, same(3, peak=1000, allocs=2),
                                          file="fmt/ostream_test.cc")],
                                    reps=3, pid=4001, binary="/ci/build/fmt/ostream_test"),
        "binaries/yaml.json": report([test("Print.Ostream", 10, same(3, peak=5000, allocs=9),
                                           file="yaml/parser_test.cc")],
                                     reps=3, pid=4002, binary="/ci/build/yaml/parser_test"),
        "binaries_new/fmt.json": report([test("Print.Ostream", 10, same(3, peak=1000, allocs=2),
                                              file="fmt/ostream_test.cc")],
                                        reps=3, pid=4003, binary="/home/me/build/fmt/ostream_test"),
        "binaries_new/yaml.json": report([test("Print.Ostream", 10, same(3, peak=9000, allocs=9),
                                               file="yaml/parser_test.cc")],
                                         reps=3, pid=4004, binary="/home/me/build/yaml/parser_test"),
        # An earlier run's report left in the directory of a later run (stale/): the later
        # run's two processes have Stale.A (which failed before) and Stale.B; Stale.C is only
        # in the earlier run. stale_legacy/old.json: an earlier report without a run_id.
        "stale/memx-100.json": dict(report([test("Stale.A", 10, same(3, peak=150, allocs=2),
                                                 status="failed"),
                                            test("Stale.B", 20, same(3, peak=200, allocs=2)),
                                            test("Stale.C", 30, same(3, peak=300, allocs=3))],
                                           reps=3, pid=100),
                                    run_id="2026-11-29T09:00:00.000000Z/100"),
        "stale/memx-200.json": dict(report([test("Stale.A", 10, same(3, peak=100, allocs=1))],
                                           reps=3, pid=200),
                                    run_id="2026-11-30T09:00:00.000000Z/200"),
        "stale/memx-201.json": dict(report([test("Stale.B", 20, same(3, peak=200, allocs=2))],
                                           reps=3, pid=201),
                                    run_id="2026-11-30T09:00:00.250000Z/201"),
        "stale_legacy/old.json": report([test("Stale.A", 10, same(3, peak=150, allocs=2),
                                              status="failed")], reps=3, pid=99),
        # Two binaries with the same file name in different directories: --root tells them apart.
        "same_file_name/a.json": report([test("Print.Ostream", 10, same(3, peak=1000, allocs=2),
                                              file="a/print_test.cc")],
                                        reps=3, pid=4005, binary="/ci/build/a/print_test"),
        "same_file_name/b.json": report([test("Print.Ostream", 10, same(3, peak=2000, allocs=4),
                                              file="b/print_test.cc")],
                                        reps=3, pid=4006, binary="/ci/build/b/print_test"),
    }
    # Stack mode: the scenario's own report (its verdicts as the plugin judged them) and a
    # base derived from it, in version 2 and, without stack mode, version 1.
    if len(sys.argv) > 2:
        write("sites.json", stable_sites_report(sys.argv[2]))
    sites = json.load(open(os.path.join(FIX, "sites.json")))
    raw["sites_base.json"] = sites_base(sites)
    v1 = copy.deepcopy(raw["sites_base.json"])
    v1["version"] = 1
    del v1["stacks"]
    for t in v1["tests"]:
        del t["sites"]
    raw["sites_base_v1.json"] = v1
    for name, r in raw.items():
        os.makedirs(os.path.dirname(os.path.join(FIX, name)), exist_ok=True)
        write(name, r)
        path = os.path.join(FIX, name)
        subprocess.run([memx, "analyze", path, "-o", path], check=True, stdout=subprocess.DEVNULL)
    # memx analyze writes the current version: the version 1 base is written back as one.
    v1 = json.load(open(os.path.join(FIX, "sites_base_v1.json")))
    v1["version"] = 1
    write("sites_base_v1.json", v1)

    # Bad inputs: every one must be rejected with exit 2 and one message.
    text = open(os.path.join(FIX, "base.json")).read()
    bad = os.path.join(FIX, "bad")
    os.makedirs(bad, exist_ok=True)
    open(os.path.join(bad, "empty.json"), "w").close()
    open(os.path.join(bad, "not_json.json"), "w").write("memx says hello\n")
    open(os.path.join(bad, "truncated.json"), "w").write(text[:len(text) // 2])
    open(os.path.join(bad, "other_format.json"), "w").write(
        '{"format": "heaptrack", "version": 1}\n')
    newer = json.loads(text)
    newer["version"] = 4
    write("bad/newer_version.json", newer)
    wrong = json.loads(text)
    wrong["tests"][2]["runs"][1]["net_bytes"] = "32"
    write("bad/wrong_type.json", wrong)
    not_array = json.loads(text)
    not_array["tests"] = {"Cache.Lookup": {}}
    write("bad/tests_not_array.json", not_array)
    # The same test twice in one report (a second copy must not hide a regression).
    dup = json.loads(text)
    copy_ = copy.deepcopy(dup["tests"][1])
    copy_["runs"] = same(5, peak=40960, allocs=500)
    dup["tests"].append(copy_)
    write("bad/duplicate_test.json", dup)
    open(os.path.join(bad, "allow_binary.txt"), "wb").write(b"Cache.*\n\x00\x01\x02ELF\n")


if __name__ == "__main__":
    main()
