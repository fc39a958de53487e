#!/usr/bin/env python3
"""memx stack-mode benchmark: what recording every allocation's call stack costs.

    python3 bench/stacks.py [--build DIR] [--rounds 5] [--scale 2] [--depth 32]

Runs every workload (bench/workload, ../shared/bench/workload_test.cpp) as plain (no memx,
glibc malloc), memx counting (the *_memx binary) and memx stack mode (the same binary with
MEMX_STACKS=DEPTH), memx sampling mode (MEMX_STACKS=sample:SIZE, --sample, default
512KiB), heaptrack on the plain binary when it is installed (and Valgrind's
memcheck with --valgrind: about 40x, minutes a run),
interleaved for --rounds rounds (a fresh shuffled order each round), and prints the median
wall times and their ratios. Python 3 standard library only; shares run.py's build and
process helpers.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: build, load_config, run_once, machine_line)

TARGET_STACKS_OVER_PLAIN = 3.0
TARGET_SAMPLED_OVER_COUNTING = 1.05
STACKS_LINE = re.compile(r"memx-bench-stacks: depth=(\d+) unwinder=(\S+) stacks=(\d+) live_blocks=(\d+) "
                         r"map_bytes=(\d+) table_bytes=(\d+) dropped=(\d+)")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(run.REPO, "build-bench"),
                   help="CMake build directory (as run.py; default: build-bench)")
    p.add_argument("--no-build", action="store_true", help="do not configure or build, run what is there")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--scale", type=int, default=int(os.environ.get("WL_SCALE", "2")),
                   help="WL_SCALE given to the workloads (default $WL_SCALE or 2)")
    p.add_argument("--depth", type=int, default=32, help="MEMX_STACKS depth of the stack-mode runs (default 32)")
    p.add_argument("--sample", default="512KiB", help="sampling mean of the sampled runs (default 512KiB)")
    p.add_argument("--no-heaptrack", action="store_true", help="do not run heaptrack even when installed")
    p.add_argument("--valgrind", action="store_true", help="also run Valgrind's memcheck (slow: about 40x plain)")
    p.add_argument("--seed", type=int, default=1, help="seed of the per-round run order (default 1)")
    p.add_argument("--unwinder", action="append", default=[], metavar="NAME",
                   help="also run stack mode with MEMX_UNWINDER=NAME (libunwind, dwarf-cfi, frame-pointer), "
                        "interleaved with the rest; repeatable")
    args = p.parse_args()
    if args.rounds < 1 or args.scale < 1 or not 1 <= args.depth <= 64:
        p.error("--rounds and --scale must be at least 1, --depth 1 to 64")
    return args


SAMPLE = "512KiB"


def variant_env(variant, scale, depth):
    env = dict(os.environ)
    env["WL_SCALE"] = str(scale)
    for k in [k for k in env if k.startswith("MIMALLOC_") or k.startswith("MEMX_")]:
        del env[k]
    env.pop("LD_PRELOAD", None)
    if variant == "stacks" or variant.startswith("stacks:"):
        env["MEMX_STACKS"] = str(depth)
    if variant.startswith("stacks:"):
        env["MEMX_UNWINDER"] = variant.split(":", 1)[1]
    if variant == "sampled":
        env["MEMX_STACKS"] = "sample:%s@%d" % (SAMPLE, depth)
    return env


def variant_argv(workload, variant, heaptrack_out):
    if variant == "heaptrack":
        return ["heaptrack", "-o", heaptrack_out, workload["plain"]]
    if variant == "valgrind":
        return ["valgrind", "--tool=memcheck", "--leak-check=full", "--quiet", workload["plain"]]
    memx = variant in ("counting", "stacks", "sampled") or variant.startswith("stacks:")
    return [workload["memx"] if memx else workload["plain"]]


def main():
    args = parse_args()
    global SAMPLE
    SAMPLE = args.sample
    build_dir = os.path.abspath(args.build)
    if not args.no_build:
        run.build(build_dir)
    config = run.load_config(build_dir)
    variants = ["plain", "counting", "stacks", "sampled"] + ["stacks:" + u for u in args.unwinder]
    if not args.no_heaptrack and shutil.which("heaptrack"):
        variants.append("heaptrack")
    if args.valgrind and shutil.which("valgrind"):
        variants.append("valgrind")
    tmp = tempfile.mkdtemp(prefix="memx-stacks-bench-")
    heaptrack_out = os.path.join(tmp, "heaptrack")
    load_before = os.getloadavg()

    # One untimed run of each (a warm-up) that checks each variant is what it claims.
    figures, allocs = {}, {}
    for w in config["workloads"]:
        for v in variants:
            _, _, err = run.run_once(variant_argv(w, v, heaptrack_out), variant_env(v, 1, args.depth))
            m = STACKS_LINE.search(err)
            if v in ("stacks", "sampled") or v.startswith("stacks:"):
                if not m or int(m.group(1)) != args.depth or (v.startswith("stacks:") and m.group(2) != v[7:]):
                    sys.exit("error: %s with MEMX_STACKS=%s did not run in stack mode:\n%s" % (
                        w["memx"], variant_env(v, 1, args.depth)["MEMX_STACKS"], err))
            elif m:
                sys.exit("error: the %s variant of %s ran in stack mode" % (v, w["name"]))

    wall = {(w["name"], v): [] for w in config["workloads"] for v in variants}
    cpu = {k: [] for k in wall}
    jobs = list(wall)
    by_name = {w["name"]: w for w in config["workloads"]}
    rng = random.Random(args.seed)
    for r in range(args.rounds):
        order = jobs[:]
        rng.shuffle(order)
        for name, v in order:
            t, c, err = run.run_once(variant_argv(by_name[name], v, heaptrack_out),
                                     variant_env(v, args.scale, args.depth))
            wall[(name, v)].append(t)
            cpu[(name, v)].append(c)
            if v == "stacks":
                figures[name] = STACKS_LINE.search(err).groups()
            if v == "counting":
                allocs[name] = int(run.MEMX_LINE.search(err).group(1))
        run.log("round %d/%d done" % (r + 1, args.rounds))
    shutil.rmtree(tmp, ignore_errors=True)

    out = ["memx stack-mode benchmark, %s" % time.strftime("%Y-%m-%d"), "",
           "Machine: " + run.machine_line(config, run.DEFAULT_PRELOAD), ""]
    head = ("| workload (WL_SCALE=%d, %d rounds, depth %d) | plain s | counting s | stacks s | counting/plain | "
            "stacks/plain (<= %.1f) | stacks/counting | stacks extra ns/alloc | sampled %s s | sampled/counting (<= %.2f) |") % (
        args.scale, args.rounds, args.depth, TARGET_STACKS_OVER_PLAIN, SAMPLE, TARGET_SAMPLED_OVER_COUNTING)
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    tools = [v for v in ("heaptrack", "valgrind") if v in variants]
    for v in tools:
        head += " %s s | %s/plain |" % (v, v)
        sep += "---:|---:|"
    out += [head, sep]
    for w in config["workloads"]:
        n = w["name"]
        med = {v: statistics.median(wall[(n, v)]) for v in variants}
        a = allocs.get(n, 0)
        extra = (med["stacks"] - med["counting"]) * 1e9 / a if a else float("nan")
        ratio = med["stacks"] / med["plain"]
        label = "ours (bench/workload)" if n == "bench_workload" else \
            "shared (../shared/bench)" if n == "bench_shared_workload" else n
        sampled = med["sampled"] / med["counting"]
        line = "| %s | %.3f | %.3f | %.3f | %.2f | %.2f %s | %.2f | %+.0f | %.3f | %.3f %s |" % (
            label, med["plain"], med["counting"], med["stacks"], med["counting"] / med["plain"],
            ratio, run.verdict(ratio <= TARGET_STACKS_OVER_PLAIN), med["stacks"] / med["counting"], extra,
            med["sampled"], sampled, run.verdict(sampled <= TARGET_SAMPLED_OVER_COUNTING))
        for v in tools:
            line += " %.3f | %.2f |" % (med[v], med[v] / med["plain"])
        out.append(line)
    if args.unwinder:
        out += ["", "Stack mode by unwinder (same rounds; `stacks` is the automatic choice):", "",
                "| workload | unwinder | stacks s | stacks/plain | CPU s | extra ns/alloc over counting |",
                "|---|---|---:|---:|---:|---:|"]
        for w in config["workloads"]:
            n = w["name"]
            a = allocs.get(n, 0)
            for v in ["stacks"] + ["stacks:" + u for u in args.unwinder]:
                med = statistics.median(wall[(n, v)])
                cpu_med = statistics.median(cpu[(n, v)])
                name = figures[n][1] + " (auto)" if v == "stacks" else v[7:]
                extra = (med - statistics.median(wall[(n, "counting")])) * 1e9 / a if a else float("nan")
                out.append("| %s | %s | %.3f | %.2f | %.3f | %+.0f |" % (
                    n, name, med, med / statistics.median(wall[(n, "plain")]), cpu_med, extra))
    out += ["", "Stack mode at exit (last round):", ""]
    for n, (depth, unwinder, stacks, live, map_bytes, table_bytes, dropped) in sorted(figures.items()):
        out.append("- %s: unwinder %s, %s distinct stacks (table %.1f MiB), %s live blocks (map %.1f MiB), "
                   "%s allocations not recorded" % (n, unwinder, stacks, int(table_bytes) / 2**20, live,
                                                    int(map_bytes) / 2**20, dropped))
    load_after = os.getloadavg()
    out += ["", "Load average before/after: %.2f / %.2f" % (load_before[0], load_after[0])]
    print("\n".join(out))


if __name__ == "__main__":
    main()
