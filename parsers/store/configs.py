"""A run's hyperparameters from the files beside its log, never by running them.

In order of preference: ``hparams.json`` (written by ``training/``, complete), a YAML
config (``*.yaml``/``*.yml``; one named like ``config``/``hparams`` first), a
``config.py`` -- read with ``ast`` and ``ast.literal_eval`` only, never executed or
imported, so the model zoo's ``config = ed({...})`` EasyDict literal works and a
malicious config cannot run code -- else what the log printed.  Nested mappings are
flattened to dotted keys (``optimizer.lr``) so each hyperparameter is one column.

Whoever can write into a runs folder can put a config there, and it is read again on
every refresh that rebuilds the run's row, so each file is read in bounded time and
memory: a 289-byte YAML alias bomb once cost 3.1 GB and 20 s per refresh.  A file over
a cap below, or one that does not parse, is not read; the run's source then says so
(``log; config.yaml not read: ... over the alias cap``) and the next file is tried.
"""

from __future__ import annotations

import ast
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_KEYS",
    "MAX_VALUES",
    "NOT_READ",
    "ConfigCapError",
    "flatten",
    "hparams_from_config_py",
    "read_hparams",
]

# A training config is kilobytes, a few levels deep, hundreds of keys at most (training/'s own
# is 891 bytes); the caps leave ample room for that and refuse what no config needs.
CONFIG_BYTES = 1_000_000  # file size, checked on the size discovery recorded and on the bytes read
MAX_DEPTH = 32  # levels of mappings/lists, YAML aliases expanded (PyYAML's composer recurses per level)
MAX_VALUES = 20_000  # keys, items and scalars, YAML aliases expanded: bounds PyYAML to ~1 s
MAX_KEYS = 2_000  # dotted keys after flattening: each one is a column of the hyperparameters table

_PREFERRED = ("config", "cfg", "hparams", "args", "params")
_DICT_CALLS = {"ed", "EasyDict", "edict", "dict", "Config", "ConfigDict", "AttrDict"}


class ConfigCapError(ValueError):
    """A config file that is not read: which cap it broke, or why it does not parse (safe to show)."""


# Between a file's name and the reason in the source: "log; config.yaml not read: ...".
NOT_READ = " not read: "
_NESTING = f"nested deeper than the nesting cap of {MAX_DEPTH} levels"
_VALUES = f"more than {MAX_VALUES:,} values, over the value cap"
_ALIASES = f"its YAML aliases expand to more than {MAX_VALUES:,} values, over the alias cap"
_RECURSIVE = "a YAML alias refers to itself (recursive aliases are refused)"


