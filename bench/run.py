#!/usr/bin/env python3
"""memx benchmark runner: the overhead of memx counting, measured side by side in one run.

    python3 bench/run.py [--build DIR] [--rounds 7] [--scale 6]

Builds the bench targets if needed, runs every workload three ways -- plain (no memx,
glibc malloc), the same binary with LD_PRELOAD=libmimalloc ("mimalloc alone") and linked
with memx -- and, in a mimalloc build, a fourth: linked with memx and memx::count_malloc
("memx+C", the C allocation functions counted too), interleaved for --rounds rounds, then the allocate/free micro-benchmark, and
prints markdown tables of medians and ratios. Python 3 standard library only.
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PRELOAD = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"
VARIANTS = ("plain", "mimalloc", "memx")
# With memx::count_malloc (a mimalloc build): the same run with the C functions counted.
MALLOC_VARIANT = "memx_malloc"

# The targets of the issue; the tables say PASS/FAIL against them.
TARGET_MEMX_OVER_PLAIN = 0.80
TARGET_MEMX_OVER_MIMALLOC = 1.15
TARGET_PAIR_DELTA_NS = 3.0

MEMX_LINE = re.compile(r"memx-bench: allocs=(\d+) frees=(\d+)")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(REPO, "build-bench"),
                   help="CMake build directory (configured with MEMX_BUILD_BENCH=ON if needed; default: build-bench)")
    p.add_argument("--no-build", action="store_true", help="do not configure or build, run what is there")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds of every workload variant (default 7)")
    p.add_argument("--scale", type=int, default=int(os.environ.get("WL_SCALE", "6")),
                   help="WL_SCALE given to the workloads: work per run (default $WL_SCALE or 6)")
    p.add_argument("--micro-reps", type=int, default=7, help="micro-benchmark repetitions (default 7)")
    p.add_argument("--micro-min-time", type=float, default=0.1,
                   help="micro-benchmark seconds per repetition (default 0.1)")
    p.add_argument("--no-micro", action="store_true", help="skip the micro-benchmark")
    p.add_argument("--no-workloads", action="store_true", help="skip the workloads")
    p.add_argument("--preload", default=None,
                   help="mimalloc to LD_PRELOAD for 'mimalloc alone' (default: %s, else the one memx links)" % DEFAULT_PRELOAD)
    p.add_argument("--json", metavar="FILE", help="also write every raw measurement to FILE")
    p.add_argument("--seed", type=int, default=1, help="seed of the per-round run order (default 1)")
    args = p.parse_args()
    if args.rounds < 1 or args.micro_reps < 1 or args.scale < 1:
        p.error("--rounds, --micro-reps and --scale must be at least 1")
    if args.rounds < 5:
        log("warning: fewer than 5 rounds; medians will be noisy")
    return args


def build(build_dir):
    cache = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.exists(cache) or not os.path.exists(os.path.join(build_dir, "bench", "bench_config.json")):
        cmd = ["cmake", "-S", REPO, "-B", build_dir, "-DMEMX_BUILD_BENCH=ON"]
        if not os.path.exists(cache):
            cmd += ["-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DMEMX_BUILD_TESTS=OFF", "-DMEMX_BUILD_EXAMPLES=OFF"]
        log("+ " + " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    cmd = ["cmake", "--build", build_dir, "--target", "memx_bench_all", "-j", "2"]
    log("+ " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def load_config(build_dir):
    path = os.path.join(build_dir, "bench", "bench_config.json")
    if not os.path.exists(path):
        sys.exit("error: %s not found: configure with -DMEMX_BUILD_BENCH=ON and build (or drop --no-build)" % path)
    with open(path) as f:
        return json.load(f)


def run_once(argv, env):
    """Runs one binary to completion; returns (wall seconds, cpu seconds, stderr text)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit("error: %s exited with %d\n%s" % (" ".join(argv), proc.returncode, err.decode(errors="replace")))
    return wall, usage.ru_utime + usage.ru_stime, err.decode(errors="replace")


def variant_env(variant, scale, preload):
    env = dict(os.environ)
    env["WL_SCALE"] = str(scale)
    env.pop("LD_PRELOAD", None)
    for k in [k for k in env if k.startswith("MIMALLOC_")]:
        del env[k]
    if variant == "mimalloc":
        env["LD_PRELOAD"] = preload
    return env


def variant_argv(workload, variant):
    if variant == MALLOC_VARIANT:
        return [workload[MALLOC_VARIANT]]
    return [workload["memx"] if variant == "memx" else workload["plain"]]


def variants_of(workloads):
    """The variants every workload has: the three, and memx+C where memx::count_malloc exists."""
    if workloads and all(MALLOC_VARIANT in w for w in workloads):
        return VARIANTS + (MALLOC_VARIANT,)
    return VARIANTS


