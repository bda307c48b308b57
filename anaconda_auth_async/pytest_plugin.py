"""pytest fixtures for packages built on anaconda-auth-async (an opt-in pytest plugin).

Enable it in your top-level ``conftest.py``::

    pytest_plugins = ["anaconda_auth_async.pytest_plugin"]

``anaconda_store``
    A `MemoryTokenStore` the SDK uses instead of the keyring (no key in it).
``anaconda_platform``
    A `FakePlatform` every SDK client talks to, with the environment pointing at its
    domains; log in with ``login(flow="browser", open_browser=anaconda_platform.open_browser)``,
    or ``flow="device"``.
``anaconda_logged_in``
    The `TokenInfo` of a logged-in user: a key the platform accepts, in the store.

Each fixture, alone or with the others, keeps the SDK away from the developer's own
login: the keyring and config files are temporary ones for the test, never
``~/.anaconda``, and the system keyring is not used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# Before `testing` imports it: the conformance suite's asserts show their values.
pytest.register_assert_rewrite("anaconda_auth_async.testkit.store_conformance")

from .testing import FakePlatform, MemoryTokenStore, use_platform, use_store  # noqa: E402

if TYPE_CHECKING:
    from .storage.stored_token import TokenInfo

__all__ = ["anaconda_logged_in", "anaconda_platform", "anaconda_store"]


@pytest.fixture
def anaconda_store() -> Iterator[MemoryTokenStore]:
    """A token store in memory, used by the SDK for the test (the keyring is not touched)."""
    store = MemoryTokenStore()
    with use_store(store):
        yield store


@pytest.fixture
def anaconda_platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    """A fake Anaconda platform that every SDK client talks to during the test.

    The developer's or CI's own Anaconda settings do not leak in: every ``ANACONDA_*``
    variable is unset for the test, and the keyring and ``config.toml`` are temporary
    files (`use_platform`); a browser login listens for its redirect on a free port.
    """
    platform = FakePlatform()
    for name in list(os.environ):
        if name.upper().startswith("ANACONDA_"):
            monkeypatch.delenv(name)
    with use_platform(platform):
        yield platform


@pytest.fixture
def anaconda_logged_in(
    anaconda_platform: FakePlatform, anaconda_store: MemoryTokenStore
) -> TokenInfo:
    """A logged-in user: a key the fake platform accepts, stored in `anaconda_store`."""
    token = anaconda_platform.token_info()
    anaconda_store.save(token)
    return token
