"""Optional dependencies, imported on first use so their absence is a clear, typed error.

``import training``, config loading and data validation must work on the core install;
MindSpore (training), PyYAML (config files), scikit-learn and Pillow (the digits set)
come with the ``training`` extra. A user without one reads what to install instead of an
ImportError traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from training.errors import MissingDependencyError

__all__ = ["INSTALL_HINT", "require", "require_mindspore"]

INSTALL_HINT = "pip install epochscope[training]"


def require(module: str, *, purpose: str, package: str) -> ModuleType:
    """Import ``module``, or raise MissingDependencyError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs {package}, which is not installed ({exc}); run: {INSTALL_HINT}"
        ) from exc


def require_mindspore() -> ModuleType:
    return require("mindspore", purpose="training", package="MindSpore")
