"""The order in which pytest runs the test files: the longest first.

At the top of the repository, so that it applies to any paths pytest is given: `make test-portable`
gives it only the notebooks, and then `tests/conftest.py` is not loaded.
"""
from __future__ import annotations

# The longest files (`--durations`), handed to the workers first (issue 31). With
# --no-loadscope-reorder (Makefile), pytest-xdist's --dist loadfile gives out files in collection
# order, and a long file given out last would run alone at the end while the other worker idles.
# The simulated Colab comes after notebook 11, whose features it then finds in the shared cache.
# (One run with the longest unit-test files moved forward too took 796 s for `make test`, against
# 676-694 s in five runs in this order: beside the training notebooks, their subprocesses ran up
# to twice as slowly.)
LONGEST_FIRST = (
    "notebooks/09_transfer_learning_and_raw_audio.ipynb",
    "notebooks/11_your_own_music.ipynb",
    "tests/test_colab_simulated.py",
    "notebooks/08_cnn_on_spectrograms.ipynb",
    "notebooks/07_lstm_mfcc_sequences.ipynb",
    "notebooks/06_classical_ml_on_features.ipynb",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    # a stable sort: the other files keep their order
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
