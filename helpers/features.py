"""The 57-feature GTZAN table and its extraction (being consolidated here, issue 15)."""
from .extract import *  # noqa: F401,F403
from .extract import extract_features, function_name  # noqa: F401
from .gtzan_features import *  # noqa: F401,F403
from .gtzan_features import FEATURE_COLUMNS, gtzan_feature_vector  # noqa: F401
