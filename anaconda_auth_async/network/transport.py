"""One transport configuration per distinct settings: SSL context, proxy, client cert, timeout.

The SSL context is built once per distinct configuration and cached for the process:
every client this SDK makes (API clients, discovery, JWKS, token and key exchange) shares
it, with the client certificate loaded into it once. Also here: the whole-request time
limit (`send_within`) and the one description of a failed request
(`describe_network_error`). Why one context: docs/decisions.md, "One SSL context per
configuration".
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from .._version import __version__
from ..foundation.errors import ConfigurationError
from ..foundation.safe_text import MAX_JSON_BYTES, MAX_LENGTH, safe_line

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from httpx._client import UseClientDefault
    from httpx._types import AuthTypes

    from ..settings.fields import AnacondaAuthSettings

__all__ = [
    "SLOW_ANSWER_SECONDS",
    "DeadlineExceeded",
    "TransportConfig",
    "async_http_client",
    "build_ssl_context",
    "deadline_exceeded",
    "describe_network_error",
    "overall_limit",
    "send_within",
    "set_transport_override",
    "transport_config",
    "transport_override",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"anaconda-auth-async/{__version__}"
MAX_BODY_BYTES = MAX_JSON_BYTES + 1
"""Bytes of an answer's body the SDK's own requests read: one more than JSON may have, so
a larger body is still seen as too large."""

# ssl_verify, client_cert, client_cert_key, proxy, timeout, SSL_CERT_FILE, SSL_CERT_DIR
_Key = tuple[bool | str, str | None, str | None, str | None, float, str | None, str | None]

_cache: dict[_Key, TransportConfig] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class TransportConfig:
    """The connection options shared by every client built from the same settings."""

    verify: ssl.SSLContext | bool
    cert: tuple[str, str] | str | None
    proxy: str | None
    timeout: httpx.Timeout = field(compare=False)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client` / `httpx.AsyncClient` (a fresh dict).

        The client certificate is already loaded into the SSL context, so ``cert`` is not
        among them.
        """
        return {"verify": self.verify, "proxy": self.proxy, "timeout": self.timeout}


def transport_config(settings: AnacondaAuthSettings) -> TransportConfig:
    """The cached `TransportConfig` for these settings: one SSL context per distinct config.

    Raises `ConfigurationError` when the CA bundle, truststore or client certificate
    cannot be used.
    """
    key: _Key = (
        settings.ssl_verify,
        settings.client_cert,
        settings.client_cert_key,
        settings.proxy,
        settings.timeout,
        # httpx honours these when it builds its default context; so do we.
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("SSL_CERT_DIR"),
    )
    config = _cache.get(key)
    if config is not None:
        return config
    with _cache_lock:
        config = _cache.get(key)
        if config is None:
            cert = _cert(settings)
            config = TransportConfig(
                verify=build_ssl_context(settings.ssl_verify, cert=cert),
                cert=cert,
                proxy=settings.proxy,
                timeout=httpx.Timeout(settings.timeout),
            )
            _cache[key] = config
            logger.debug("built a TLS context (ssl_verify=%r)", settings.ssl_verify)
    return config


class DeadlineExceeded(httpx.TimeoutException):
    """A request and its whole answer took longer than its time limit (``timeout``)."""


TIMEOUT_SETTING = "ANACONDA_AUTH_TIMEOUT"


def deadline_exceeded(
    limit: float, request: httpx.Request, setting: str = TIMEOUT_SETTING
) -> DeadlineExceeded:
    """The one `DeadlineExceeded` for a request cut off after `limit` seconds in all;
    `setting` names what set the limit (the ``timeout`` setting, or a client's own)."""
    return DeadlineExceeded(
        f"no complete answer within {limit:g} seconds ({setting})", request=request
    )


