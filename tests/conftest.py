"""Shared fixtures: every async test runs on asyncio and trio; no test sees the user's
environment, home directory, keyring or `.env` file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported by the plugin below, after its assert rewriting is registered
    from anaconda_auth_async.testing import MemoryTokenStore

# The SDK's opt-in pytest plugin (anaconda_platform, anaconda_store, anaconda_logged_in),
# as a package built on the SDK enables it; tests/downstream is that package's example.
pytest_plugins = ["anaconda_auth_async.pytest_plugin"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each `@pytest.mark.anyio` test once per backend."""
    return str(request.param)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME and working directory, and no ANACONDA_* variables, for every test."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.upper().startswith(
            (
                "ANACONDA_",
                "BROWSER",
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE",
            )
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANACONDA_AUTH_KEYRING_PATH", str(home / ".anaconda" / "keyring"))
    monkeypatch.chdir(home)
    return home


@pytest.fixture(autouse=True)
def fresh_oidc_caches() -> Iterator[None]:
    """Discovery documents and JWKS are cached per process; no test sees another's."""
    from anaconda_auth_async.logins import provider as _oidc

    _oidc.clear_caches()
    yield
    _oidc.clear_caches()


@pytest.fixture
def store(anaconda_store: MemoryTokenStore) -> MemoryTokenStore:
    """The SDK's token store for the test, in memory: the shipped `anaconda_store` fixture
    (a module may define its own `store`, as test_storage.py does for the keyring store)."""
    return anaconda_store
