"""Public names report the module users import them from, as httpx's do.

Each private module that defines public names ends with ``publish(globals())``, which sets
``__module__`` of the classes and functions it defines that the public module lists in
``__all__`` (``anaconda_auth_async``, or the public module given, such as
``anaconda_auth_async.sync``). The package namespace is light (PEP 562), so reading its
``__all__`` here imports nothing. Why, and how annotations still resolve:
docs/decisions.md, "Public names report the public module".
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from typing import Any

__all__ = ["publish"]


def publish(namespace: dict[str, Any], *, module: str = "anaconda_auth_async") -> None:
    """Make each class and function of `namespace` that `module` exports report `module`.

    Names defined in `namespace`'s own module, or (when `namespace` is the public module's)
    defined in any private module of the package.
    """
    public = set(importlib.import_module(module).__all__)
    here = namespace["__name__"]
    for name, value in namespace.items():
        if name not in public or (not isinstance(value, type) and not callable(value)):
            continue
        where = getattr(value, "__module__", None)
        if where == here or (here == module and _private(where)):
            if isinstance(value, type):
                _resolve_annotations(value)
            value.__module__ = module


def _resolve_annotations(cls: type) -> None:
    """Resolve `cls`'s own string annotations in its defining module, while `__module__`
    still names it: `typing.get_type_hints` looks names up in the module `__module__`
    names, and the package namespace does not hold the private modules' names."""
    own = inspect.get_annotations(cls)
    if not own:
        return
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # a name imported only for type checkers: leave them as written
        return
    cls.__annotations__ = {name: hints.get(name, hint) for name, hint in own.items()}
    if dataclasses.is_dataclass(cls):  # pydantic and others read the fields' types
        for field in dataclasses.fields(cls):
            field.type = hints.get(field.name, field.type)


_FACES = frozenset(
    f"anaconda_auth_async.{face}" for face in ("cli", "panel", "pytest_plugin", "sync", "testing")
)


def _private(where: object) -> bool:
    """Whether `where` is one of the package's modules other than its public faces."""
    return (
        isinstance(where, str) and where.startswith("anaconda_auth_async.") and where not in _FACES
    )