def check_variants(workloads, preload):
    """One untimed run of every variant (a warm-up) that also checks each is what it claims."""
    for w in workloads:
        for v in variants_of(workloads):
            env = variant_env(v, 1, preload)
            env["MIMALLOC_VERBOSE"] = "1"  # mimalloc announces itself on stderr when loaded
            _, _, err = run_once(variant_argv(w, v), env)
            has_mimalloc = "mimalloc:" in err
            if v == "plain" and has_mimalloc:
                sys.exit("error: %s loads mimalloc; the plain variant must not" % w["plain"])
            if v != "plain" and not has_mimalloc:
                sys.exit("error: the %s variant of %s did not load mimalloc" % (v, w["name"]))
            if v in ("memx", MALLOC_VARIANT):
                m = MEMX_LINE.search(err)
                if not m or int(m.group(1)) == 0:
                    sys.exit("error: %s did not count any allocation (memx not linked in?)" % w["memx"])


def run_workloads(workloads, args, preload):
    check_variants(workloads, preload)
    jobs = [(w["name"], v) for w in workloads for v in variants_of(workloads)]
    by_name = {w["name"]: w for w in workloads}
    wall = {j: [] for j in jobs}
    cpu = {j: [] for j in jobs}
    allocs = {}
    rng = random.Random(args.seed)
    for r in range(args.rounds):
        order = list(jobs)
        rng.shuffle(order)  # interleaved: every round runs every variant, in a fresh order
        for name, v in order:
            t, c, err = run_once(variant_argv(by_name[name], v), variant_env(v, args.scale, preload))
            wall[(name, v)].append(t)
            cpu[(name, v)].append(c)
            m = MEMX_LINE.search(err)
            if m:
                allocs[(name, v)] = int(m.group(1))
                if v == "memx":
                    allocs[name] = int(m.group(1))
        log("round %d/%d: %s" % (r + 1, args.rounds, "  ".join(
            "%s/%s %.2fs" % (n.replace("bench_", ""), v, wall[(n, v)][-1]) for n, v in jobs)))
    return wall, cpu, allocs


def run_micro(config, args, binary="micro", extra=()):
    argv = [config[binary], "--benchmark_format=json", *extra,
            "--benchmark_repetitions=%d" % args.micro_reps,
            "--benchmark_enable_random_interleaving=true",
            "--benchmark_min_time=%g" % args.micro_min_time]
    log("+ " + " ".join(argv))
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    data = json.loads(out)
    reps = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") == "iteration":
            unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            reps.setdefault(b["run_name"], []).append(b["real_time"] * unit)
    medians = {name: statistics.median(times) for name, times in reps.items()}
    return medians, reps, data.get("context", {})


def machine_line(config, preload):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    distro = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    mi = os.path.basename(os.path.realpath(preload))
    if shutil.which("dpkg-query"):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libmimalloc2.0"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if r.returncode == 0 and r.stdout:
            mi = "mimalloc %s" % r.stdout
    return "%s, %d CPUs, %s, Linux %s; %s %s; %s; memx backend %s" % (
        cpu, os.cpu_count() or 0, distro, platform.release(), config["compiler"],
        config["build_type"], mi, config["memx_backend"])


def verdict(ok):
    return "PASS" if ok else "FAIL"


