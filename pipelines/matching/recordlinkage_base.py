"""recordlinkage and the base classes the engine's index, comparisons and classifier extend.

recordlinkage's package imports scikit-learn's clustering, linear and SVM models for classifiers
leadroute does not use, and scikit-learn imports scipy.stats for a helper it calls at run time:
half a second of CPU in every tick that matches a lead. They are deferred
(:mod:`pipelines.deferred_imports`) before recordlinkage is imported, so the engine imports it from
here.
"""

from pipelines.deferred_imports import before_importing

before_importing("recordlinkage")

import recordlinkage  # noqa: E402
from recordlinkage.base import BaseClassifier, BaseCompareFeature, BaseIndexAlgorithm  # noqa: E402

__all__ = ["BaseClassifier", "BaseCompareFeature", "BaseIndexAlgorithm", "recordlinkage"]
