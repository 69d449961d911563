"""Gates on the package's shape that no behaviour test would notice: the error tree and the simulator's size.

The layering (``lint-imports``), the types (``mypy``) and the complexity (``radon``) gates are CI
commands (``.ci/run``); these are the checks cheap enough to run with the tests.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import fillwatch
from fillwatch.core import errors

PACKAGE = Path(fillwatch.__file__).parent
_DRAWN = re.compile(r"^    (?P<indent>(?:[│ ]   )*)(?:[├└]── )?(?P<name>[A-Za-z_][\w.]*)(?:\s|$)")


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in the package, by its name under ``fillwatch`` (bare in core.errors)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(fillwatch.__path__, "fillwatch."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # running it is what importing it does; it defines no class
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == info.name:
                found[_drawn_name(cls)] = cls
    return found


def _drawn_name(cls: type) -> str:
    if cls.__module__ in (errors.__name__, "builtins"):
        return cls.__qualname__
    return f"{cls.__module__.removeprefix('fillwatch.')}.{cls.__qualname__}"


def _tree() -> dict[str, str]:
    """The classes drawn in core/errors.py's docstring, each with the parent it is drawn under."""
    assert errors.__doc__ is not None
    drawn: dict[str, str] = {}
    parents: list[str] = []
    for line in errors.__doc__.splitlines():
        match = _DRAWN.match(line)
        if match is None:
            continue
        depth = len(match["indent"]) // 4 + (1 if "── " in line else 0)
        del parents[depth:]
        drawn[match["name"]] = parents[-1] if parents else ""
        parents.append(match["name"])
    return drawn


def test_every_exception_class_is_drawn_in_the_error_tree_under_its_parent() -> None:
    """Each exception class in fillwatch/ is in errors.py's tree under its base class, and nothing drawn is gone."""
    classes = _exception_classes()
    tree = _tree()
    drawn = {name for name, parent in tree.items() if parent}  # roots are the bases (Exception, FillwatchError)
    assert sorted(set(classes) - set(tree)) == [], "exception classes missing from the tree in core/errors.py"
    assert sorted(drawn - set(classes)) == [], "classes drawn in core/errors.py that no longer exist"
    wrong = {name: tree[name] for name in drawn if _drawn_name(classes[name].__base__) != tree[name]}
    assert wrong == {}, "classes drawn under a parent that is not their base"


def test_no_simulator_module_is_over_400_lines() -> None:
    """Every module of fillwatch/sim/ stays within the 400-line gate."""
    long = {path.name: n for path in (PACKAGE / "sim").glob("*.py") if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}
