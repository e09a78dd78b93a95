"""The machinery behind the course: what serves the notebooks and learners, not what they read.

:mod:`helpers` is what the notebooks import and learners read beside them (audio, data, features, models,
evaluation, plots, checks). This package holds what only the commands need, and imports :mod:`helpers`; the
reverse never happens (``tests/test_layers.py`` checks). Importing it has no side effects.

- :mod:`machinery.data` - ``python -m machinery.data status|fetch``: downloads, mirrors, Kaggle copies, builds
- :mod:`machinery.modelio` - one ``.keras`` file per model, with the metadata prediction needs
- :mod:`machinery.train` - ``python -m machinery.train lstm|cnn|transfer``
- :mod:`machinery.predict` - ``python -m machinery.predict FILE... --model M``
"""
