"""The public face: a sorted `__all__` whose every name imports and is documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

import anaconda_auth_async

PUBLIC_MODULES = ["anaconda_auth_async", "anaconda_auth_async.sync", "anaconda_auth_async.testing"]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_and_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names == sorted(names), f"{module_name}.__all__ is not sorted"
    assert module.__doc__
    for name in names:
        value = getattr(module, name)
        if name == "__version__":
            assert isinstance(value, str)
            continue
        assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"


def test_dir_lists_every_public_name() -> None:
    assert set(anaconda_auth_async.__all__) <= set(dir(anaconda_auth_async))


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError):
        anaconda_auth_async.does_not_exist  # noqa: B018


def test_version_matches_metadata() -> None:
    from importlib.metadata import version

    assert anaconda_auth_async.__version__ == version("anaconda-auth-async")


@pytest.mark.parametrize("module_name", [*PUBLIC_MODULES, "anaconda_auth_async.panel"])
def test_public_names_report_the_public_module(module_name: str) -> None:
    """As httpx's do: tracebacks, repr and help() show the import path users write."""
    if module_name.endswith(".panel"):
        # Panel is in the unit tests' venv on the coverage Python only (nox -s tests).
        pytest.importorskip("panel")
    module = importlib.import_module(module_name)
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type) or inspect.isfunction(value):
            assert value.__module__ == module_name, f"{module_name}.{name}: {value.__module__}"


def test_a_traceback_names_the_public_path_and_errors_still_pickle() -> None:
    import pickle
    import subprocess
    import sys

    script = (
        # no public name touched first
        "from anaconda_auth_async.foundation import errors as _exceptions\n"
        "raise _exceptions.DiscoveryError('no provider')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stderr.splitlines()[-1] == "anaconda_auth_async.DiscoveryError: no provider"
    error = anaconda_auth_async.LoginTimeoutError("late")
    assert repr(type(error)) == "<class 'anaconda_auth_async.LoginTimeoutError'>"
    assert type(pickle.loads(pickle.dumps(error))) is anaconda_auth_async.LoginTimeoutError


def test_type_checkers_see_the_names_the_table_lists() -> None:
    """`_WHERE` is the one list (``__all__`` is made from it); the TYPE_CHECKING imports
    repeat it for mypy and IDEs, each ``as`` itself so it is re-exported under --strict."""
    import ast
    from pathlib import Path

    source = Path(anaconda_auth_async.__file__).read_text(encoding="utf-8")
    (block,) = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    imported = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        assert node.level == 1, ast.unparse(node)
        for alias in node.names:
            assert alias.asname == alias.name, (
                f"{alias.name}: write 'import {alias.name} as {alias.name}'"
            )
            imported[alias.name] = f".{node.module}"
    assert imported == anaconda_auth_async._WHERE
    assert anaconda_auth_async.__all__ == sorted(["__version__", *imported])
