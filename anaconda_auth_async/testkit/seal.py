"""The test kit's seal: while a `testing` helper or fixture is active, the SDK cannot reach
the developer's real ``~/.anaconda``.

`sealed` sets, in the environment, ``ANACONDA_AUTH_KEYRING_PATH`` and
``ANACONDA_CONFIG_TOML`` to a temporary directory of its own,
``ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE=anaconda-keyring`` and
``ANACONDA_AUTH_EPHEMERAL_PORT=true``. The first `sealed` block makes the directory and the
last one to end removes it and restores the variables. Why these four, and why the
environment: docs/decisions.md, "The test kit seals through the environment".
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["sealed", "with_environment"]

_lock = threading.Lock()
_depth = 0
_directory: Path | None = None
_saved: dict[str, str | None] = {}


def _place(directory: Path) -> dict[str, str]:
    return {
        "ANACONDA_AUTH_KEYRING_PATH": str(directory / "keyring"),
        "ANACONDA_CONFIG_TOML": str(directory / "config.toml"),  # never created
        "ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE": "anaconda-keyring",
        "ANACONDA_AUTH_EPHEMERAL_PORT": "true",
    }


@contextmanager
def sealed() -> Iterator[Path]:
    """Inside the block, the SDK's settings name a temporary directory (yielded), never
    ``~/.anaconda``; nests, and is shared by every block open at once."""
    global _depth, _directory
    with _lock:
        if _depth == 0:
            _directory = Path(tempfile.mkdtemp(prefix="anaconda-auth-test-"))
            _saved.clear()
            _saved.update({name: os.environ.get(name) for name in _place(_directory)})
        directory = _directory
        assert directory is not None
        # Set again by every block: one opened in between may have unset them (a fixture
        # that clears the developer's ANACONDA_* variables).
        os.environ.update(_place(directory))
        _depth += 1
    try:
        yield directory
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _restore(_saved)
                shutil.rmtree(directory, ignore_errors=True)
                _directory = None


@contextmanager
def with_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in the environment inside the block; restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        _restore(saved)


def _restore(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
