"""pytest, for every run in this repository (the unit tests, the notebooks, both profiles): the
longest files first, and with ``--durations`` the time each file took (issue 31: CI's minutes)."""
from __future__ import annotations

from collections import Counter

import pytest


# The longest files (`--durations`), handed to the workers first, in both passes (`make test` and
# `make test-portable`): with --no-loadscope-reorder (Makefile) pytest-xdist's --dist loadfile gives
# out files in collection order, each to the worker about to run out, and a long file given out last
# would run alone at the end while the other worker idles (issue 31: the portable pass, in numeric
# order, ended with notebook 11 alone). The simulated Colab comes after notebook 11, whose features
# it then finds in the shared cache.
LONGEST_FIRST = ("notebooks/09_transfer_learning_and_raw_audio.ipynb",
                 "notebooks/11_your_own_music.ipynb", "tests/test_colab_simulated.py",
                 "notebooks/08_cnn_on_spectrograms.ipynb", "notebooks/07_lstm_mfcc_sequences.ipynb",
                 "notebooks/06_classical_ml_on_features.ipynb")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    # a stable sort: the other files keep their order
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


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
