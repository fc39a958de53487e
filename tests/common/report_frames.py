"""Reading memx reports in the test scripts: report version 2 stores each distinct frame and
stack once (frame_table, stack_table) and a site names its stack by index."""


def resolve_frames(report, keep_tables=True):
    """Gives every site of the report its "frames" (a site may also carry them itself).
    With keep_tables=False the sites keep only their frames (the tables and each site's
    "stack" are removed): the form a hand-edited fixture uses."""
    frames = report.get("frame_table", [])
    stacks = [[dict(frames[i]) for i in st] for st in report.get("stack_table", [])]
    for t in report.get("tests", []):
        for s in t.get("sites", []) + t.get("peak_sites", []):
            if "stack" in s:
                s["frames"] = stacks[s["stack"]]
                if not keep_tables:
                    del s["stack"]
    if not keep_tables:
        report.pop("frame_table", None)
        report.pop("stack_table", None)
    return report
