"""Modules that libraries import and leadroute never uses, loaded only if something uses them.

Great Expectations and recordlinkage are most of what a tick with a few new leads costs in CPU,
and much of that is import time spent on modules no leadroute code path runs:

- ``scipy.stats`` (1.0-1.5 s): GX registers its distribution expectations (KL divergence,
  Kolmogorov-Smirnov) at import, scikit-learn imports it for a helper it calls at run time;
  no leadroute suite or matching step uses either.
- ``altair`` (0.3 s): GX's charts for its data docs; leadroute's own reports import it themselves.
- ``jsonschema`` (0.15 s): GX's JSON-schema expectation, which no leadroute suite uses.
- ``sklearn.cluster``, ``sklearn.linear_model``, ``sklearn.svm``: recordlinkage's KMeans,
  logistic-regression and SVM classifiers, imported by ``recordlinkage/__init__``; leadroute's
  classifier is its own Fellegi-Sunter model. With scipy.stats, recordlinkage's import goes from
  1.0 to 0.5 s of CPU.

Each is put in ``sys.modules`` as a module whose code has not run yet. Its ``__spec__``, ``__path__``
and ``__file__`` are there, so importing it, by name (``import scipy.stats``, as scikit-learn does)
or from its package (``from scipy import stats``), finds it without running it; the first read of
any other attribute runs its code, once, and from then on it is the ordinary module. The standard
library's :class:`importlib.util.LazyLoader` is not enough: the import system reads ``__spec__`` of
a module it finds in ``sys.modules``, and LazyLoader loads on that read, so a second ``import`` by
name loaded it at once. A module of a deferred package imported directly (``sklearn.linear_model``
imports ``sklearn.svm._base``) runs its package's code first, as any import does, and runs once.

Like LazyLoader, this takes no lock: two threads touching a deferred module first at the same moment
could see it half loaded. The tick runs its stages on one thread (the in-process executor), and so
does the CLI.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

# The library about to be imported: the modules it imports that leadroute never uses.
UNUSED: dict[str, tuple[str, ...]] = {
    "great_expectations": ("scipy.stats", "altair", "jsonschema"),
    "recordlinkage": ("scipy.stats", "sklearn.cluster", "sklearn.linear_model", "sklearn.svm"),
}


class _NotYetRun(types.ModuleType):
    """A module whose code runs the first time an attribute it has not set is read."""

    def __getattr__(self, attr: str):
        # Python calls this only for attributes the module does not have: before its code has run,
        # everything but the import system's own (__spec__, __path__, __file__, __loader__, ...).
        _run(self)
        return getattr(self, attr)


def _run(module: types.ModuleType) -> None:
    module.__class__ = types.ModuleType  # from here on an ordinary module, also while its code runs
    try:
        module.__spec__.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module.__name__, None)  # as a failed import leaves it: the next import tries again
        raise


class _PackageFirst:
    """Imports a module of a deferred package the way Python imports any module of a package: the
    package's code first (``sklearn.linear_model`` imports ``sklearn.svm._base`` while ``sklearn.svm``
    has not run; ``_base`` imports from its package). First on ``sys.meta_path``; it finds nothing
    itself, but a module the package's code has just imported, which it hands back as it is (the
    import system, having looked in ``sys.modules`` before, would otherwise run that module twice)."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        package = sys.modules.get(name.rpartition(".")[0])
        if target is not None or not isinstance(package, _NotYetRun):  # target: a reload
            return None
        _run(package)
        module = sys.modules.get(name)
        if module is None:
            return None  # not imported by its package: found on its path as usual
        loader = _Imported(module)
        # The import system, finding the module in sys.modules now, takes the module's own spec in
        # place of the one returned, and would run it again with its loader: it finds this one.
        module.__spec__ = importlib.util.spec_from_loader(name, loader)
        return module.__spec__


class _Imported:
    """The loader of a module that is imported already: it is the module, and nothing runs again."""

    def __init__(self, module: types.ModuleType):
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import system set the spec found here: put its own back


def defer(name: str) -> bool:
    """Put ``name`` in ``sys.modules`` not yet run; False if it is imported already or not installed.

    Its package is imported first, as any import of ``name`` would, so that it can be set as the
    package's attribute (``scipy.stats``) the way the import system does."""
    parent, _, child = name.rpartition(".")
    try:
        package = importlib.import_module(parent) if parent else None
        spec = None if name in sys.modules else importlib.util.find_spec(name)
    except ImportError:  # not installed: the library's own import will say so
        return False
    if spec is None or spec.loader is None:
        return False
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _NotYetRun
    if _PackageFirst not in sys.meta_path:
        sys.meta_path.insert(0, _PackageFirst)
    sys.modules[name] = module
    if package is not None:
        setattr(package, child, module)
    return True


def before_importing(library: str) -> None:
    """Defer what ``library`` imports and leadroute never uses (:data:`UNUSED`)."""
    for name in UNUSED[library]:
        defer(name)
