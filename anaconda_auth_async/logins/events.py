"""What every login flow shares: `SCOPE`, `LoginEvent`, `EventSink`, `FlowResult`.

The scopes a login asks for, the progress event a login reports (its kinds and reasons),
the type of the callback that receives it, and what a flow returns. Its own module so the
flows (`flows/`) and the renderer need not import `login`, which re-exports `LoginEvent`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..foundation.public_names import publish

if TYPE_CHECKING:
    from .flows.token_request import OAuthTokens

__all__ = ["SCOPE", "EventSink", "FlowResult", "LoginEvent", "LoginEventKind", "LoginReason"]

SCOPE = "openid email profile"
"""The scopes every login asks for: the ID token's claims, and no ``offline_access``.

The access token is used once, to create an API key, so a refresh token would be a
second long-lived secret nobody uses (see docs/decisions.md).
"""

LoginEventKind = Literal[
    "already_logged_in",
    "logging_in",
    "browser",
    "no_browser",
    "device_fallback",
    "device_code",
    "waiting",
    "waiting_for_server",
    "exchanging",
    "done",
]

LoginReason = Literal[
    "not_logged_in", "forced", "confirmed", "renew", "expired", "rejected", "damaged"
]
"""Why a login runs (see `LoginEvent`, kind ``logging_in``)."""


@dataclass(frozen=True)
class LoginEvent:
    """One step of a login, reported to the caller (the CLI prints it; a library may log it).

    ``already_logged_in``: a usable key is stored (``username``, ``expires_at``); `login`
    returns it, unless its ``confirm_relogin`` callback, asked next, answers yes.
    ``logging_in``: a login starts; ``reason`` says why (``not_logged_in``, ``forced``,
    ``confirmed``, ``renew``: it expires within ``renew_within``, ``expired``,
    ``rejected``: the server refused it, ``damaged``: the keyring file could not be
    parsed and is replaced, a copy kept aside), ``message`` says it in a sentence when
    there is something to say, and ``username`` and ``expires_at`` describe the stored key.
    ``browser``: the authorize URL is about to be opened (``url``; print it in case the
    browser does not open). ``no_browser``: no browser could be opened and the browser
    login goes on: the person must open ``url`` themselves. ``device_fallback``: the
    browser login was given up (``message`` says why, as a phrase such as "No browser
    could be opened"; its URL no longer works) and a device code follows.
    ``device_code``: visit ``url`` and enter ``user_code`` within ``expires_in`` seconds
    (None: no limit but the login's). ``waiting``: waiting for the user.
    ``waiting_for_server``: a request of the login has had no answer for a while (about
    two seconds); ``url`` is the server (``https://host``) and ``message`` says so.
    ``exchanging``:
    trading the code or token for credentials. ``done``: the login completed.

    ``url`` and ``user_code`` come from the provider: show them only through
    `anaconda_auth_async`'s renderer or after making them one printable line. Never
    carries a secret.
    """

    kind: LoginEventKind
    url: str | None = None
    user_code: str | None = None
    expires_in: float | None = None
    message: str | None = None
    reason: LoginReason | None = None
    username: str | None = None
    expires_at: float | None = None


EventSink = Callable[[LoginEvent], object]
"""Receives each `LoginEvent` as it happens; its return value is ignored."""


@dataclass(frozen=True)
class FlowResult:
    """What a login flow returns: the tokens, and the nonce sent (browser flow only)."""

    tokens: OAuthTokens
    nonce: str | None = field(default=None, repr=False)


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