def workload_table(workloads, wall, cpu, allocs, rounds, scale):
    lines = [
        "| workload (WL_SCALE=%d, %d rounds) | plain s | mimalloc alone s | memx s | memx/plain (<= %.2f) | memx/mimalloc (<= %.2f) | memx/mimalloc CPU time | allocs/run | memx extra ns/alloc |"
        % (scale, rounds, TARGET_MEMX_OVER_PLAIN, TARGET_MEMX_OVER_MIMALLOC),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in workloads:
        n = w["name"]
        med = {v: statistics.median(wall[(n, v)]) for v in VARIANTS}
        r_plain = med["memx"] / med["plain"]
        r_mi = med["memx"] / med["mimalloc"]
        r_cpu = statistics.median(cpu[(n, "memx")]) / statistics.median(cpu[(n, "mimalloc")])
        a = allocs.get(n, 0)
        extra = (med["memx"] - med["mimalloc"]) * 1e9 / a if a else float("nan")
        label = "ours (bench/workload)" if n == "bench_workload" else \
            "shared (../shared/bench)" if n == "bench_shared_workload" else n
        lines.append("| %s | %.3f | %.3f | %.3f | %.2f %s | %.2f %s | %.2f | %.2fM | %+.1f |" % (
            label, med["plain"], med["mimalloc"], med["memx"],
            r_plain, verdict(r_plain <= TARGET_MEMX_OVER_PLAIN),
            r_mi, verdict(r_mi <= TARGET_MEMX_OVER_MIMALLOC), r_cpu, a / 1e6, extra))
    return "\n".join(lines)


def malloc_table(workloads, wall, cpu, allocs, rounds, scale):
    """memx+C (memx::count_malloc) against memx, from the same interleaved rounds."""
    lines = [
        "| workload (WL_SCALE=%d, %d rounds) | memx s | memx+C s | memx+C/memx | memx+C/memx CPU time | memx+C/plain | allocs/run memx | allocs/run memx+C |"
        % (scale, rounds),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in workloads:
        n = w["name"]
        m = statistics.median(wall[(n, "memx")])
        c = statistics.median(wall[(n, MALLOC_VARIANT)])
        p = statistics.median(wall[(n, "plain")])
        r_cpu = statistics.median(cpu[(n, MALLOC_VARIANT)]) / statistics.median(cpu[(n, "memx")])
        label = "ours (bench/workload)" if n == "bench_workload" else \
            "shared (../shared/bench)" if n == "bench_shared_workload" else n
        lines.append("| %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2fM | %.2fM |" % (
            label, m, c, c / m, r_cpu, c / p, allocs.get((n, "memx"), 0) / 1e6,
            allocs.get((n, MALLOC_VARIANT), 0) / 1e6))
    return "\n".join(lines)


def c_pair_table(plain, counted):
    """malloc+free as a program calls them: libmimalloc's, and memx::count_malloc's."""
    sizes = sorted({int(k.split("/")[1]) for k in counted if k.startswith("c_pair/")})
    lines = [
        "| size B | libmimalloc malloc+free ns (uncounted) | memx::count_malloc malloc+free ns | difference ns | memx new+delete ns |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        a = plain.get("c_pair/%d" % s, float("nan"))
        b = counted.get("c_pair/%d" % s, float("nan"))
        lines.append("| %d | %.2f | %.2f | %+.2f | %.2f |" % (
            s, a, b, b - a, plain.get("memx_pair/%d" % s, float("nan"))))
    return "\n".join(lines)


def micro_table(medians):
    sizes = sorted({int(k.split("/")[1]) for k in medians})
    lines = [
        "| size B | memx new+delete ns | mimalloc mi_new+mi_free ns | glibc malloc+free ns | memx - mimalloc ns (<= %.0f) | memx new+sized delete ns | mimalloc + 2x mi_usable_size ns |"
        % TARGET_PAIR_DELTA_NS,
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        g = lambda name: medians.get("%s/%d" % (name, s), float("nan"))  # noqa: E731
        delta = g("memx_pair") - g("mimalloc_pair")
        lines.append("| %d | %.2f | %.2f | %.2f | %+.2f %s | %.2f | %.2f |" % (
            s, g("memx_pair"), g("mimalloc_pair"), g("glibc_pair"),
            delta, verdict(delta <= TARGET_PAIR_DELTA_NS), g("memx_sized_pair"),
            g("mimalloc_usable_size_pair")))
    return "\n".join(lines)


def main():
    args = parse_args()
    build_dir = os.path.abspath(args.build)
    if not args.no_build:
        build(build_dir)
    config = load_config(build_dir)
    if config["build_type"] not in ("Release", "RelWithDebInfo", "MinSizeRel"):
        log("note: build type %s; the bench targets add -O2 themselves, memx itself is not optimised"
            % config["build_type"])
    preload = args.preload or (DEFAULT_PRELOAD if os.path.exists(DEFAULT_PRELOAD) else config["mimalloc_library"])
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        log("note: load average %.2f: other processes are running; ratios will be noisier" % load_before[0])

    raw = {"config": config, "scale": args.scale, "rounds": args.rounds, "preload": preload}
    out = ["memx benchmark, %s" % time.strftime("%Y-%m-%d"), "",
           "Machine: " + machine_line(config, preload), ""]
    if not args.no_workloads:
        wall, cpu, allocs = run_workloads(config["workloads"], args, preload)
        out += [workload_table(config["workloads"], wall, cpu, allocs, args.rounds, args.scale), ""]
        if MALLOC_VARIANT in variants_of(config["workloads"]):
            out += ["C allocation functions counted too (memx::count_malloc), same rounds:", "",
                    malloc_table(config["workloads"], wall, cpu, allocs, args.rounds, args.scale), ""]
        raw["workloads"] = {"%s/%s" % k: {"wall_s": wall[k], "cpu_s": cpu[k]} for k in wall}
        raw["allocs_per_run"] = {k if isinstance(k, str) else "%s/%s" % k: a for k, a in allocs.items()}
    if not args.no_micro:
        medians, reps, context = run_micro(config, args)
        out += ["One allocate/free pair, median of %d repetitions (Google Benchmark %s build):"
                % (args.micro_reps, context.get("library_build_type", "?")), "",
                micro_table(medians), ""]
        raw["micro_median_ns"] = medians
        raw["micro_repetitions_ns"] = reps
        if "micro_malloc" in config:
            counted, creps, _ = run_micro(config, args, "micro_malloc", ("--benchmark_filter=c_pair",))
            out += ["malloc+free as a program calls them, without and with memx::count_malloc "
                    "(median of %d repetitions):" % args.micro_reps, "",
                    c_pair_table(medians, counted), ""]
            raw["micro_malloc_median_ns"] = counted
            raw["micro_malloc_repetitions_ns"] = creps
    load_after = os.getloadavg()
    out.append("Load average before/after: %.2f / %.2f (other processes on the machine add noise)"
               % (load_before[0], load_after[0]))
    print("\n".join(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=2)


if __name__ == "__main__":
    main()
