#!/usr/bin/env python3
"""Golden-output tests of the memx CLI.

run_golden.py --memx BIN --case NAME [--update]

Runs one case of cases.json in tests/cli/fixtures/ and compares what it printed (stdout,
stderr, exit status, and the files it wrote) with golden/NAME.txt. "{tmp}" in a case's
arguments is a fresh temporary directory, shown as {tmp} in the output. --update rewrites
the golden file instead.
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--memx", required=True)
    p.add_argument("--case", required=True)
    p.add_argument("--update", action="store_true")
    a = p.parse_args()
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = {c["name"]: c for c in json.load(f)}
    case = cases[a.case]
    # Nothing of the caller's environment changes the output (a CI's GITHUB_STEP_SUMMARY
    # neither); a case's own "env" is set, with {tmp} in its values.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MEMX_COLOR", "NO_COLOR", "GITHUB_STEP_SUMMARY")}
    env["TERM"] = "dumb"
    with tempfile.TemporaryDirectory(prefix="memx-cli-") as tmp:
        for k, v in case.get("env", {}).items():
            env[k] = v.replace("{tmp}", tmp)
        args = [x.replace("{tmp}", tmp) for x in case["args"]]
        r = subprocess.run([a.memx] + args, cwd=os.path.join(HERE, "fixtures"), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        text = "".join(f"{k}={v} " for k, v in case.get("env", {}).items())
        text = "$ " + text + "memx " + " ".join(case["args"]) + "\n"
        text += "--- stdout\n" + r.stdout.decode("utf-8", "replace")
        text += "--- stderr\n" + r.stderr.decode("utf-8", "replace")
        text += f"--- exit {r.returncode}\n"
        for name in case.get("files", []):
            path = name.replace("{tmp}", tmp)
            text += f"--- file {name}\n"
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text += f.read()
            else:
                text += "(not written)\n"
        if case.get("no_files_in_tmp") and os.listdir(tmp):
            text += f"--- unexpected files in {{tmp}}: {sorted(os.listdir(tmp))}\n"
        text = text.replace(tmp, "{tmp}")
    golden = os.path.join(HERE, "golden", a.case + ".txt")
    if a.update:
        with open(golden, "w") as f:
            f.write(text)
        print(f"run_golden.py: wrote {golden}")
        return 0
    problems = []
    if r.returncode != case["exit"]:
        problems.append(f"exit status {r.returncode}, expected {case['exit']}")
    if r.returncode < 0 or r.returncode > 2:
        problems.append(f"exit status {r.returncode} is not one of memx's (0, 1, 2)")
    want = open(golden).read() if os.path.exists(golden) else ""
    if text != want:
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                   golden, "actual"))
        problems.append("output differs from " + golden + " (--update to accept)")
    if problems:
        print("run_golden.py: " + a.case + ": " + "; ".join(problems))
        return 1
    print(f"run_golden.py: {a.case}: as expected (exit {r.returncode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
