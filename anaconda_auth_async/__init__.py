"""Async-first login and API-key client for Anaconda's cloud.

Names are imported on first use (PEP 562), so ``import anaconda_auth_async`` and the
``anaconda-auth`` CLI stay light; everything in ``__all__`` is importable as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api_client.auth import AnacondaAuth
    from .api_client.clients import AsyncAuthClient
    from .diagnostics.report import DoctorCheck
    from .diagnostics.run_checks import doctor
    from .foundation.errors import (
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
    from .logins.events import LoginEvent
    from .logins.key_exchange import APIKey
    from .logins.login import login
    from .logins.machine_keys import create_api_key, store_api_key
    from .logins.session import is_logged_in, logout
    from .settings.fields import AnacondaAuthSettings
    from .storage.keyring_store import KeyringTokenStore, TokenStore
    from .storage.stored_token import RepoToken, TokenInfo

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
    "APIKey": ".logins.key_exchange",
    "create_api_key": ".logins.machine_keys",
    "store_api_key": ".logins.machine_keys",
    "AnacondaAuth": ".api_client.auth",
    "AsyncAuthClient": ".api_client.clients",
    "AnacondaAuthSettings": ".settings.fields",
    "DoctorCheck": ".diagnostics.report",
    "doctor": ".diagnostics.run_checks",
    "KeyringTokenStore": ".storage.keyring_store",
    "TokenStore": ".storage.keyring_store",
    "RepoToken": ".storage.stored_token",
    "TokenInfo": ".storage.stored_token",
    "LoginEvent": ".logins.events",
    "is_logged_in": ".logins.session",
    "login": ".logins.login",
    "logout": ".logins.session",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None and name in __all__:
        module = ".foundation.errors"
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
