"""What a login does with the key already stored: keep it, or log in, and why (pure).

`login()` decides once, here, and reports the decision as a `LoginEvent` before any
network step, so a caller (the CLI, a notebook, an app) can say "already logged in as X"
or "the file was damaged; logging in writes a new one" without deciding anything itself:

- ``damaged``: the keyring file (or this site's entry) could not be parsed; logging in
  keeps its bytes aside and writes a new one. Comes first: whatever else was asked, the
  person must know a file was set aside.
- ``forced``: ``force=True``.
- ``rejected``: the server refused the stored key (`TokenInfo.rejected`).
- ``expired``: the stored key has expired.
- ``renew``: it expires within ``renew_within``.
- ``not_logged_in``: no key is stored.
- otherwise the key is usable: ``already_logged_in``; `login` keeps it unless its
  ``confirm_relogin`` callback answers yes (``confirmed``). A scheduled renewal
  (``renew_within`` given) never asks.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Literal

from .events import LoginEvent, LoginReason

if TYPE_CHECKING:
    from ..foundation.errors import CorruptTokenFileError
    from ..storage.stored_token import TokenInfo

__all__ = ["already_logged_in", "decide", "expires_within", "logging_in", "unusable"]


def expires_within(token: TokenInfo, window: dt.timedelta | float | None) -> bool:
    """Whether `token`'s key expires within `window` from now (False when either is unknown)."""
    if window is None or token.expires_at is None:
        return False
    seconds = window.total_seconds() if isinstance(window, dt.timedelta) else float(window)
    return token.expires_at - time.time() <= seconds


def unusable(token: TokenInfo | None) -> Literal["missing", "expired", "rejected"] | None:
    """Why `token` cannot be used (no key, expired, refused by the server), or None.

    The one rule for "logged in": `is_logged_in`, `login`'s decision, the CLI's
    ``status``, ``whoami`` and ``api-key``, and the doctor's ``key`` check all ask it.
    """
    if token is None or not token.api_key:
        return "missing"
    if token.rejected:
        return "rejected"
    if token.expired:
        return "expired"
    return None


def decide(
    existing: TokenInfo | None,
    *,
    damaged: bool,
    force: bool,
    renew_within: dt.timedelta | float | None,
) -> LoginReason | None:
    """Why a login must run over `existing` (the stored entry), or None to keep it."""
    if damaged:
        return "damaged"
    if force:
        return "forced"
    why = unusable(existing)
    if why is not None:
        return "not_logged_in" if why == "missing" else why
    if existing is not None and expires_within(existing, renew_within):
        return "renew"
    return None


def _day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def _who(token: TokenInfo | None) -> str:
    return f" as {token.username}" if token is not None and token.username else ""


def already_logged_in(existing: TokenInfo, domain: str) -> LoginEvent:
    """The event saying a usable key is stored (`login` keeps it unless asked otherwise)."""
    until = f", until {_day(existing.expires_at)}" if existing.expires_at is not None else ""
    return LoginEvent(
        kind="already_logged_in",
        message=f"You are already logged in to {domain}{_who(existing)}{until}.",
        username=existing.username,
        expires_at=existing.expires_at,
    )


def logging_in(
    reason: LoginReason,
    existing: TokenInfo | None,
    domain: str,
    *,
    damaged: CorruptTokenFileError | None = None,
) -> LoginEvent:
    """The event saying a login starts, and why (`message`: None when nothing is worth
    saying, as for a first login)."""
    message: str | None = None
    if reason == "damaged" and damaged is not None:
        if damaged.path:  # not the error's advice to log in: this is that login
            message = (
                f"The token file {damaged.path} could not be parsed ({damaged.reason}); "
                "logging in keeps a copy of it aside and writes a new one."
            )
        else:  # raised by a store of the caller's, with its own words
            message = f"{damaged}"
    elif reason == "rejected":
        message = f"The server rejected your API key for {domain}; logging in again."
    elif reason == "expired":
        message = f"Your API key for {domain} has expired; logging in again."
    elif reason == "renew" and existing is not None and existing.expires_at is not None:
        message = (
            f"Your API key for {domain}{_who(existing)} expires on "
            f"{_day(existing.expires_at)}; logging in again to renew it."
        )
    return LoginEvent(
        kind="logging_in",
        reason=reason,
        message=message,
        username=existing.username if existing is not None else None,
        expires_at=existing.expires_at if existing is not None else None,
    )
