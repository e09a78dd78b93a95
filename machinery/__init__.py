"""The machinery behind the course: what serves the notebooks and learners, not what they read.

:mod:`helpers` is what the notebooks import and learners read beside them (audio, data, features, models,
evaluation, plots, checks). This package holds what only the commands need, and imports :mod:`helpers`; the
reverse never happens (``tests/test_layers.py`` checks). Importing it has no side effects.

- :mod:`machinery.data` - ``python -m machinery.data status|fetch``: downloads, mirrors, Kaggle copies, builds
- :mod:`machinery.clips` - the record of the CI subset's clips, and the check of a copy against it
- :mod:`machinery.modelio` - one ``.keras`` file per model, with the metadata prediction needs
- :mod:`machinery.train` - ``python -m machinery.train lstm|cnn|transfer``
- :mod:`machinery.predict` - ``python -m machinery.predict FILE... --model M``

Here: :func:`on_interrupt`, the commands' one line for Ctrl-C.
"""
from __future__ import annotations

__all__ = ["on_interrupt"]


def on_interrupt(message: str | None) -> None:
    """Ctrl-C in a command line: with ``message`` (call it before the heavy imports), that one line on standard
    error and exit status 130 at once; with None, Python's ``KeyboardInterrupt`` again, for the command to clean up.

    Examples
    --------
    >>> on_interrupt(None)
    """
    import os
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():  # where signal handlers live
        stderr = os.dup(2) if message else -1  # the real one, even while import_tensorflow hides fd 2
        signal.signal(signal.SIGINT, signal.default_int_handler if message is None else (
            lambda signum, frame: (os.write(stderr, f"{message}\n".encode()), os._exit(130))))
