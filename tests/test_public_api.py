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