async def send_within(
    limit: float | None,
    request: httpx.Request,
    send: Awaitable[httpx.Response],
    *,
    setting: str = TIMEOUT_SETTING,
) -> httpx.Response:
    """Await `send` (a request whose body is read before it returns) for `limit` seconds
    in all, body included; past it, raise `DeadlineExceeded` naming `setting`. ``None``
    applies no overall limit (a client built with ``timeout=None``).

    httpx's own timeouts bound each read, so a server trickling one byte a second would
    pass them forever; this bounds the whole operation. A caller's time limit around it
    (such as the login's) still wins.
    """
    if limit is None:
        return await send
    with anyio.move_on_after(limit):
        return await send
    raise deadline_exceeded(limit, request, setting)


def overall_limit(timeout: httpx.Timeout) -> float | None:
    """The whole-request limit a client's httpx `timeout` implies: its longest phase, or
    None when any phase is unlimited (the caller asked to wait for it)."""
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if any(phase is None for phase in phases):
        return None
    return max(phase for phase in phases if phase is not None)


SLOW_ANSWER_SECONDS = 2.0
"""After this long without an answer, a login says what it is waiting for (``on_slow``)."""


class _DeadlineClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` whose every (non-streamed) request has an overall deadline."""

    def __init__(
        self,
        *,
        deadline: float,
        on_slow: Callable[[httpx.Request], object] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.deadline = deadline
        self.on_slow = on_slow

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: AuthTypes | UseClientDefault | None = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """`httpx.AsyncClient.send`, limited to `deadline` seconds in all unless streamed,
        and to the first `MAX_BODY_BYTES` of the answer's body (the rest is never read)."""
        call = super().send(request, stream=True, auth=auth, follow_redirects=follow_redirects)
        if stream:
            return await call
        bounded = send_within(self.deadline, request, _read_bounded(call))
        if self.on_slow is None:
            return await bounded
        on_slow = self.on_slow
        return await _noticing(bounded, lambda: on_slow(request))


async def _noticing(
    call: Awaitable[httpx.Response], notice: Callable[[], object]
) -> httpx.Response:
    """Await `call`; if it has not answered after `SLOW_ANSWER_SECONDS`, call `notice` once."""
    answer: list[httpx.Response] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def after_a_while() -> None:
            await anyio.sleep(SLOW_ANSWER_SECONDS)
            notice()

        group.start_soon(after_a_while)
        try:
            answer.append(await call)
        except Exception as exc:  # re-raised below, not wrapped in an exception group
            failure.append(exc)
        finally:
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return answer[0]


async def _read_bounded(call: Awaitable[httpx.Response]) -> httpx.Response:
    """The response of `call` with at most `MAX_BODY_BYTES` of its body read: every answer
    the SDK's own requests get (discovery, JWKS, token, device, API key) is a small JSON
    object, and one larger than that is cut, then refused by the parser, not held whole."""
    response = await call
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk[: MAX_BODY_BYTES - size])
            size += len(chunks[-1])
            if size >= MAX_BODY_BYTES:
                break
        # What `aread` sets: later reads of `content` return these bytes.
        response._content = b"".join(chunks)
    finally:
        await response.aclose()
    return response


# The transport every client the SDK makes uses unless given one (`testing.use_platform`).
_transport_override: list[httpx.MockTransport | None] = [None]


def set_transport_override(transport: httpx.MockTransport | None) -> httpx.MockTransport | None:
    """Make every client the SDK builds without a ``transport`` use `transport` (None: stop);
    return the previous one. For `anaconda_auth_async.testing`; not for production."""
    previous = _transport_override[0]
    _transport_override[0] = transport
    return previous


def transport_override() -> httpx.MockTransport | None:
    """The transport set by `set_transport_override`, if any."""
    return _transport_override[0]


def async_http_client(
    settings: AnacondaAuthSettings,
    *,
    on_slow: Callable[[httpx.Request], object] | None = None,
    **overrides: Any,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` with the shared transport config, for OIDC and key exchange.

    Each request it sends, its body included, must complete within the ``timeout``
    setting or fails with `DeadlineExceeded` (an `httpx.TimeoutException`): the one place
    where the per-operation deadline of discovery, JWKS, token, device polling and API-key
    requests is applied. It sends no API key. Any keyword argument is passed to httpx and
    wins over ours. `on_slow` is called with a request that has had no answer after
    `SLOW_ANSWER_SECONDS` (a login says what it waits for).
    """
    options: dict[str, Any] = transport_config(settings).client_kwargs()
    options["headers"] = {"User-Agent": USER_AGENT}
    if _transport_override[0] is not None:
        options["transport"] = _transport_override[0]
    options.update({k: v for k, v in overrides.items() if v is not None})
    return _DeadlineClient(deadline=settings.timeout, on_slow=on_slow, **options)


def build_ssl_context(
    ssl_verify: bool | str, *, cert: tuple[str, str] | str | None = None
) -> ssl.SSLContext:
    """A new SSL context: ``True`` (httpx's default CAs), ``False``, ``"truststore"``, or
    the path of a CA bundle file or directory; with the client certificate loaded.

    Prefer `transport_config`, which caches the result.
    """
    if ssl_verify is True:
        context = _default_context()
    elif ssl_verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ssl_verify == "truststore":
        context = _truststore_context()
    else:
        context = _bundle_context(ssl_verify)
    if cert is not None:
        _load_cert(context, cert)
    return context


def _default_context() -> ssl.SSLContext:
    create = getattr(httpx, "create_ssl_context", None)
    if create is not None:
        context: ssl.SSLContext = create(verify=True, trust_env=True)
        return context
    import certifi  # pragma: no cover - httpx without create_ssl_context

    return ssl.create_default_context(cafile=certifi.where())  # pragma: no cover


def _truststore_context() -> ssl.SSLContext:
    try:
        import truststore  # optional extra, only for ssl_verify=truststore
    except ImportError:
        raise ConfigurationError(
            "ssl_verify='truststore' needs the truststore package; install it with "
            "`pip install 'anaconda-auth-async[truststore]'`."
        ) from None
    context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context


def _bundle_context(path: str) -> ssl.SSLContext:
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"The CA bundle {path} could not be loaded ({_reason(exc)}); "
            "set ssl_verify to a readable PEM file or directory."
        ) from None


def _cert(settings: AnacondaAuthSettings) -> tuple[str, str] | str | None:
    if settings.client_cert is None:
        if settings.client_cert_key is not None:
            raise ConfigurationError(
                "client_cert_key is set but client_cert is not; set client_cert to the "
                "client certificate (PEM) too."
            )
        return None
    if settings.client_cert_key is None:
        return settings.client_cert
    return (settings.client_cert, settings.client_cert_key)


def _no_password() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal for an encrypted key.
    return b""


def _load_cert(context: ssl.SSLContext, cert: tuple[str, str] | str) -> None:
    certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
    try:
        context.load_cert_chain(certfile, keyfile, password=_no_password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"The client certificate {certfile} could not be loaded ({_reason(exc)}); "
            "set client_cert (and client_cert_key) to readable PEM files with an "
            "unencrypted key."
        ) from None


def _reason(exc: OSError | ssl.SSLError) -> str:
    return str(getattr(exc, "reason", None) or exc.strerror or type(exc).__name__)


def describe_network_error(exc: BaseException, *, limit: int = MAX_LENGTH) -> str:
    """A failed request's type and its most specific cause, on one short, secret-free line.

    httpx often wraps the useful part (an SSL verification failure, a refused connection)
    in its own exception, and on trio its own message is empty, so the chain of causes is
    walked for the innermost text. Anything shaped like a JWT is redacted.
    """
    if isinstance(exc, DeadlineExceeded):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    text, seen = "", set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        text = str(cause).strip() or text
        cause = cause.__cause__ or cause.__context__
    line = f"{type(exc).__name__}: {text}" if text.strip() else type(exc).__name__
    return safe_line(line, limit=limit)
