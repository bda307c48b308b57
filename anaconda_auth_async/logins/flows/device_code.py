"""The device authorization grant (RFC 8628), for machines without a browser.

The user opens the verification URI on any device and enters the user code, while this
process polls the token endpoint. The protocol steps are pure functions (build the
requests, read the answers); `device_flow` only sends them, sleeps and reports progress.

The token endpoint is polled right away, then every ``interval`` seconds (default 5,
never less than 1 whatever the provider says);
the server's answer decides: ``authorization_pending`` keeps polling, ``slow_down`` adds
five seconds to the interval for the rest of the login, ``access_denied`` and
``expired_token`` end it. A short run of network errors or 5xx answers is tolerated (the
user is typing the code on another device and should not have to start over because of
one dropped request). The flow ends when the code expires (its ``expires_in``); the login's
own time limit belongs to the caller (`login`), which applies it once around the whole
login. The device code is a credential: it is never logged or shown.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx

from ...foundation.errors import LoginDeniedError, LoginError, LoginTimeoutError
from ...foundation.outside_values import finite_number
from ...foundation.safe_text import json_object, safe_line
from ...network.transport import describe_network_error
from ..events import SCOPE, EventSink, FlowResult, LoginEvent
from .browser_opener import open_in_browser
from .token_request import (
    OAuthTokens,
    TokenEndpointUnreachableError,
    form_secrets,
    parse_token_response,
    post_token_request,
    token_form,
)

if TYPE_CHECKING:
    from ...settings.fields import AnacondaAuthSettings
    from ..provider import ProviderMetadata

__all__ = [
    "DEVICE_CODE_GRANT",
    "DeviceAuthorization",
    "Sleep",
    "device_flow",
    "device_token_request",
    "parse_device_authorization",
    "parse_poll_response",
    "poll_interval",
]

logger = logging.getLogger(__name__)

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 1.0
SLOW_DOWN_STEP = 5.0
MAX_TRANSIENT_ERRORS = 3

Sleep = Callable[[float], Awaitable[None]]
"""How the flow waits between polls (`anyio.sleep`; tests pass a recorder)."""

PollOutcome = Literal["pending", "slow_down", "retry"]


@dataclass(frozen=True)
class DeviceAuthorization:
    """The provider's answer to a device authorization request (RFC 8628 section 3.2)."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float

    @property
    def url(self) -> str:
        """The page to show the user: the complete URI (code filled in) when given."""
        return self.verification_uri_complete or self.verification_uri


def _number(data: Mapping[str, Any], name: str, default: float) -> float:
    value = data.get(name)
    if value is None:
        return default
    number = finite_number(value)  # no NaN, infinity, 5,000 digits or "²" (ValueError)
    if number <= 0:
        raise ValueError(name)
    return number


def poll_interval(interval: float) -> float:
    """The wait between polls for a provider's `interval`: at least `MIN_INTERVAL` seconds
    (RFC 8628 section 3.5: a client may not poll faster than the provider allows, and a
    provider's ``interval: 1e-9`` is no reason to hammer it)."""
    return max(interval, MIN_INTERVAL)


def _error_detail(data: Mapping[str, Any]) -> str:
    error, description = data.get("error"), data.get("error_description")
    if not isinstance(error, str):
        return ""
    return safe_line(f"{error}: {description}" if isinstance(description, str) else error)


def parse_device_authorization(
    status: int, body: bytes, *, endpoint: str, default_expires_in: float
) -> DeviceAuthorization:
    """Read the device authorization response; raise `LoginError` on an error or bad body."""
    data = json_object(body)
    if status != 200 or data is None:
        detail = _error_detail(data or {})
        raise LoginError(
            f"The provider refused the device-code login request ({endpoint} answered "
            f"HTTP {status}{', ' + detail if detail else ''}); "
            "check the client_id setting, or log in with the browser flow instead."
        )
    try:
        device_code = data["device_code"]
        user_code = data["user_code"]
        # "verification_url" is the pre-RFC spelling some providers still send.
        uri = data.get("verification_uri") or data["verification_url"]
        complete = data.get("verification_uri_complete")
        if not all(isinstance(v, str) and v for v in (device_code, user_code, uri)):
            raise ValueError("code")
        if complete is not None and not isinstance(complete, str):
            raise ValueError("verification_uri_complete")
        return DeviceAuthorization(
            device_code=device_code,
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=complete or None,
            expires_in=_number(data, "expires_in", default_expires_in),
            interval=_number(data, "interval", DEFAULT_INTERVAL),
        )
    except (KeyError, ValueError):
        raise LoginError(
            f"The provider's device-code answer from {endpoint} is incomplete or malformed; "
            "log in with the browser flow instead, or report this to the provider."
        ) from None


def device_token_request(settings: AnacondaAuthSettings, device_code: str) -> str:
    """The urlencoded body of one poll of the token endpoint (RFC 8628 section 3.4)."""
    return token_form(DEVICE_CODE_GRANT, device_code=device_code, client_id=settings.client_id)


