"""A run's hyperparameters from the files beside its log, never by running them.

In order of preference: ``hparams.json`` (written by ``training/``, complete), a YAML
config (``*.yaml``/``*.yml``; one named like ``config``/``hparams`` first), a
``config.py`` -- read with ``ast`` and ``ast.literal_eval`` only, never executed or
imported, so the model zoo's ``config = ed({...})`` EasyDict literal works and a
malicious config cannot run code -- else what the log printed.  Nested mappings are
flattened to dotted keys (``optimizer.lr``) so each hyperparameter is one column.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable
from typing import Any

__all__ = ["flatten", "hparams_from_config_py", "read_hparams"]

_PREFERRED = ("config", "cfg", "hparams", "args", "params")
_DICT_CALLS = {"ed", "EasyDict", "edict", "dict", "Config", "ConfigDict", "AttrDict"}


def read_hparams(
    names: list[str], read: Callable[[str], bytes], *, printed: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """(hyperparameters, where they came from) from the config file names of one run folder."""
    readers = [("hparams.json", _json)]
    yamls = sorted((n for n in names if n.lower().endswith((".yaml", ".yml"))), key=_yaml_rank)
    readers += [(n, _yaml) for n in yamls]
    readers += [("config.py", hparams_from_config_py)]
    for name, parse in readers:
        if name not in names:
            continue
        try:
            found = parse(read(name).decode("utf-8", "replace"))
        except Exception:  # an unreadable config is skipped, never fatal: the log may still say
            continue
        if found:
            return flatten(found), name
    return flatten(printed or {}), "log" if printed else ""


def _yaml_rank(name: str) -> tuple[int, str]:
    lower = name.lower()
    return (0 if any(word in lower for word in _PREFERRED) else 1, lower)


def _json(text: str) -> dict[str, Any]:
    data = json.loads(text)
    return data if isinstance(data, dict) else {}


def _yaml(text: str) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        return {}
    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def hparams_from_config_py(text: str) -> dict[str, Any]:
    """Literal assignments of a Python config file, found with ``ast`` (nothing is executed).

    ``config = ed({...})`` / ``cfg = dict(...)`` / ``config = {...}``: the one named like
    ``config`` wins, else the first such mapping; without any, the module's top-level
    ``NAME = literal`` assignments.  Values that are not literals are left out.
    """
    tree = ast.parse(text)
    mappings: list[tuple[str, dict[str, Any]]] = []
    scalars: dict[str, Any] = {}
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names:
            continue
        mapping = _mapping(node.value)
        if mapping is not None:
            mappings.extend((name, mapping) for name in names)
        else:
            value = _literal(node.value)
            if value is not _SKIP:
                scalars.update({name: value for name in names if not name.startswith("_")})
    for preferred in _PREFERRED:
        for name, mapping in mappings:
            if name.lower() == preferred:
                return mapping
    return mappings[0][1] if mappings else scalars


_SKIP = object()


def _mapping(node: ast.AST) -> dict[str, Any] | None:
    """A dict literal, or ``ed({...})``/``dict(a=1)`` style calls, with literal values kept."""
    if isinstance(node, ast.Dict):
        out = {}
        for key, value in zip(node.keys, node.values):
            k = _literal(key) if key is not None else _SKIP
            if k is _SKIP or not isinstance(k, (str, int, float, bool)):
                continue
            nested = _mapping(value)
            v = nested if nested is not None else _literal(value)
            if v is not _SKIP:
                out[str(k)] = v
        return out
    if isinstance(node, ast.Call) and _call_name(node.func) in _DICT_CALLS:
        out = {}
        if node.args:
            first = _mapping(node.args[0])
            if first is None:
                return None
            out.update(first)
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            nested = _mapping(keyword.value)
            value = nested if nested is not None else _literal(keyword.value)
            if value is not _SKIP:
                out[keyword.arg] = value
        return out
    return None


def _call_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _SKIP


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; values made JSON-able (tuples as lists, inf as text)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
