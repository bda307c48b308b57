"""Which answers refuse the API key (`refuses_key`), and the messages that say what
happened to a key and what to do, worded by where the key came from; `key_problem` is the
one wording of an expired or rejected key, for the clients, the command line and the doctor.

`AnacondaAuth` raises with these messages; `refuses_key` is the one classification of a
401/403 for every client and `store_api_key`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

import httpx

from ..foundation.safe_text import json_object
from ..network.origins import describe, is_loopback

if TYPE_CHECKING:
    from ..network.origins import Origin
    from .key_loading import Credential, Source

__all__ = [
    "ACCOUNT_PATH",
    "elsewhere_message",
    "expired_message",
    "key_problem",
    "no_key_message",
    "refuses_key",
    "rejected_message",
    "unreplayable_message",
]

_LOGIN = "`anaconda-auth login` (or `await anaconda_auth_async.login()`)"
_ENV = "ANACONDA_AUTH_API_KEY (or ANACONDA_CLOUD_API_KEY)"

ACCOUNT_PATH = "/api/account"
"""The path every valid key may read: a 403 there is the key refused, not a permission."""


def refuses_key(response: httpx.Response) -> bool:
    """Whether the answer to a request that carried the key says the key was refused.

    The one classification of such answers, for every client and `store_api_key`: every
    401 (the credentials were not accepted, whatever the body says); a 403 whose body says
    ``{"error": {"code": "auth_required"}}``; and a 403 to ``/api/account``, which every
    valid key may read. Any other 403 is about the resource (the key lacks a permission)
    and is returned to the caller untouched.
    """
    status = response.status_code
    if status == 401:
        return True
    if status != 403:
        return False
    with contextlib.suppress(RuntimeError):  # a response built without its request
        if response.request.url.path.endswith(ACCOUNT_PATH):
            return True
    try:
        body = json_object(response.content)
    except httpx.ResponseNotRead:
        return False
    error = body.get("error") if body is not None else None
    return isinstance(error, dict) and error.get("code") == "auth_required"


def elsewhere_message(credential: Credential, origin: Origin, domain: str) -> str:
    """Why a key bound to one origin is not sent to `origin`, and the three ways out."""
    what, _ = _advice(credential.source, domain)
    there = describe(origin)
    if origin[0] == "http" and not is_loopback(origin[1]):
        return (
            f"Not sending {what} to {there}: a key goes only over https (plain http "
            "only to a loopback host); use an https base_url."
        )
    return (
        f"Not sending {what} to {there}: the key is for {credential.bound_to}. Point "
        f"the client at {credential.bound_to} (the api_domain setting or base_url), "
        f"or get a key for {there} by logging in with that api_domain, or pass "
        f'allowed_origins=["{there}"] to send this key there deliberately.'
    )


def no_key_message(response: httpx.Response, domain: str) -> str:
    """A 401/403 to a request sent without a key: none was found for `domain`."""
    return (
        f"The server answered {_status(response)}: this request needs an API key and "
        f"none was found for {domain}; log in with {_LOGIN}, or set {_ENV}."
    )


def rejected_message(response: httpx.Response, source: Source, domain: str) -> str:
    """The server refused the key from `source`."""
    what, todo = _advice(source, domain)
    return f"{key_problem('rejected', what, answer=_status(response))}; {todo}."


def unreplayable_message(response: httpx.Response) -> str:
    """The key was refused, a newer one is stored, and this request cannot be re-sent."""
    return (
        f"The server rejected the API key ({_status(response)}) and a newer key has "
        "been stored since, which the next request will use; this request's body "
        "was streamed and cannot be re-sent, so send the request again."
    )


def expired_message(credential: Credential, domain: str) -> str:
    """The key expired (refused before sending)."""
    what, todo = _advice(credential.source, domain)
    return f"{key_problem('expired', what, when=credential.expires_at)}; {todo}."


def key_problem(
    why: Literal["expired", "rejected"],
    what: str,
    *,
    when: float | None = None,
    by: str = "The server",
    answer: str | None = None,
) -> str:
    """What happened to the key `what` names ("the stored API key for X"), as a sentence
    before its advice: "<What> expired on <when>", or "<by> rejected <what> (<answer>) on
    <when>: it is invalid or has been revoked".

    The one wording of an expired or rejected key: the clients' errors, the command line
    (``status``, ``whoami``, ``api-key``) and the doctor's ``key`` check say it through here.
    """
    on = f" on {_date_time(when)}" if when is not None else ""
    if why == "expired":
        return f"{what[0].upper()}{what[1:]} expired{on}"
    status = f" ({answer})" if answer else ""
    return f"{by} rejected {what}{status}{on}: it is invalid or has been revoked"


def _advice(source: Source, domain: str) -> tuple[str, str]:
    """What the key was and what to do about it, by where it came from."""
    if source == "argument":
        return "the API key given to the client", f"pass a valid key, or log in with {_LOGIN}"
    if source == "setting":
        return (
            f"the API key set in {_ENV}",
            f"set a valid key, or unset it and log in with {_LOGIN}",
        )
    return f"the stored API key for {domain}", f"log in again with {_LOGIN}"


def _status(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _date_time(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "a date in the past"
