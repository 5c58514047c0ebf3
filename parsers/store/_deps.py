"""The store's optional weight (DuckDB, Dask, fsspec) is imported only when used.

``import parsers`` stays light; a missing package is an error that says what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from parsers.errors import LogError

__all__ = ["MissingDependencyError", "require"]

INSTALL_HINT = "pip install 'epochscope[store]'"


class MissingDependencyError(LogError, ImportError):
    """An optional package the run store needs is not installed."""


def require(module: str) -> ModuleType:
    """``importlib.import_module(module)``, or an error naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise MissingDependencyError(f"the run store needs {top} ({exc}): {INSTALL_HINT}") from None
