"""pytest, for every run in this repository (the unit tests, the notebooks, both profiles):
with ``--durations``, also the time each file took (issue 31: where CI's minutes go, by file)."""
from __future__ import annotations

from collections import Counter

import pytest


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    """After ``--durations``' slowest tests, the 10 slowest files (setup, call and teardown of
    all their tests; with two workers, the sum of the time each worker spent on them)."""
    if not terminalreporter.config.getoption("durations", None):
        return
    seconds = Counter()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) in ("setup", "call", "teardown"):
                seconds[report.nodeid.split("::")[0]] += report.duration
    if seconds:
        terminalreporter.write_sep("=", f"slowest 10 files (of {len(seconds)}), all their tests")
        for name, total in seconds.most_common(10):
            terminalreporter.write_line(f"{total:8.1f}s {name}")