def parse_poll_response(
    status: int, body: bytes, *, secrets: tuple[str, ...] = ()
) -> OAuthTokens | PollOutcome:
    """Read one poll's answer: the tokens, or what to do next.

    Raises `LoginDeniedError` for ``access_denied``, `LoginTimeoutError` for
    ``expired_token``, and lets `parse_token_response` report any other error.
    """
    if status >= 500:
        return "retry"
    data = json_object(body) if status != 200 else None
    error = data.get("error") if data else None
    if error == "authorization_pending":
        return "pending"
    if error == "slow_down":
        return "slow_down"
    if error == "access_denied":
        description = data.get("error_description") if data else None
        raise LoginDeniedError(
            "The login was denied on the verification page; "
            "run the login again and approve it to continue.",
            error="access_denied",
            description=description if isinstance(description, str) else None,
        )
    if error == "expired_token":
        raise LoginTimeoutError(
            "The device code expired before it was entered; run the login again to get a new code."
        )
    return parse_token_response(status, body, secrets=secrets)


async def _request_code(
    http: httpx.AsyncClient, endpoint: str, settings: AnacondaAuthSettings
) -> DeviceAuthorization:
    try:
        response = await http.post(endpoint, data={"client_id": settings.client_id, "scope": SCOPE})
    except httpx.HTTPError as exc:
        raise LoginError(
            f"Could not reach the device-code endpoint {endpoint} ({describe_network_error(exc)}); "
            "check your network connection, proxy and ssl_verify settings, then try again."
        ) from None
    return parse_device_authorization(
        response.status_code,
        response.content,
        endpoint=endpoint,
        default_expires_in=math.inf,  # RFC 8628 requires it; without it only login's limit
    )


async def _poll(http: httpx.AsyncClient, endpoint: str, form: str) -> OAuthTokens | PollOutcome:
    try:
        response = await post_token_request(http, endpoint, form)
    except TokenEndpointUnreachableError as exc:
        logger.warning("%s Will retry.", exc)
        return "retry"
    return parse_poll_response(response.status_code, response.content, secrets=form_secrets(form))


async def device_flow(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    settings: AnacondaAuthSettings,
    *,
    on_event: EventSink,
    sleep: Sleep = anyio.sleep,
    open_browser: Callable[[str], bool] | None = None,
) -> FlowResult:
    """Log in with a device code: report the code, poll until approved; return the tokens.

    Reports ``device_code`` (URL, user code, lifetime), then ``waiting``. Raises
    `LoginError` when the provider has no device endpoint or the login fails,
    `LoginDeniedError` when the user refuses, `LoginTimeoutError` when the code expires.
    `sleep` waits between polls. With `open_browser`, the verification page is opened
    after the code is reported, as anaconda-auth does, but without the code filled in
    (the person types it from the terminal: another local user can read a browser's
    command line); a browser that does not open changes nothing.
    """
    endpoint = metadata.device_authorization_endpoint
    if not endpoint:
        raise LoginError(
            f"The provider {metadata.issuer} does not offer device-code login; "
            "log in with the browser instead (login_flow='browser')."
        )
    auth = await _request_code(http, endpoint, settings)
    on_event(
        LoginEvent(
            kind="device_code",
            url=auth.url,
            user_code=auth.user_code,
            expires_in=auth.expires_in if math.isfinite(auth.expires_in) else None,
        )
    )
    # The plain page, never the one with the code filled in: a command line is readable
    # by every local user, who could approve the code as themselves and log this user in
    # to their account. The code is shown only on the terminal (the event above).
    page = auth.verification_uri
    if open_browser is not None and not await open_in_browser(open_browser, page):
        logger.info("The verification page was not opened; the URL and code are shown")
    on_event(LoginEvent(kind="waiting", message="Waiting for you to enter the code."))
    form = device_token_request(settings, auth.device_code)
    interval, slept, transient = poll_interval(auth.interval), 0.0, 0
    expired = LoginTimeoutError(
        "The device code expired before it was entered; run the login again to get a new code."
    )
    try:
        with anyio.fail_after(auth.expires_in) as scope:
            while True:
                outcome = await _poll(http, metadata.token_endpoint, form)
                if isinstance(outcome, OAuthTokens):
                    return FlowResult(tokens=outcome, nonce=None)
                if outcome == "slow_down":
                    interval += SLOW_DOWN_STEP
                    logger.debug("Provider asked to slow down; polling every %s s", interval)
                transient = transient + 1 if outcome == "retry" else 0
                if transient >= MAX_TRANSIENT_ERRORS:
                    raise LoginError(
                        f"The token endpoint {metadata.token_endpoint} failed "
                        f"{MAX_TRANSIENT_ERRORS} times in a row; check your network "
                        "connection and run the login again."
                    )
                # Counting the waits, not only the clock, ends the flow even with a fake sleep.
                if slept + interval > auth.expires_in:
                    raise expired
                await sleep(interval)
                slept += interval
    except TimeoutError:
        if not scope.cancelled_caught:
            raise  # not the code's lifetime: a library's own time-out
        raise expired from None
