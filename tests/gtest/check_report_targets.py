#!/usr/bin/env python3
"""A test binary's --memx-report=PATH never replaces what stands at PATH unless it is a file,
and a run whose report cannot be written leaves no earlier report behind and fails.

check_report_targets.py --workdir DIR -- SCENARIO [args...]

Runs SCENARIO (a passing GoogleTest or Catch2 scenario binary) without a report, then with
--memx-report pointing at, in turn:
  * a private character device (mknod 1:3, a /dev/null of our own, made in DIR; root only):
    the run passes and the node is still that character device;
  * a FIFO with a reader: exactly one complete report arrives (not one per test);
  * /dev/stdout (a pipe): the output holds exactly one complete report;
  * a symlink to a file in another directory: the symlink stays, the target is the report;
  * a socket: refused with one line naming it, the socket is left alone, the run fails;
  * a file name too long for the temporary file beside it, where an earlier run's report
    stands: one line saying so and that the earlier report was removed (it is), the run fails.
The runs that can write their report pass, as the run without one does.
The private device node needs root (CI runs as root); without it that case is skipped, saying
so, and the others still run.
"""
import argparse
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading

problems = []


def check(ok, what):
    print(("ok:      " if ok else "PROBLEM: ") + what)
    if not ok:
        problems.append(what)


def run(cmd, report=None, stdout=subprocess.PIPE):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMX_") and not k.startswith("GTEST_")}
    flags = [f"--memx-report={report}"] if report is not None else []
    return subprocess.run(cmd + flags, env=env, stdout=stdout, stderr=subprocess.PIPE,
                          timeout=120)


def reports_in(text):
    """The complete memx reports in `text` (JSON documents one after another)."""
    decoder = json.JSONDecoder()
    out, i = [], 0
    text = text.strip()
    while i < len(text):
        doc, end = decoder.raw_decode(text, i)
        out.append(doc)
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def one_complete_report(text, what):
    try:
        docs = [d for d in reports_in(text) if isinstance(d, dict) and d.get("format") == "memx-report"]
    except ValueError as e:
        check(False, f"{what}: not a sequence of JSON documents ({e})")
        return
    check(len(docs) == 1, f"{what}: exactly one report arrived (got {len(docs)})")
    if docs:
        check(docs[-1].get("complete") is True and len(docs[-1].get("tests", [])) > 0,
              f"{what}: the report is complete and has the tests")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workdir", required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    plain = run(cmd).returncode
    if plain != 0:
        print(f"check_report_targets.py: the scenario must pass without a report (exit {plain})")
        return 1

    # A private character device: the machine's own /dev/null is never touched.
    if os.geteuid() == 0:
        node = os.path.join(a.workdir, "null")
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        r = run(cmd, node)
        st = os.lstat(node)
        check(r.returncode == plain, f"char device: exit {r.returncode}, as without a report")
        check(stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3),
              "char device: the node is still character device 1:3")
        check(sorted(os.listdir(a.workdir)) == ["null"], "char device: no file left beside it")
        os.unlink(node)
    else:
        print("skipped: char device: not root, cannot mknod a private device node")

    # A FIFO with a reader: one report, at the end.
    fifo = os.path.join(a.workdir, "fifo")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keep_open = os.open(fifo, os.O_WRONLY)  # no EOF before the test binary has written
    os.set_blocking(reader, True)
    chunks = []

    def read_all():
        while True:
            b = os.read(reader, 65536)
            if not b:
                return
            chunks.append(b)

    t = threading.Thread(target=read_all)
    t.start()
    r = run(cmd, fifo)
    os.close(keep_open)
    t.join(timeout=60)
    os.close(reader)
    check(r.returncode == plain, f"fifo: exit {r.returncode}, as without a report")
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "fifo: still a FIFO")
    one_complete_report(b"".join(chunks).decode(), "fifo")
    os.unlink(fifo)

    # /dev/stdout into a pipe: the test output, then one report.
    r = run(cmd, "/dev/stdout")
    out = r.stdout.decode()
    check(r.returncode == plain, f"/dev/stdout: exit {r.returncode}, as without a report")
    start = out.find('{\n  "format": "memx-report"')
    check(start >= 0, "/dev/stdout: the report is in the output")
    check(out.count('"format": "memx-report"') == 1, "/dev/stdout: exactly one report in the output")
    if start >= 0:
        doc, _ = json.JSONDecoder().raw_decode(out, start)
        check(doc.get("complete") is True and len(doc.get("tests", [])) > 0,
              "/dev/stdout: the report is complete and has the tests")

    # A symlink to a file elsewhere: followed, the target replaced, the link kept.
    os.makedirs(os.path.join(a.workdir, "real"))
    os.makedirs(os.path.join(a.workdir, "links"))
    target = os.path.join(a.workdir, "real", "r.json")
    link = os.path.join(a.workdir, "links", "r.json")
    os.symlink("../real/r.json", link)
    r = run(cmd, link)
    check(r.returncode == plain, f"symlink: exit {r.returncode}, as without a report")
    check(os.path.islink(link), "symlink: still a symlink")
    with open(target) as f:
        one_complete_report(f.read(), "symlink target")
    check(os.listdir(os.path.join(a.workdir, "real")) == ["r.json"],
          "symlink: no temporary file left beside the target")

    # A socket: refused, one line naming it.
    sock_path = os.path.join(a.workdir, "sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock_path)
    r = run(cmd, sock_path)
    err = r.stderr.decode()
    line = f'memx: cannot write report "{sock_path}": it is a socket'
    check(line in err, f"socket: refused with one line ({err.strip()[:300]!r})")
    check(err.count(line) == 1, "socket: said once, not after every test")
    check(stat.S_ISSOCK(os.lstat(sock_path).st_mode), "socket: still a socket")
    check(r.returncode > 0, f"socket: the run fails (exit {r.returncode})")
    s.close()

    # This run's report cannot be written (the temporary file's name is too long) where an
    # earlier run's report stands: the earlier one is removed, one line, the run fails.
    stale = os.path.join(a.workdir, "r" * 250)
    with open(stale, "w") as f:
        f.write('{"format": "memx-report", "note": "last week\'s"}\n')
    r = run(cmd, stale)
    err = r.stderr.decode()
    line = (f'memx: cannot write report "{stale}": creating a temporary file failed: File name '
            f"too long; the earlier run's report there was removed")
    check(line in err and err.count("memx: cannot write report") == 1,
          f"unwritable: one line says so ({err.strip()[-400:]!r})")
    check(not os.path.exists(stale), "unwritable: the earlier run's report is gone")
    check(r.returncode > 0, f"unwritable: the run fails (exit {r.returncode})")

    if problems:
        print(f"check_report_targets.py: {len(problems)} problem(s)")
        return 1
    print("check_report_targets.py: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
