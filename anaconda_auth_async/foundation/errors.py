"""The exceptions raised by anaconda-auth-async.

Every exception derives from `AnacondaAuthError`; the ones raised for an HTTP response
also derive from `httpx.HTTPStatusError`, so a generic httpx handler still catches them
and finds `.request` and `.response` on them::

    AnacondaAuthError
    ├── ConfigurationError          a setting has a bad value
    ├── StorageError                the token store could not be read or written
    │   └── CorruptTokenFileError   the keyring file could not be parsed (kept aside)
    ├── TokenNotFoundError          no API key is stored for the domain
    ├── TokenExpiredError           the API key has expired (raised before sending)
    ├── AuthenticationError(httpx.HTTPStatusError)
    │   └── LoginRequiredError      401/403: no key sent, or the key was rejected
    └── LoginError                  a login did not complete; nothing was stored
        ├── DiscoveryError          the OpenID configuration could not be loaded
        ├── LoginDeniedError        the provider or the user refused the login
        ├── LoginTimeoutError       the login was not completed in time
        ├── LoginCancelledError     sync.cancel_logins() stopped a blocking login
        ├── InvalidIDTokenError     the ID token failed validation
        ├── APIKeyExchangeError     the access token could not be exchanged for a key
        └── InvalidAPIKeyError      a key given to store is malformed, expired or rejected

Messages say what happened and what to do next; they never contain a secret.
"""

from __future__ import annotations

import httpx

from .public_names import publish

__all__ = [
    "APIKeyExchangeError",
    "AnacondaAuthError",
    "AuthenticationError",
    "ConfigurationError",
    "CorruptTokenFileError",
    "DiscoveryError",
    "InvalidAPIKeyError",
    "InvalidIDTokenError",
    "LoginCancelledError",
    "LoginDeniedError",
    "LoginError",
    "LoginRequiredError",
    "LoginTimeoutError",
    "StorageError",
    "TokenExpiredError",
    "TokenNotFoundError",
]


class AnacondaAuthError(Exception):
    """Base class of every error raised by anaconda-auth-async."""


class ConfigurationError(AnacondaAuthError, ValueError):
    """A setting has a value that cannot be used; the message names it and its source."""

    def __init__(self, message: str, *, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.settings = settings
        """The names of the settings at fault, when known."""


class StorageError(AnacondaAuthError):
    """The token store could not be read or written."""


class CorruptTokenFileError(StorageError):
    """The keyring file could not be parsed; its bytes were kept aside, nothing was lost."""

    def __init__(self, message: str, *, path: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.path = path
        """The file that could not be parsed, when known."""
        self.reason = reason
        """Why it could not be parsed (never its content), when known."""


class TokenNotFoundError(AnacondaAuthError):
    """No API key is stored for the domain."""


class TokenExpiredError(AnacondaAuthError):
    """The API key has expired; raised before a request is sent."""


class AuthenticationError(AnacondaAuthError, httpx.HTTPStatusError):
    """The server refused the request's credentials (HTTP 401 or 403)."""

    def __init__(self, message: str, *, request: httpx.Request, response: httpx.Response):
        httpx.HTTPStatusError.__init__(self, message, request=request, response=response)


class LoginRequiredError(AuthenticationError):
    """The request needs a valid API key: none was sent, or the server rejected it."""


class LoginError(AnacondaAuthError):
    """A login did not complete; any API key already stored was left untouched."""


class DiscoveryError(LoginError):
    """The provider's OpenID configuration could not be loaded or is malformed."""


class LoginDeniedError(LoginError):
    """The provider or the user refused the login (for example ``access_denied``)."""

    def __init__(self, message: str, *, error: str, description: str | None = None):
        super().__init__(message)
        self.error = error
        self.description = description


class LoginTimeoutError(LoginError):
    """The login was not completed within its time limit."""


class LoginCancelledError(LoginError):
    """A blocking login was cancelled from another thread (`sync.cancel_logins`)."""


class InvalidIDTokenError(LoginError):
    """The ID token returned by the provider failed validation."""


class APIKeyExchangeError(LoginError):
    """The access token could not be exchanged for an API key."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class InvalidAPIKeyError(LoginError):
    """A key given to store (``login --with-token``) is malformed, expired or rejected."""


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
