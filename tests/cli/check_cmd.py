#!/usr/bin/env python3
"""`memx check` on real test binaries built with memx.

check_cmd.py --memx BIN --gtest-dir DIR [--catch2-dir DIR] --workdir DIR

GoogleTest scenarios (tests/gtest/scenarios): within budget passes (exit 0), over budget
and leaking fail (exit 1) with the reason on the last line, --report keeps the report with
the requested repetitions, a terminal (a pseudo-terminal here) gets a progress line with
the total of test runs, and a binary that is not a test binary is unusable input (exit 2).
Catch2 (tests/catch2/scenarios, when built): recognised from --help and run with
--memx-repeat and --memx-report.
--stacks (two phases) on the stack-mode scenarios of tests/sites (--sites-gtest,
--sites-catch2): only the tests judged leaking or over budget run again in stack mode (a
one-time cache that is not a culprit gets no sites), their sites are merged into the
counting run's report at the planted lines and shown; a run without culprits has no rerun.
"""
import argparse
import json
import os
import pty
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from report_frames import resolve_frames  # noqa: E402


def fail(msg):
    print("check_cmd.py: FAILED: " + msg)
    sys.exit(1)


def memx_check(memx, args, expect_exit, expect_text):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMX_", "GTEST_"))}
    r = subprocess.run([memx, "check"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300, env=env)
    out = r.stdout.decode(errors="replace")
    if r.returncode != expect_exit:
        fail(f"memx check {' '.join(args)}: exit {r.returncode}, expected {expect_exit}:\n{out}")
    for text in expect_text:
        if text not in out:
            fail(f"memx check {' '.join(args)}: no {text!r} in:\n{out}")
    print(f"check_cmd.py: memx check {' '.join(os.path.basename(a) for a in args)}: exit "
          f"{r.returncode} as expected")
    return out


def on_terminal(memx, args):
    """Runs memx check with stdout and stderr on a pseudo-terminal; returns what it wrote."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(memx, [memx, "check"] + args)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


SITES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sites")


def site_line(source, marker):
    with open(os.path.join(SITES, source)) as f:
        for number, line in enumerate(f, 1):
            if marker in line:
                return number
    fail(f"no {marker!r} in {source}")


def where(site):
    f = site["frames"][min(site["user_frame"], len(site["frames"]) - 1)]
    return f"{os.path.basename(f['file'])}:{f['line']}"


def two_phase(memx, binary, workdir, repeat, culprits, expect_sites, framework):
    """memx check --stacks: only `culprits` rerun in stack mode; `expect_sites` maps a test
    to the place of its first site."""
    report = os.path.join(workdir, f"stacks_{framework}.json")
    out = memx_check(memx, ["--stacks", "--repeat", str(repeat), "--report", report, "--", binary], 1,
                     [f"memx check: {len(culprits)} tests again in stack mode: " + ", ".join(culprits)])
    with open(report) as f:
        r = resolve_frames(json.load(f))
    if r["version"] != 3 or not r.get("stacks") or r["repetitions"] != repeat:
        fail(f"{report}: not a stack-mode report of {repeat} repetitions: {r.get('stacks')}")
    with_sites = [t["name"] for t in r["tests"] if t.get("sites") or t.get("peak_sites")]
    if with_sites != culprits:
        fail(f"{report}: sites for {with_sites}, expected only the culprits {culprits}")
    # The rerun names the sites with three repetitions (or fewer if the run had fewer).
    site_runs = min(repeat, 3)
    for t in r["tests"]:
        if len(t["runs"]) != repeat:
            fail(f"{report}: {t['name']} has {len(t['runs'])} runs, expected {repeat} (the counting run)")
        if t["name"] in culprits:
            if t.get("site_runs", repeat) != site_runs or \
                    any(len(s["runs"]) != site_runs for s in t["sites"]):
                fail(f"{report}: {t['name']}'s sites are not of {site_runs} repetitions: "
                     f"site_runs {t.get('site_runs')}, {[len(s['runs']) for s in t['sites']]}")
        elif "site_runs" in t:
            fail(f"{report}: {t['name']} was not rerun but has site_runs {t['site_runs']}")
        if t["name"] in expect_sites:
            got = where(t["sites"][0])
            if got != expect_sites[t["name"]]:
                fail(f"{report}: {t['name']}'s first site is at {got}, expected {expect_sites[t['name']]}")
            if t["leak"]["verdict"] == "leak" and expect_sites[t["name"]] not in t["leak"]["reason"]:
                fail(f"{report}: {t['name']}'s reason does not name its line: {t['leak']['reason']}")
            shown = re.search(rf"\(kept by runs 1-{site_runs} of {site_runs}\) at [^\n]*{re.escape(expect_sites[t['name']])} in ", out)
            if not shown:
                fail(f"memx check --stacks does not show {t['name']}'s site {expect_sites[t['name']]}:\n{out}")
    print(f"check_cmd.py: memx check --stacks ({framework}): {len(culprits)} culprits rerun, "
          f"their sites merged and shown")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--gtest-dir", required=True)
    p.add_argument("--catch2-dir")
    p.add_argument("--workdir", required=True)
    p.add_argument("--sites-gtest")
    p.add_argument("--sites-catch2")
    a = p.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    g = lambda s: os.path.join(a.gtest_dir, "memx_gtest_scenario_" + s)

    memx_check(a.memx, ["--", g("within_budget")], 0,
               ["GoogleTest binary", "Within.SmallVector", "memx check: passed"])
    memx_check(a.memx, ["--repeat", "1", "--", g("over_peak")], 1,
               ["OverBudget.Peak", "over: peak", "memx check: FAILED: 1 over budget, the test "
                "binary exited with status 1"])
    report = os.path.join(a.workdir, "mixed.json")
    memx_check(a.memx, ["--repeat", "4", "--report", report, "--", g("mixed"),
                        "--gtest_filter=Mixed.*"], 1,
               ["Mixed.KeepsABlock", "leak (medium)", "memx check: FAILED: 1 leaking"])
    with open(report) as f:
        r = resolve_frames(json.load(f))
    if r["repetitions"] != 4 or any(len(t["runs"]) != 4 for t in r["tests"]) or \
            [t["name"] for t in r["tests"]] != ["Mixed.Vector", "Mixed.Map", "Mixed.Budgeted",
                                               "Mixed.KeepsABlock", "Mixed.Skipped"]:
        fail(f"{report}: not the run asked for (4 repetitions of Mixed.*)")
    memx_check(a.memx, ["--", "/bin/true"], 2, ["neither GoogleTest's nor Catch2's options"])
    memx_check(a.memx, ["--", os.path.join(a.workdir, "no-such-binary")], 2, ["cannot run"])

    status, out = on_terminal(a.memx, ["--repeat", "5", "--", g("mixed")])
    if status != 1 or "/30 test runs done" not in out or "\x1b[1mtest" not in out:
        fail(f"on a terminal: exit {status}, expected progress out of 30 runs and colours:\n{out}")
    if "[ RUN      ]" in out:
        fail("on a terminal the binary's own output should go to the log, not the screen")
    print("check_cmd.py: on a terminal: progress of 30 test runs, colours, exit 1")

    if a.sites_gtest:
        g_src = "gtest_sites.cpp"
        two_phase(a.memx, a.sites_gtest, a.workdir, 5,
                  ["Sites.Direct", "Sites.MakeShared", "Sites.String", "Sites.OtherLibrary",
                   "Sites.OverBudget", "Sites.OverPeak"],
                  {"Sites.Direct": f"{g_src}:{site_line(g_src, 'SITE: direct')}",
                   "Sites.String": f"{g_src}:{site_line(g_src, 'SITE: string')}",
                   "Sites.OtherLibrary": f"sites_lib.cpp:{site_line('sites_lib.cpp', 'SITE: library')}",
                   "Sites.OverBudget": f"{g_src}:{site_line(g_src, 'SITE: over budget')}"},
                  "googletest")
        # Nothing leaks or breaks its budget: no second phase, no stack mode in the report.
        report = os.path.join(a.workdir, "stacks_none.json")
        memx_check(a.memx, ["--stacks", "--report", report, "--", g("within_budget")], 0,
                   ["no test leaks or is over budget: no stack-mode rerun", "memx check: passed"])
        with open(report) as f:
            if "stacks" in json.load(f):
                fail(f"{report}: stack mode without a rerun")
    # A rerun that leaves no report (a crash in stack mode) costs the sites, not the results.
    fake = os.path.join(a.workdir, "fake_gtest")
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sites_base_v1.json")
    with open(fake, "w") as f:
        f.write(f"""#!{sys.executable}
import shutil, sys
args = sys.argv[1:]
if "--help" in args or "--gtest_list_tests" in args:
    print("--gtest_list_tests")
    sys.exit(0)
if "--memx-stacks" in args:
    sys.exit(134)
shutil.copy({fixture!r}, [x[len("--memx-report="):] for x in args if x.startswith("--memx-report=")][0])
sys.exit(1)
""")
    os.chmod(fake, 0o755)
    memx_check(a.memx, ["--stacks", "--", fake], 1,
               ["4 tests again in stack mode: Sites.MakeShared", "the stack-mode rerun exited with status "
                "134 and left no usable report", "Sites.OtherLibrary", "memx check: FAILED: 1 over budget, 3 leaking"])

    if a.sites_catch2:
        c_src = "catch2_sites.cpp"
        two_phase(a.memx, a.sites_catch2, a.workdir, 3,
                  ["Sites.Direct", "Sites.Section / inner", "Sites.OtherLibrary", "Sites.OverBudget"],
                  {"Sites.Direct": f"{c_src}:{site_line(c_src, 'SITE: catch2 direct')}",
                   "Sites.Section / inner": f"{c_src}:{site_line(c_src, 'SITE: catch2 string')}",
                   "Sites.OverBudget": f"{c_src}:{site_line(c_src, 'SITE: catch2 over budget')}"},
                  "catch2")

    if a.catch2_dir:
        c = os.path.join(a.catch2_dir, "memx_catch2_scenario_mixed")
        report = os.path.join(a.workdir, "catch2.json")
        memx_check(a.memx, ["--repeat", "3", "--report", report, "--", c], 1,
                   ["Catch2 binary", "leaking"])
        with open(report) as f:
            r = resolve_frames(json.load(f))
        if r["framework"] != "catch2" or r["repetitions"] != 3:
            fail(f"{report}: framework {r['framework']}, repetitions {r['repetitions']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
