"""Moved to :mod:`helpers.evaluation` (issue 15); this shim goes when its users do."""
from .evaluation import clip_level, group_train_val_test_split, require_classes, split_summary, vote  # noqa: F401
