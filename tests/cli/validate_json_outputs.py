#!/usr/bin/env python3
"""The --json outputs of memx show, diff and gate satisfy docs/cli-json.schema.json.

validate_json_outputs.py --memx BIN --schema docs/cli-json.schema.json

Runs the commands on the fixtures of tests/cli/fixtures/ (several binaries, an unmeasured
report, odd names, stack mode, a stale directory) and validates every output, then checks
a few figures against the fixtures themselves.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = [
    ["show", "--json", "base.json"],
    ["show", "--json", "--only", "leaks,budget", "--sort", "peak", "--top", "2", "new.json"],
    ["show", "--json", "binaries"],
    ["show", "--json", "unmeasured.json"],
    ["show", "--json", "resources.json"],
    ["show", "--json", "odd_names.json"],
    ["show", "--json", "sites.json"],
    ["show", "--json", "stale"],
    ["diff", "--json", "base.json", "new.json"],
    ["diff", "--json", "binaries", "binaries_new"],
    ["diff", "--json", "control_names.json", "control_names_new.json"],
    ["diff", "--json", "sites_base.json", "sites.json"],
    ["gate", "--baseline", "base.json", "new.json", "--allow", "allow.txt", "--json", "{out}"],
    ["gate", "--baseline", "crashed.json", "base.json", "--json", "{out}"],
    ["gate", "--baseline", "binaries", "binaries_new", "--json", "{out}"],
    ["gate", "--baseline", "stale/memx-201.json", "--allow-missing", "stale", "--json", "{out}"],
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--schema", required=True)
    a = p.parse_args()
    schema = json.load(open(a.schema))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    outputs = {}
    tmp = tempfile.mkdtemp(prefix="memx-json-")
    for args in RUNS:
        out = os.path.join(tmp, "gate.json")
        r = subprocess.run([a.memx] + [x.replace("{out}", out) for x in args],
                           cwd=os.path.join(HERE, "fixtures"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        what = "memx " + " ".join(args)
        gate = args[0] == "gate"
        if r.returncode not in ((0, 1) if gate else (0,)):
            problems.append(f"{what}: exit {r.returncode}: {r.stderr.decode()[-300:]}")
            continue
        doc = json.load(open(out)) if gate else json.loads(r.stdout)
        if gate and doc["passed"] != (r.returncode == 0):
            problems.append(f"{what}: passed is {doc['passed']}, exit {r.returncode}")
        outputs[what] = doc
        for e in validator.iter_errors(doc):
            problems.append(f"{what}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
    # Figures as the fixtures hold them.
    base = outputs.get("memx show --json base.json")
    if base:
        cache = next(t for t in base["tests"] if t["name"] == "Cache.Lookup")
        if cache["figures"]["peak_bytes"] != 10000 or cache["figures"]["allocs"] != 100:
            problems.append(f"show: Cache.Lookup's figures are {cache['figures']}")
    top = outputs.get("memx show --json --only leaks,budget --sort peak --top 2 new.json")
    if top and ([t["name"] for t in top["tests"]] != ["Budgeted.Fits", "Pool.Grow"] or
                top["tests_matching"] != 2):
        problems.append(f"show --only --sort --top: {[t['name'] for t in top['tests']]}")
    diff = outputs.get("memx diff --json base.json new.json")
    if diff:
        by = {t["name"]: t for t in diff["tests"]}
        if not by["Pool.Grow"]["newly_leaks"] or by["Old.Removed"]["change"] != "removed" \
                or by["New.Added"]["base"] is not None or not by["Session.Leaky"]["leak_fixed"]:
            problems.append("diff: Pool.Grow, Old.Removed, New.Added or Session.Leaky as not expected")
    gate = outputs.get("memx gate --baseline base.json new.json --allow allow.txt --json {out}")
    if gate:
        by = {t["name"]: t for t in gate["tests"]}
        if (gate["passed"] or gate["totals"]["regressions"] != 6 or gate["totals"]["allowed"] != 1
                or gate["missing"] != ["Old.Removed"] or by["Cache.Lookup"]["base"]["peak_bytes"] != 10000
                or by["Cache.Lookup"]["new"]["peak_bytes"] != 12000
                or [r["what"] for r in by["Pool.Grow"]["regressions"]] != ["leak", "net"]
                or not by["Flaky.Allowed"]["regressions"][0]["allowed"]):
            problems.append(f"gate: not the fixtures' regressions: {json.dumps(gate)[:400]}")
    for problem in problems:
        print(f"validate_json_outputs.py: {problem}")
    if problems:
        return 1
    print(f"validate_json_outputs.py: {len(outputs)} outputs valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