def read_hparams(
    configs: Mapping[str, tuple[int, int]] | Iterable[str],
    read: Callable[[str], bytes],
    *,
    printed: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """(hyperparameters, where they came from) from the config files of one run folder.

    ``configs`` names the files, mapped to ``(size, mtime_ns)`` as discovery found them when
    known (a file whose recorded size is over the cap is then never read).  The source is the
    file used, ``log`` (what the log printed) or ``''``, then ``; NAME not read: REASON`` for
    each file refused on the way -- never a crash, never a silent skip.
    """
    sizes = {name: stat[0] for name, stat in configs.items()} if isinstance(configs, Mapping) else {}
    names = list(configs)
    readers = [("hparams.json", _json)]
    yamls = sorted((n for n in names if n.lower().endswith((".yaml", ".yml"))), key=_yaml_rank)
    readers += [(n, _yaml) for n in yamls]
    readers += [("config.py", _python)]
    notes: list[str] = []
    for name, parse in readers:
        if name not in names:
            continue
        try:
            found = _read_one(name, parse, read, size=sizes.get(name))
        except ConfigCapError as exc:
            notes.append(f"{name}{NOT_READ}{exc}")
            continue
        if found:
            return found, "; ".join([name, *notes])
    try:
        values = _checked(printed or {})
    except ConfigCapError as exc:
        values, notes = {}, [*notes, f"log{NOT_READ}{exc}"]
    return values, "; ".join(["log"] * bool(values) + notes)


def _read_one(
    name: str, parse: Callable[[str], dict[str, Any]], read: Callable[[str], bytes], *, size: int | None
) -> dict[str, Any]:
    """One file's flattened hyperparameters, or ``ConfigCapError`` saying why not."""
    if size is not None and size > CONFIG_BYTES:
        raise ConfigCapError(_over_size(size))
    try:
        data = read(name)
    except Exception as exc:  # local or remote (fsspec/pyarrow raise their own types): never fatal
        raise ConfigCapError(f"unreadable: {type(exc).__name__}: {exc}") from None
    if len(data) > CONFIG_BYTES:  # it grew since discovery
        raise ConfigCapError(_over_size(len(data)))
    # JSON is UTF-8 by definition (RFC 8259); YAML and config.py from model zoos carry GBK comments.
    try:
        text = data.decode("utf-8", "strict" if parse is _json else "replace")
    except UnicodeDecodeError as exc:
        raise ConfigCapError(f"not UTF-8 text (byte {exc.start})") from None
    return _checked(parse(text))


def _over_size(size: int) -> str:
    return f"{size:,} bytes, over the size cap of {CONFIG_BYTES:,} bytes"


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` flattened, once its nesting, size and key count are known to be within the caps."""
    _measure(values)
    flat = flatten(values)
    if len(flat) > MAX_KEYS:
        raise ConfigCapError(f"{len(flat):,} keys, over the key cap of {MAX_KEYS:,}")
    return flat


def _measure(values: Any) -> None:
    """Walk mappings and lists without recursion; ``ConfigCapError`` past ``MAX_DEPTH``/``MAX_VALUES``."""
    count, stack = 0, [(values, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigCapError(_VALUES)
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, (list, tuple, set, frozenset)):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise ConfigCapError(_NESTING)
        stack.extend((child, depth + 1) for child in children)


def _yaml_rank(name: str) -> tuple[int, str]:
    lower = name.lower()
    return (0 if any(word in lower for word in _PREFERRED) else 1, lower)


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigCapError(f"invalid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:  # the C decoder recurses per level
        raise ConfigCapError(_NESTING) from None
    if not isinstance(data, dict):
        raise ConfigCapError(f"a JSON {type(data).__name__}, not an object of hyperparameters")
    return data


def _python(text: str) -> dict[str, Any]:
    try:
        return hparams_from_config_py(text)
    except SyntaxError as exc:
        raise ConfigCapError(f"invalid Python: {exc.msg} (line {exc.lineno})") from None
    except (RecursionError, MemoryError):  # ast recurses per level of nesting
        raise ConfigCapError(_NESTING) from None


def _yaml(text: str) -> dict[str, Any]:
    """A YAML mapping, composed with the nesting cap, its aliases checked before it is constructed.

    PyYAML keeps an alias as a reference to the anchored node, so composing is linear in the
    text; constructing copies merged pairs (``<<: [*a, *a]``) and flattening expands every
    reference, which is where a bomb explodes.  So the composed node graph is measured first.
    """
    loader_class = _loader_class()
    if loader_class is None:
        raise ConfigCapError("PyYAML is not installed (pip install pyyaml)")
    import yaml

    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_graph(node, aliases=loader.aliases)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigCapError(f"invalid YAML: {_yaml_problem(exc)}") from None
    finally:
        loader.dispose()
    return data if isinstance(data, dict) else {}


@functools.cache
def _loader_class() -> type | None:
    """PyYAML's safe loader (pure Python, so composing can be capped), counting nodes and aliases."""
    try:
        import yaml
        from yaml.events import AliasEvent
    except ImportError:
        return None

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.depth, self.nodes, self.aliases = 0, 0, 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                self.aliases += 1
                return super().compose_node(parent, index)
            self.depth += 1
            self.nodes += 1
            try:
                if self.depth > MAX_DEPTH + 1:  # + 1: a scalar inside MAX_DEPTH collections
                    raise ConfigCapError(_NESTING)
                if self.nodes > MAX_VALUES:  # stop composing a long file early, not after it
                    raise ConfigCapError(_VALUES)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


def _check_graph(root: Any, *, aliases: int) -> None:
    """Size and depth of the document as if every alias were expanded, computed once per node
    (so in time linear in the text); ``ConfigCapError`` past the caps or on a cycle."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, closing = stack.pop()
        key, kids = id(node), _children(node)
        if closing:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(kid)] for kid in kids)
            depth[key] = 1 + max((depth[id(kid)] for kid in kids), default=0)
            if size[key] > MAX_VALUES:
                raise ConfigCapError(_ALIASES if aliases else _VALUES)
            if depth[key] > MAX_DEPTH + 1:
                raise ConfigCapError(_NESTING)
        elif key not in size:
            if key in open_nodes:
                raise ConfigCapError(_RECURSIVE)
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)


def _children(node: Any) -> list[Any]:
    """A composed node's children: items of a sequence, keys and values of a mapping."""
    if not isinstance(node.value, list):  # a scalar
        return []
    return [part for item in node.value for part in (item if isinstance(item, tuple) else (item,))]


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1})"
    return (str(exc).splitlines() or [type(exc).__name__])[0]


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
