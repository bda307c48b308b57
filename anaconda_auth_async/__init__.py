"""Async-first login and API-key client for Anaconda's cloud.

Names are imported on first use (PEP 562), so ``import anaconda_auth_async`` and the
``anaconda-auth`` CLI stay light; everything in ``__all__`` is importable as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

# Every public name and the module that defines it: the one list (`__all__` is made from it).
_WHERE = {
    "AnacondaAuth": ".api_client.auth",
    "AsyncAuthClient": ".api_client.clients",
    "DoctorCheck": ".diagnostics.report",
    "doctor": ".diagnostics.run_checks",
    "APIKeyExchangeError": ".foundation.errors",
    "AnacondaAuthError": ".foundation.errors",
    "AuthenticationError": ".foundation.errors",
    "ConfigurationError": ".foundation.errors",
    "CorruptTokenFileError": ".foundation.errors",
    "DiscoveryError": ".foundation.errors",
    "InvalidAPIKeyError": ".foundation.errors",
    "InvalidIDTokenError": ".foundation.errors",
    "LoginCancelledError": ".foundation.errors",
    "LoginDeniedError": ".foundation.errors",
    "LoginError": ".foundation.errors",
    "LoginRequiredError": ".foundation.errors",
    "LoginTimeoutError": ".foundation.errors",
    "StorageError": ".foundation.errors",
    "TokenExpiredError": ".foundation.errors",
    "TokenNotFoundError": ".foundation.errors",
    "LoginEvent": ".logins.events",
    "APIKey": ".logins.key_exchange",
    "login": ".logins.login",
    "create_api_key": ".logins.machine_keys",
    "store_api_key": ".logins.machine_keys",
    "is_logged_in": ".logins.session",
    "logout": ".logins.session",
    "AnacondaAuthSettings": ".settings.fields",
    "KeyringTokenStore": ".storage.keyring_store",
    "TokenStore": ".storage.keyring_store",
    "RepoToken": ".storage.stored_token",
    "TokenInfo": ".storage.stored_token",
}

# For type checkers and IDEs, which do not run `__getattr__`: the same names from the same
# modules (tests/test_public_api.py checks), each `as` itself, so that it is re-exported
# and `import *` takes it; they see no `__all__`, which is made from the table at run time.
if TYPE_CHECKING:
    from .api_client.auth import AnacondaAuth as AnacondaAuth
    from .api_client.clients import AsyncAuthClient as AsyncAuthClient
    from .diagnostics.report import DoctorCheck as DoctorCheck
    from .diagnostics.run_checks import doctor as doctor
    from .foundation.errors import AnacondaAuthError as AnacondaAuthError
    from .foundation.errors import APIKeyExchangeError as APIKeyExchangeError
    from .foundation.errors import AuthenticationError as AuthenticationError
    from .foundation.errors import ConfigurationError as ConfigurationError
    from .foundation.errors import CorruptTokenFileError as CorruptTokenFileError
    from .foundation.errors import DiscoveryError as DiscoveryError
    from .foundation.errors import InvalidAPIKeyError as InvalidAPIKeyError
    from .foundation.errors import InvalidIDTokenError as InvalidIDTokenError
    from .foundation.errors import LoginCancelledError as LoginCancelledError
    from .foundation.errors import LoginDeniedError as LoginDeniedError
    from .foundation.errors import LoginError as LoginError
    from .foundation.errors import LoginRequiredError as LoginRequiredError
    from .foundation.errors import LoginTimeoutError as LoginTimeoutError
    from .foundation.errors import StorageError as StorageError
    from .foundation.errors import TokenExpiredError as TokenExpiredError
    from .foundation.errors import TokenNotFoundError as TokenNotFoundError
    from .logins.events import LoginEvent as LoginEvent
    from .logins.key_exchange import APIKey as APIKey
    from .logins.login import login as login
    from .logins.machine_keys import create_api_key as create_api_key
    from .logins.machine_keys import store_api_key as store_api_key
    from .logins.session import is_logged_in as is_logged_in
    from .logins.session import logout as logout
    from .settings.fields import AnacondaAuthSettings as AnacondaAuthSettings
    from .storage.keyring_store import KeyringTokenStore as KeyringTokenStore
    from .storage.keyring_store import TokenStore as TokenStore
    from .storage.stored_token import RepoToken as RepoToken
    from .storage.stored_token import TokenInfo as TokenInfo
else:
    __all__ = sorted(["__version__", *_WHERE])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
