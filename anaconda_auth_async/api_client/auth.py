"""`AnacondaAuth`: an `httpx.Auth` that sends the API key and explains 401/403 answers.

One pure generator, `AnacondaAuth._flow`, sets the header and maps the response, as
httpx's own ``auth_flow`` does; it does no I/O. When it needs the store re-read it yields
a `_Reload` instead of a request, and the two drivers answer it: `async_auth_flow` with
the store's async face under an `anyio.Lock`, `sync_auth_flow` with its sync face under a
`threading.Lock`. The drivers also read the body of 401 and 403 responses, and only
those, so a streamed response stays streamed.

A key is sent only to the origins it is bound to (`Credential.origins`: the API origin
it is for, over https, or http on a loopback host, plus any ``allowed_origins``). A
request to another origin goes out without it and its answer is returned untouched; a
request to the client's own API origin with a key bound elsewhere raises
`ConfigurationError` naming both, rather than sending it or failing with a bare 401.

Per request the hot path is: two attribute reads for the cached key, one origin tuple
and a set lookup, one float comparison for its expiry, one header set.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, cast

import httpx

from ..foundation.errors import ConfigurationError, LoginRequiredError, TokenExpiredError
from ..foundation.public_names import publish
from ..network.origins import Origin, key_origins, origin_of
from .key_loading import Credential, TokenProvider
from .refusals import (
    elsewhere_message,
    expired_message,
    no_key_message,
    refuses_key,
    rejected_message,
    unreplayable_message,
)
from .site_context import site_context

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..settings.fields import AnacondaAuthSettings
    from ..storage.keyring_store import TokenStore
    from .site_context import SiteContext

__all__ = ["AnacondaAuth"]


class _Reload:
    """Asks the driver to re-read the store after `stale` was rejected or expired."""

    __slots__ = ("stale",)

    def __init__(self, stale: Credential) -> None:
        self.stale = stale


class _Rejected:
    """Asks the driver to record that the server rejected `stale` (see `TokenInfo.rejected`)."""

    __slots__ = ("stale",)

    def __init__(self, stale: Credential) -> None:
        self.stale = stale


_Step = httpx.Request | _Reload | _Rejected
_Reply = httpx.Response | Credential | None
_Flow = Generator[_Step, _Reply, None]


class AnacondaAuth(httpx.Auth):
    """Send the Anaconda API key with every request of any httpx client.

    The key is, in order: `api_key`; the ``api_key`` setting (``ANACONDA_AUTH_API_KEY``
    or ``ANACONDA_CLOUD_API_KEY``); the key stored for the auth domain (`auth_domain`,
    else ``settings.auth_domain``) in `store` (else the default store). ``domain=`` is
    anaconda-cloud-auth's ``BearerAuth`` spelling of `auth_domain`, deprecated because
    ``domain=`` on the clients is the API domain. It is loaded on the
    first request and cached. A request that already has an ``Authorization`` header is
    sent, and its response returned, untouched.

    The key goes only to the API origin it is for: a stored key to the API domain it was
    created at (recorded with it; the ``api_domain`` setting for older entries), a key
    from the settings to the ``api_domain`` setting, an `api_key` argument to `base_url`
    (else the ``api_domain`` setting); over https, or http to a loopback host. Requests
    to any other origin are sent without it. `allowed_origins` (https origins such as
    ``"https://repo.example.com"``) lets it go to more origins, deliberately. `site` names
    a site of ``~/.anaconda/config.toml`` or a preset whose settings to use.

    Raises `ConfigurationError` for a request to `base_url` (else the configured API
    origin) when the key is bound to another origin, naming both. Raises
    `TokenExpiredError` before sending with an expired key, and
    `LoginRequiredError` on a 401/403 sent without a key, or when the answer says the
    key was refused (`refuses_key`: any 401; a 403 saying ``auth_required``, or to
    ``/api/account``; another 403 is a permission answer, returned untouched). In that
    case the stored key is re-read once, and the request retried once if another process
    stored a new key.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_domain: str | None = None,
        settings: AnacondaAuthSettings | None = None,
        site: str | None = None,
        store: TokenStore | None = None,
        base_url: str | None = None,
        allowed_origins: Iterable[str] = (),
        domain: str | None = None,
    ) -> None:
        if domain is not None:
            if auth_domain is not None and auth_domain != domain:
                raise ValueError("Pass auth_domain, or its old name domain, not both.")
            warnings.warn(
                "AnacondaAuth(domain=...) is deprecated: pass auth_domain=... (on the "
                "clients, domain= is the API domain).",
                DeprecationWarning,
                stacklevel=2,
            )
            auth_domain = domain
        context = site_context(
            settings,
            store=store,
            allowed_origins=allowed_origins,
            key_domain=auth_domain,
            site=site,
        )
        self._start(context, api_key=api_key, base_url=base_url)

    @classmethod
    def _for_context(
        cls, context: SiteContext, *, api_key: str | None, base_url: str | None
    ) -> AnacondaAuth:
        """The auth of a client, for the context its constructor built (not built again)."""
        auth = cls.__new__(cls)
        auth._start(context, api_key=api_key, base_url=base_url)
        return auth

    def _start(self, context: SiteContext, *, api_key: str | None, base_url: str | None) -> None:
        self._provider = TokenProvider(context, api_key=api_key, base_url=base_url)
        self._extra: tuple[frozenset[Origin], tuple[tuple[str, str], ...]] | None = None

    def send_extra_headers(self, headers: Mapping[str, str], api_url: str | httpx.URL) -> None:
        """Add `headers` to every request for the API at `api_url` (its https origin, or
        http on a loopback host) that does not set them itself; never to another origin.

        The clients call this with the ``extra_headers`` setting: those headers may carry
        a team's secret, and go where the key may go, not to every URL a client fetches.
        """
        items = tuple(headers.items())
        self._extra = (key_origins(api_url), items) if items else None

    def __repr__(self) -> str:
        provider = self._provider
        source = provider.current.source if provider.current else "store"
        return f"AnacondaAuth(auth_domain={provider.domain!r}, source={source!r})"

    @property
    def domain(self) -> str:
        """The auth domain whose stored key is used."""
        return self._provider.domain

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Drive `_flow` for `httpx.AsyncClient`, loading the key without blocking."""
        provider = self._provider
        flow = self._flow(request, provider.current if provider.ready else await provider.aget())
        with contextlib.closing(flow):  # closed with this driver, as httpx closes drivers
            step: _Step | None = next(flow)
            while step is not None:
                if isinstance(step, _Reload):
                    step = flow.send(await provider.areload(step.stale))
                    continue
                if isinstance(step, _Rejected):
                    await provider.amark_rejected(step.stale)
                    step = flow.send(None)
                    continue
                response = yield step
                if response.status_code in (401, 403):
                    await response.aread()
                step = _resume(flow, response)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Drive `_flow` for `httpx.Client`: loads the key (blocking) on first use."""
        provider = self._provider
        flow = self._flow(request, provider.current if provider.ready else provider.get())
        with contextlib.closing(flow):  # closed with this driver, as httpx closes drivers
            step: _Step | None = next(flow)
            while step is not None:
                if isinstance(step, _Reload):
                    step = flow.send(provider.reload(step.stale))
                    continue
                if isinstance(step, _Rejected):
                    provider.mark_rejected(step.stale)
                    step = flow.send(None)
                    continue
                response = yield step
                if response.status_code in (401, 403):
                    response.read()
                step = _resume(flow, response)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The flow for code that drives an `httpx.Auth` by hand: `sync_auth_flow`.

        It loads the key as a `httpx.Client` would (from the store, blocking, on first
        use) or raises what loading raises; a request with no key to send goes without
        one, and its 401/403 raises `LoginRequiredError` saying none was found. It never
        sends a request with a key it did not load.
        """
        return self.sync_auth_flow(request)

    def _flow(self, request: httpx.Request, credential: Credential | None) -> _Flow:
        """Set the header, send, map the answer: the pure core of every driver."""
        if self._extra is not None:
            _add_extra_headers(request, *self._extra)
        if "Authorization" in request.headers:
            yield request
            return
        origin = origin_of(request.url)
        if credential is None or origin not in credential.origins:
            if origin not in self._provider.home:
                yield request  # not this API: no key, and the answer is not ours to map
                return
            if credential is not None:
                raise ConfigurationError(elsewhere_message(credential, origin, self.domain))
        if credential is not None and time.time() >= credential.expires_at:
            credential = yield from self._renew_expired(credential)
        if credential is None:
            response = cast(httpx.Response, (yield request))
            if response.status_code == 401 or response.status_code == 403:
                raise LoginRequiredError(
                    no_key_message(response, self.domain), request=request, response=response
                )
            return
        self._attach(request, credential, origin)
        response = cast(httpx.Response, (yield request))
        if refuses_key(response):
            yield from self._retry_rejected(request, response, credential, origin)

    def _attach(self, request: httpx.Request, credential: Credential, origin: Origin) -> None:
        """Put `credential` on `request`: the one place a key is attached, on every path
        (the first send, after an expired key was re-read, the retry after a rejection),
        so a key re-read from the store goes only where it is bound to."""
        if origin not in credential.origins:
            raise ConfigurationError(elsewhere_message(credential, origin, self.domain))
        request.headers["Authorization"] = credential.header

    def _renew_expired(self, credential: Credential) -> Generator[_Step, _Reply, Credential | None]:
        # Another process may have logged in again since the key was loaded.
        renewed = cast("Credential | None", (yield _Reload(credential)))
        if renewed is not None and (
            renewed.key == credential.key or time.time() >= renewed.expires_at
        ):
            raise TokenExpiredError(expired_message(renewed, self.domain))
        return renewed  # a new key; or None (logged out since): sent without a key

    def _retry_rejected(
        self,
        request: httpx.Request,
        response: httpx.Response,
        credential: Credential,
        origin: Origin,
    ) -> _Flow:
        fresh = cast("Credential | None", (yield _Reload(credential)))
        if fresh is None or fresh.key == credential.key or time.time() >= fresh.expires_at:
            if fresh is not None and fresh.key == credential.key:
                yield _Rejected(credential)  # no newer key: remember this one was refused
            raise LoginRequiredError(
                rejected_message(response, credential.source, self.domain),
                request=request,
                response=response,
            )
        if not _replayable(request):
            raise LoginRequiredError(
                unreplayable_message(response),
                request=request,
                response=response,
            )
        self._attach(request, fresh, origin)
        response = cast(httpx.Response, (yield request))
        if refuses_key(response):
            yield _Rejected(fresh)
            raise LoginRequiredError(
                rejected_message(response, fresh.source, self.domain),
                request=request,
                response=response,
            )


def _add_extra_headers(
    request: httpx.Request, origins: frozenset[Origin], headers: tuple[tuple[str, str], ...]
) -> None:
    if origin_of(request.url) in origins:
        for name, value in headers:
            if name not in request.headers:
                request.headers[name] = value


def _resume(flow: _Flow, response: httpx.Response) -> _Step | None:
    """The flow's next step after `response`, or None when it is done."""
    try:
        return flow.send(response)
    except StopIteration:
        return None


def _replayable(request: httpx.Request) -> bool:
    try:
        request.content  # noqa: B018 - raises when the body is a one-shot stream
    except httpx.RequestNotRead:
        return False
    return True


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
