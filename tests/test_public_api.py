"""The public surface: each module's ``__all__`` and the top-level re-exports."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import osv_idioms


def _public_modules() -> list[ModuleType]:
    names = [
        m.name for m in pkgutil.iter_modules(osv_idioms.__path__) if not m.name.startswith("_")
    ]
    return [importlib.import_module(f"osv_idioms.{name}") for name in sorted(names)]


def _defined_here(module: ModuleType) -> set[str]:
    """Public classes and functions whose home is ``module`` or its private submodules."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and (
            value.__module__ == module.__name__
            or value.__module__.startswith(f"{module.__name__}._")
        )
    }


PUBLIC_MODULES = _public_modules()


def test_every_idiom_module_is_found() -> None:
    """The walk over the package finds the modules the docs promise."""
    assert {"errors", "trace"} <= {m.__name__.rpartition(".")[2] for m in PUBLIC_MODULES}


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
class TestModuleSurface:
    def test_all_is_a_tuple(self, module: ModuleType) -> None:
        """``__all__`` is a tuple, so nobody appends to it at run time."""
        assert isinstance(module.__all__, tuple)

    def test_all_matches_what_the_module_defines(self, module: ModuleType) -> None:
        """Every class and function defined in the module is listed, and nothing else."""
        listed = set(module.__all__)
        assert len(listed) == len(module.__all__), "duplicate names in __all__"
        assert _defined_here(module) <= listed
        assert all(hasattr(module, name) for name in listed)

    def test_every_public_name_has_a_docstring(self, module: ModuleType) -> None:
        """Each public callable or class says what it is for."""
        undocumented = [
            name
            for name in module.__all__
            if (inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name)))
            and not inspect.getdoc(getattr(module, name))
        ]
        assert undocumented == []

    def test_classes_are_re_exported_at_the_top(self, module: ModuleType) -> None:
        """Types live at ``osv_idioms.X`` as well; verbs stay in their module."""
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                assert getattr(osv_idioms, name, None) is value, name
                assert name in osv_idioms.__all__


def test_top_level_all_resolves_to_module_objects() -> None:
    """Each top-level name is the very object its module exports."""
    assert isinstance(osv_idioms.__all__, tuple)
    homes = {name: getattr(m, name) for m in PUBLIC_MODULES for name in m.__all__}
    for name in osv_idioms.__all__:
        if name == "__version__":
            continue
        assert getattr(osv_idioms, name) is homes[name], name


def test_version_is_a_release_string() -> None:
    """``__version__`` is a plain dotted release string."""
    parts = osv_idioms.__version__.split(".")
    assert len(parts) == 3
    assert all(part.isdigit() for part in parts)


def _parameters(fn: object) -> list[str]:
    try:
        signature = inspect.signature(fn)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
    return [name for name in signature.parameters if name not in ("self", "cls")]


def _documented_callables() -> list[tuple[str, object, bool]]:
    """Every public function and class, and their public methods: (name, object, is a method)."""
    found: list[tuple[str, object, bool]] = []
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if name.startswith(("_", "trace_mutex_", "trace_rcu_")):
                continue  # the placeholders _1.._9; the library's own tracepoints
            qualified = f"{module.__name__}.{name}"
            if inspect.isclass(value):
                if issubclass(value, BaseException):
                    continue  # exceptions take what Exception takes
                found.append((qualified, value, False))
                for attribute, member in vars(value).items():
                    if attribute.startswith("_"):
                        continue
                    function = (
                        member.__func__
                        if isinstance(member, classmethod | staticmethod)
                        else member
                    )
                    if inspect.isfunction(function):
                        found.append((f"{qualified}.{attribute}", function, True))
            elif inspect.isfunction(value):
                found.append((qualified, value, False))
    return found


DOCUMENTED = _documented_callables()


@pytest.mark.parametrize(("name", "value", "is_method"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_every_public_callable_has_a_google_docstring(
    name: str, value: object, is_method: bool
) -> None:
    """Functions and classes have an example Sybil runs; whatever takes parameters, ``Args:``.

    A class's parameters are its constructor's, documented in the class's
    docstring or its ``__init__``'s; a record's fields, under ``Attributes:``.
    A protocol has no constructor of its own.
    """
    doc = inspect.getdoc(value) or ""
    is_protocol = inspect.isclass(value) and getattr(value, "_is_protocol", False)
    takes = [] if is_protocol else _parameters(value)
    if inspect.isclass(value) and "__init__" in vars(value):
        doc += "\n" + (inspect.getdoc(vars(value)["__init__"]) or "")
    elif inspect.isclass(value) and not is_protocol:
        takes = _parameters(value)
    assert doc.strip(), f"{name} has no docstring"
    if not is_method:
        assert ">>>" in doc, f"{name} has no example"
    if takes:
        assert "Args:" in doc or "Attributes:" in doc, f"{name} takes {takes}: no Args section"


def test_the_api_page_lists_every_public_name() -> None:
    """``docs/api.md`` has a row for each name of each module it covers, and a section per module."""
    page = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    for module in PUBLIC_MODULES:
        if module.__name__ in ("osv_idioms.faces", "osv_idioms.forks", "osv_idioms.generated"):
            continue  # the library's own machinery: documented in docs/design.md
        assert f"::: {module.__name__}\n" in page, module.__name__
        for name in module.__all__:
            row = "_1 ... _9" if name.startswith("_") and name[1:].isdigit() else name
            assert f"| `{row}` |" in page, f"{module.__name__}.{name}"


@pytest.mark.parametrize(("name", "value", "is_method"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_public_objects_name_the_module_users_import_them_from(
    name: str, value: object, is_method: bool
) -> None:
    """``osv_idioms.signals.Signal``, not ``osv_idioms.signals._signal.Signal``."""
    module = getattr(value, "__module__", "")
    assert "._" not in module, f"{name} reports {module}"


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    """The lazy top level answers for its own names only, as a module would."""
    with pytest.raises(AttributeError) as missing:
        _ = osv_idioms.NoSuchThing
    assert str(missing.value) == "module 'osv_idioms' has no attribute 'NoSuchThing'"
    assert "Mutex" in dir(osv_idioms)
