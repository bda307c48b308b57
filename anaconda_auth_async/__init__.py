"""Async-first login and API-key client for Anaconda's cloud.

Names are imported on first use (PEP 562), so ``import anaconda_auth_async`` and the
``anaconda-auth`` CLI stay light; everything in ``__all__`` is importable as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._apikey import APIKey
    from ._auth import AnacondaAuth
    from ._client import AsyncAuthClient
    from ._config import AnacondaAuthSettings
    from ._doctor.report import DoctorCheck
    from ._doctor.run import doctor
    from ._exceptions import (
        AnacondaAuthError,
        APIKeyExchangeError,
        AuthenticationError,
        ConfigurationError,
        CorruptTokenFileError,
        DiscoveryError,
        InvalidAPIKeyError,
        InvalidIDTokenError,
        LoginCancelledError,
        LoginDeniedError,
        LoginError,
        LoginRequiredError,
        LoginTimeoutError,
        StorageError,
        TokenExpiredError,
        TokenNotFoundError,
    )
    from ._keys import create_api_key, store_api_key
    from ._login import LoginEvent, is_logged_in, login, logout
    from ._storage import KeyringTokenStore, TokenStore
    from ._token import RepoToken, TokenInfo

__all__ = [
    "APIKey",
    "APIKeyExchangeError",
    "AnacondaAuth",
    "AnacondaAuthError",
    "AnacondaAuthSettings",
    "AsyncAuthClient",
    "AuthenticationError",
    "ConfigurationError",
    "CorruptTokenFileError",
    "DiscoveryError",
    "DoctorCheck",
    "InvalidAPIKeyError",
    "InvalidIDTokenError",
    "KeyringTokenStore",
    "LoginCancelledError",
    "LoginDeniedError",
    "LoginError",
    "LoginEvent",
    "LoginRequiredError",
    "LoginTimeoutError",
    "RepoToken",
    "StorageError",
    "TokenExpiredError",
    "TokenInfo",
    "TokenNotFoundError",
    "TokenStore",
    "__version__",
    "create_api_key",
    "doctor",
    "is_logged_in",
    "login",
    "logout",
    "store_api_key",
]

_WHERE = {
    "APIKey": "._apikey",
    "create_api_key": "._keys",
    "store_api_key": "._keys",
    "AnacondaAuth": "._auth",
    "AsyncAuthClient": "._client",
    "AnacondaAuthSettings": "._config",
    "DoctorCheck": "._doctor.report",
    "doctor": "._doctor.run",
    "KeyringTokenStore": "._storage",
    "TokenStore": "._storage",
    "RepoToken": "._token",
    "TokenInfo": "._token",
    "LoginEvent": "._login",
    "is_logged_in": "._login",
    "login": "._login",
    "logout": "._login",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None and name in __all__:
        module = "._exceptions"
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
