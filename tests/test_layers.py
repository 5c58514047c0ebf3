"""The shape of the code, read from its source: layers, private names, format names, table names.

Layers, lowest first (DEVELOPERS.md draws them); a module imports from its own layer or lower
ones, never higher -- imports inside functions and under ``TYPE_CHECKING`` count too:

    0 training     writes logs; imports nothing of parsers or dashboard
    1 tables       parsers: log text -> tables (scan, formats, engine, parse, events, summary, schema)
    2 meaning      parsers.insights: direction, rules, cost, run information, alert checks (pure)
    3 store        parsers.store: Parquet per log, DuckDB across runs, ingest
    4 runs         parsers.runs, parsers.compare, parsers.insights.alerts, parsers.watch
    5 charts       dashboard's pure DataFrame -> Figure builders and the series they draw
    6 front ends   dashboard's report and Streamlit app
    7 cli          parsers.cli, on top of everything
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers import FORMATS
from parsers.schema import LOG_TABLES

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("parsers", "dashboard", "training")

# Module prefix -> layer; the longest prefix naming a module wins.
LAYERS = {
    "training": 0,
    "parsers": 1,
    "parsers.insights": 2,
    "parsers.store": 3,
    "parsers.runs": 4,
    "parsers.compare": 4,
    "parsers.insights.alerts": 4,
    "parsers.watch": 4,
    "dashboard": 6,
    "dashboard.charts": 5,
    "dashboard.curves": 5,
    "dashboard.figures": 5,
    "dashboard.series": 5,
    "dashboard.analysis": 5,
    "dashboard.names": 5,
    "dashboard.__init__": 5,
    "parsers.cli": 7,
}
LAYER_NAMES = ["training", "tables", "meaning", "store", "runs", "charts", "front ends", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}


def layer(module: str) -> int:
    """The layer of ``module``: its longest prefix in ``LAYERS`` (a package's own ``__init__`` by name)."""
    keys = [module + ".__init__"] if module in {"dashboard"} else []
    parts = module.split(".")
    keys += [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return next(LAYERS[k] for k in keys if k in LAYERS)


def imports(module: str) -> Iterator[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) of every import of a project module."""
    tree = ast.parse(SOURCES[module].read_text(encoding="utf-8"))
    package = module if SOURCES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (node.lineno, sub, None) if is_module(sub) else (node.lineno, base, alias.name)


def is_module(name: str) -> bool:
    """A module of the project: Python source, or compiled (``parsers._scan``, built from ``.pyx``)."""
    *folder, stem = name.split(".")
    return (
        name in SOURCES
        or any(REPO.joinpath(*folder).glob(f"{stem}.*.so"))
        or (REPO.joinpath(*folder, f"{stem}.pyx").is_file())
    )


def private_attributes(module: str) -> Iterator[tuple[int, str]]:
    """``alias._name`` where ``alias`` is a project module imported into ``module``."""
    tree = ast.parse(SOURCES[module].read_text(encoding="utf-8"))
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {
                a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in PACKAGES
            }
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            aliases |= {a.asname or a.name for a in node.names if is_module(f"{node.module}.{a.name}")}
    for node in ast.walk(tree):
        named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if named and node.value.id in aliases and _private(node.attr):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_layers_cover_every_module():
    assert set(LAYERS.values()) == set(range(len(LAYER_NAMES)))
    assert {m.split(".")[0] for m in SOURCES} == set(PACKAGES)


def test_no_module_imports_a_private_name_of_another_module():
    found = []
    for module in SOURCES:
        package = module if SOURCES[module].name == "__init__.py" else module.rpartition(".")[0]
        for line, target, name in imports(module):
            if name is not None and _private(name):
                found.append(f"{module}:{line} imports {name} from {target}")
            elif (
                name is None and _private(target.rpartition(".")[2]) and target.rpartition(".")[0] != package
            ):
                found.append(f"{module}:{line} imports the private module {target} of another package")
        found += [f"{module}:{line} uses {attr}" for line, attr in private_attributes(module)]
    assert not found, "\n".join(found)


def test_lower_layers_never_import_higher_ones():
    found = []
    for module in SOURCES:
        mine = layer(module)
        for line, target, _ in imports(module):
            if layer(target) > mine:
                found.append(
                    f"{module}:{line} ({LAYER_NAMES[mine]}) imports {target} ({LAYER_NAMES[layer(target)]})"
                )
    assert not found, "\n".join(found)


def _compared_strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """String constants compared with ``==``/``!=``/``in``/``not in`` (or listed on the right of ``in``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for side in [node.left, *node.comparators]:
            items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            for item in items:
                if isinstance(item, ast.Constant) and isinstance(item.value, str):
                    yield node.lineno, item.value


@pytest.mark.parametrize("package", ["parsers", "dashboard"])
def test_no_code_tests_a_format_name(package):
    """What is special about a format is an attribute of its ``LogFormat``, never a name test."""
    names = set(FORMATS)
    found = [
        f"{module}:{line} compares with the format name {text!r}"
        for module, path in SOURCES.items()
        if module.split(".")[0] == package and not module.startswith("parsers.formats")
        for line, text in _compared_strings(ast.parse(path.read_text(encoding="utf-8")))
        if text in names
    ]
    assert not found, "\n".join(found)


def test_table_names_are_listed_only_in_the_schema():
    """A literal listing every table outside ``parsers.schema`` is a second definition of the
    tables: one added to the schema would be missing there.  (A check naming the two tables it
    reads is not a list of the tables.)"""
    found = []
    for module, path in SOURCES.items():
        if module == "parsers.schema":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                named = {
                    e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
                if set(LOG_TABLES) <= named:
                    found.append(f"{module}:{node.lineno} lists the tables {sorted(named)}")
    assert not found, "\n".join(found)
