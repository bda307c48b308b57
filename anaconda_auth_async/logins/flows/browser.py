"""The browser login: authorization code with PKCE (RFC 7636) over a loopback redirect.

authlib builds the protocol messages (the authorize URL, the token request body, the
random values); the token request is sent with the ``httpx.AsyncClient`` the caller
passes in, so it uses the transport settings (SSL, proxy, client certificate, timeouts)
like every other request. The ID token is validated by the caller (`login.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from ..events import SCOPE, EventSink, FlowResult, LoginEvent
from .browser_opener import NoBrowserError, default_open_browser, open_in_browser
from .loopback_listener import Listener, listen_for_callback
from .token_request import request_tokens, token_form

if TYPE_CHECKING:
    import httpx

    from ...settings.fields import AnacondaAuthSettings
    from ..provider import ProviderMetadata

__all__ = [
    "SCOPE",
    "AuthorizationSecrets",
    "authorization_url",
    "browser_flow",
    "code_exchange_form",
    "default_open_browser",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthorizationSecrets:
    """The per-login random values: CSRF ``state``, OIDC ``nonce``, PKCE verifier."""

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)

    @classmethod
    def generate(cls) -> AuthorizationSecrets:
        """Fresh values from the system's CSPRNG (authlib's generate_token)."""
        return cls(
            state=str(generate_token(32)),
            nonce=str(generate_token(32)),
            code_verifier=str(generate_token(64)),  # RFC 7636: 43 to 128 characters
        )


def authorization_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    secrets: AuthorizationSecrets,
    scope: str = SCOPE,
) -> str:
    """The URL to open in the browser (pure): code flow, PKCE S256, state and nonce."""
    return str(
        prepare_grant_uri(
            endpoint,
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scope,
            state=secrets.state,
            nonce=secrets.nonce,
            code_challenge=create_s256_code_challenge(secrets.code_verifier),
            code_challenge_method="S256",
        )
    )


def code_exchange_form(*, code: str, client_id: str, redirect_uri: str, code_verifier: str) -> str:
    """The urlencoded token request body exchanging `code` (pure; a public client)."""
    pkce = {"code": code, "code_verifier": code_verifier, "client_id": client_id}
    return token_form("authorization_code", redirect_uri=redirect_uri, **pkce)


async def browser_flow(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    settings: AnacondaAuthSettings,
    *,
    on_event: EventSink,
    open_browser: Callable[[str], bool] | None = None,
    give_up_without_browser: bool = False,
) -> FlowResult:
    """Log in through the user's browser; return the tokens and the nonce sent.

    The listener is bound before the browser is opened (`open_browser`, run in a worker
    thread; `default_open_browser` when None). Reports ``browser`` (with the URL to show
    in case no browser opens), ``waiting`` and ``exchanging``. When no browser could be
    opened it reports ``no_browser`` with the URL and keeps waiting, or, with
    `give_up_without_browser`, raises `NoBrowserError` (``auto`` then uses a device
    code). It waits for the user as long as it takes: the caller's time limit (`login`'s)
    bounds it. Raises
    `LoginDeniedError` when the provider or the user refuses, `LoginError` for anything
    else that stops the login.
    """
    opener = open_browser or default_open_browser
    secrets = AuthorizationSecrets.generate()
    async with listen_for_callback(
        settings.redirect_uri,
        state=secrets.state,
        success_url=settings.success_url,
        error_url=settings.error_url,
        ephemeral=settings.ephemeral_port,
        issuer=metadata.issuer,
        # RFC 9207: a provider that promises ``iss`` in its redirects must send it.
        require_issuer=metadata.raw.get("authorization_response_iss_parameter_supported") is True,
    ) as listener:
        redirect_uri = listener.redirect_uri
        url = authorization_url(
            metadata.authorization_endpoint,
            client_id=settings.client_id,
            redirect_uri=redirect_uri,
            secrets=secrets,
        )
        # The browser (and the person, if none opens) gets a single-use loopback link
        # that redirects to `url`: a command line is visible to every local user, and
        # `url` carries this login's state. `url` itself never leaves this process.
        start = listener.start_url(url)
        on_event(LoginEvent(kind="browser", url=start))
        on_event(LoginEvent(kind="waiting", message="Waiting for you to log in in the browser."))
        code = await _open_and_wait(
            listener, lambda: _open(opener, start, on_event, give_up_without_browser)
        )
    on_event(LoginEvent(kind="exchanging", message="Exchanging the authorization code."))
    form = code_exchange_form(
        code=code,
        client_id=settings.client_id,
        redirect_uri=redirect_uri,
        code_verifier=secrets.code_verifier,
    )
    tokens = await request_tokens(http, metadata.token_endpoint, form)
    return FlowResult(tokens=tokens, nonce=secrets.nonce)


async def _open_and_wait(listener: Listener, open_page: Callable[[], Awaitable[None]]) -> str:
    """Open the browser while serving the listener, so a blocking opener blocks nothing."""
    failures: list[Exception] = []
    code = ""
    async with anyio.create_task_group() as task_group:

        async def guarded(step: Callable[[], Awaitable[object]]) -> None:
            # Failures leave the task group as themselves, not an ExceptionGroup.
            try:
                await step()
            except Exception as exc:
                failures.append(exc)
                task_group.cancel_scope.cancel()

        async def wait() -> None:
            nonlocal code
            code = await listener.wait()
            task_group.cancel_scope.cancel()

        task_group.start_soon(guarded, open_page)
        await guarded(wait)
    if failures:
        raise failures[0]
    return code


async def _open(
    opener: Callable[[str], bool], url: str, on_event: EventSink, give_up: bool
) -> None:
    if await open_in_browser(opener, url):
        return
    logger.info("No browser was opened for the login")
    if give_up:
        raise NoBrowserError("No browser could be opened for the login.")
    on_event(
        LoginEvent(
            kind="no_browser",
            url=url,
            message="No browser could be opened; open this URL to log in.",
        )
    )
