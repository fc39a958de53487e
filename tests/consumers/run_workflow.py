#!/usr/bin/env python3
"""consumer.helper.workflow: examples/ci/.github/workflows/memx.yml works as written.

run_workflow.py --workflow memx.yml --sample examples/ci/sample --prefix INSTALLED_MEMX
                --workdir DIR [--prefixes a|b]

Runs the workflow's `run:` steps in order, each with bash -e in a copy of the sample project
(GITHUB_WORKSPACE), as the runner would, with the installed memx on PATH and
CMAKE_PREFIX_PATH. Two steps are the runner's own business and are not run: "Dependencies"
(apt-get) and "memx" (a clone and install of memx; the installed prefix stands in for it).
The sample's baseline is written first (the workflow expects it committed): Build and Test
once, then `cmake --build build --target memx_update_baseline`. Then:
  1. every step in order: all pass; the job summary says the gate passed; the merged report
     and the HTML page are there;
  2. again with SAMPLE_GROW=1 (a regression planted in Sample.Buffer): the Test step fails,
     the job summary names the regression, and the HTML step (if: always()) still runs.
"""
import argparse
import os
import shutil
import subprocess
import sys

import yaml

NOT_RUN = {"Dependencies", "memx"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workflow", required=True)
    p.add_argument("--sample", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--prefixes", default="")
    a = p.parse_args()
    with open(a.workflow) as f:
        workflow = yaml.safe_load(f)
    steps = workflow["jobs"]["memx"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    for needed in NOT_RUN:
        if needed not in names:
            print(f"run_workflow.py: no step \"{needed}\" in {a.workflow} (steps: {names})")
            return 1

    shutil.rmtree(a.workdir, ignore_errors=True)
    workspace = os.path.join(a.workdir, "workspace")
    shutil.copytree(a.sample, workspace)
    summary = os.path.join(a.workdir, "step_summary.md")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMX_", "GTEST_", "GITHUB_")) and k != "SAMPLE_GROW"}
    env["PATH"] = os.path.join(a.prefix, "bin") + os.pathsep + env.get("PATH", "")
    env["CMAKE_PREFIX_PATH"] = os.pathsep.join([a.prefix] + [x for x in a.prefixes.split("|") if x])
    env["GITHUB_WORKSPACE"] = workspace
    env["GITHUB_ACTIONS"] = "true"
    problems = []

    def run_step(step, extra_env=None):
        step_env = dict(env, GITHUB_STEP_SUMMARY=summary)
        step_env.update({k: str(v) for k, v in step.get("env", {}).items()})
        step_env.update(extra_env or {})
        print(f"--- step: {step.get('name')}\n{step['run']}", flush=True)
        r = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=step_env)
        return r.returncode

    def step_named(prefix):
        return next(s for s in steps if s.get("name", "").startswith(prefix))

    # The committed baseline, as a project would have it.
    if run_step(step_named("Build")) != 0:
        print("run_workflow.py: the Build step failed")
        return 1
    run_step(step_named("Test"))
    r = subprocess.run(["cmake", "--build", "build", "--target", "memx_update_baseline"],
                       cwd=workspace, env=env)
    if r.returncode != 0 or not os.path.exists(os.path.join(workspace, "memx-baseline.json")):
        print("run_workflow.py: memx_update_baseline wrote no memx-baseline.json")
        return 1
    shutil.rmtree(os.path.join(workspace, "build"))

    def run_all(extra_env=None):
        failed = False
        results = {}
        if os.path.exists(summary):
            os.remove(summary)
        for step in steps:
            if "run" not in step or step.get("name") in NOT_RUN:
                continue
            if failed and step.get("if") != "always()":
                continue
            rc = run_step(step, extra_env)
            results[step["name"]] = rc
            failed = failed or rc != 0
        text = open(summary).read() if os.path.exists(summary) else ""
        return results, text

    # 1. As written, on the baseline's own figures.
    results, text = run_all()
    if any(rc != 0 for rc in results.values()):
        problems.append(f"as written: steps failed: {results}")
    if "## memx gate: passed" not in text:
        problems.append(f"as written: the job summary does not say the gate passed: {text[:300]!r}")
    for path in ("build/memx-report.json", "memx-report.html"):
        if not os.path.exists(os.path.join(workspace, path)):
            problems.append(f"as written: no {path}")

    # 2. A planted regression: the Test step fails, the summary names it, the page is made.
    os.remove(os.path.join(workspace, "memx-report.html"))
    results, text = run_all({"SAMPLE_GROW": "1"})
    test_step = step_named("Test")["name"]
    if results.get(test_step, 0) == 0:
        problems.append(f"regression: the Test step passed: {results}")
    if "## memx gate: 1 test regressed (1 regression)" not in text or "`Sample.Buffer` | peak" not in text:
        problems.append(f"regression: the job summary does not name it: {text[:400]!r}")
    if not os.path.exists(os.path.join(workspace, "memx-report.html")):
        problems.append("regression: the HTML step (if: always()) did not run")

    for problem in problems:
        print(f"run_workflow.py: {problem}")
    if problems:
        return 1
    print("consumer.helper.workflow: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
