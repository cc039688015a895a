"""The house plan: imports between the library's packages point down, and only at faces.

Read from the source with ``ast``, so a new import that breaks the layering
fails here, whatever it does at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "osv_idioms"

# Lower numbers are lower layers; a module may import its own package or a lower one.
RANK = {
    "errors": 0,
    "checks": 0,
    "forks": 1,
    "environment": 1,
    "interrupts": 2,
    "generated": 2,  # its serial's lock is freed in a forked child
    "faces": 1,
    "trace": 3,
    "callbacks": 3,
    "locking": 4,
    "signals": 4,
    "rcu": 5,
    "refcount": 6,
    "telemetry": 7,  # an exporter of the trace package's counts; nothing below needs it
    "_pytest_plugin": 9,
    "_cli": 9,
    "__main__": 10,
    "__init__": 10,
}


def _home(path: Path) -> str:
    """The package (or bottom module) a source file belongs to."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> list[tuple[str, ...]]:
    """Each library import of ``path``, as the path of names below ``osv_idioms``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = list(path.relative_to(PACKAGE).with_suffix("").parts)
    package = here[:-1]  # the package this module is in, below osv_idioms
    found: list[tuple[str, ...]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not node.module:  # "from . import x": x is a module of base
                    found += [(*base, alias.name) for alias in node.names]
                    continue
                found.append(tuple(target))
            elif node.module and node.module.startswith("osv_idioms"):
                found.append(tuple(node.module.split(".")[1:]))
        elif isinstance(node, ast.Import):
            found += [
                tuple(a.name.split(".")[1:]) for a in node.names if a.name.startswith("osv_idioms.")
            ]
    return [_named(target) for target in found if target]


def _named(target: tuple[str, ...]) -> tuple[str, ...]:
    """A name imported from the package root itself (``__version__``) is the root's."""
    if (PACKAGE / target[0]).is_dir() or (PACKAGE / f"{target[0]}.py").is_file():
        return target
    return ("__init__",)


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    """A new package or bottom module is given its place in the plan."""
    assert {_home(path) for path in SOURCES} <= set(RANK)


def test_imports_point_down() -> None:
    """No module imports a package above its own."""
    upward = [
        f"{path.relative_to(PACKAGE)} imports {'.'.join(target)}"
        for path in SOURCES
        for target in _imports(path)
        if (home := _home(path)) != target[0]
        and target != ("__init__",)  # the version, which lives at the root, for anyone
        and RANK[target[0]] >= RANK[home]
    ]
    assert upward == []


def test_no_private_module_is_imported_across_packages() -> None:
    """Between packages, only a face (``__init__``) or a module without an underscore."""
    private = [
        f"{path.relative_to(PACKAGE)} imports {'.'.join(target)}"
        for path in SOURCES
        for target in _imports(path)
        if _home(path) != target[0] and any(part.startswith("_") for part in target[1:])
    ]
    assert private == []
