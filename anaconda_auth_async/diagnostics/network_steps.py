"""The network checks: ``auth_domain``, ``api_domain``, ``proxy`` (and the Date headers the
``clock`` check reads).

Each domain is probed step by step, each step under its own time limit, so the first
failing step is named: DNS (in a daemon thread, so an unanswered lookup never holds the
process at exit), TCP, the proxy's CONNECT when an ``http://`` proxy is in use, the TLS
handshake with the configured trust (`transport.transport_config`: the SSL context every
request uses), then one HTTPS request through the SDK's own client (`async_http_client`:
the same proxy and TLS options). The two domains are probed in parallel.
"""

from __future__ import annotations

import base64
import email.utils
import os
import socket
import ssl
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import anyio
import httpx
from anyio.streams.tls import TLSAttribute, TLSStream

from ..foundation.errors import ConfigurationError, DiscoveryError
from ..foundation.safe_text import json_object, without_password
from ..foundation.threads import in_daemon_thread
from ..logins.provider import ProviderMetadata, expected_issuer
from ..network.transport import (
    async_http_client,
    describe_network_error,
    transport_config,
    transport_override,
)
from .certificate_issuer import describe_trust, explain_verify_failure, parse_chain, peer_chain
from .report import DoctorCheck

if TYPE_CHECKING:
    from anyio.abc import ByteStream

    from ..settings.fields import AnacondaAuthSettings

__all__ = ["Probe", "ProxyUse", "probe_domain", "proxy_check", "proxy_for"]


_MAX_PROXY_ANSWER = 16 * 1024
_PROXY_FIX = "check the proxy setting (ANACONDA_AUTH_PROXY, or HTTPS_PROXY/NO_PROXY)"


@dataclass(frozen=True)
class ProxyUse:
    """The proxy a request to one URL goes through, and where that was set."""

    url: str  # with any password hidden
    raw: str = field(repr=False)
    source: str = ""


@dataclass
class Probe:
    """What probing one domain found: its check, and what the later checks need."""

    check: DoctorCheck
    host: str
    date_skew: float | None = None  # the server's Date minus this computer's time, seconds
    metadata: ProviderMetadata | None = None  # the auth domain's OpenID configuration
    proxy: ProxyUse | None = None
    proxy_problem: str | None = None  # set when the proxy itself failed


class _StepFailed(Exception):
    def __init__(self, summary: str, fix: str, *, proxy_problem: str | None = None) -> None:
        super().__init__(summary)
        self.summary, self.fix, self.proxy_problem = summary, fix, proxy_problem


def proxy_for(url: str, settings: AnacondaAuthSettings) -> ProxyUse | None:
    """The proxy httpx would use for `url`: the proxy setting, else the environment's."""
    if settings.proxy:
        source = f"the proxy setting, from {settings.source_of('proxy')}"
        return ProxyUse(without_password(settings.proxy), settings.proxy, source)
    host = urlsplit(url).hostname or ""
    proxies = urllib.request.getproxies_environment()
    raw = proxies.get("https") or proxies.get("all")
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 (not in the stubs)
    if not raw or bypass(host):
        return None
    return ProxyUse(without_password(raw), raw, "HTTPS_PROXY/ALL_PROXY in the environment")


async def _resolve(host: str, port: int, limit: float, what: str, fix: str) -> list[str]:
    def lookup() -> list[str]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    try:
        # Not anyio's worker pool: a lookup that never answers would hold up the exit.
        with anyio.fail_after(limit):
            return await in_daemon_thread(lookup, name="anaconda-auth-doctor-dns")
    except TimeoutError:
        raise _StepFailed(f"{what}: no DNS answer for {host} within {limit:g} s", fix) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _StepFailed(
            f"{what}: the name {host} could not be resolved (DNS: {reason})", fix
        ) from None


async def _connect(
    addresses: list[str], port: int, limit: float, what: str, fix: str
) -> ByteStream:
    last = ""
    for address in addresses[:2]:  # the first of each family is enough to tell
        try:
            with anyio.fail_after(limit):
                return await anyio.connect_tcp(address, port)
        except TimeoutError:
            last = (
                f"no answer from {address} port {port} within {limit:g} s (a firewall may drop it)"
            )
        except OSError as exc:
            last = f"{address} port {port}: {_os_reason(exc)}"
    raise _StepFailed(f"{what}: the connection failed ({last})", fix)


def _os_reason(exc: BaseException) -> str:
    """The most specific reason in `exc`, its causes and grouped members."""
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if isinstance(current, OSError) and (current.errno or current.strerror):
            return os.strerror(current.errno) if current.errno else str(current.strerror)
        todo += list(getattr(current, "exceptions", ()))
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return str(exc) or type(exc).__name__


async def _tunnel(stream: ByteStream, host: str, port: int, proxy: ProxyUse, limit: float) -> None:
    """Ask an ``http://`` proxy for a tunnel to host:port (CONNECT), as httpx would."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    parts = urlsplit(proxy.raw)
    if parts.username is not None:
        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(user.encode()).decode())
    answer = b""
    try:
        with anyio.fail_after(limit):
            await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            while b"\r\n\r\n" not in answer and len(answer) < _MAX_PROXY_ANSWER:
                answer += await stream.receive(4096)
    except TimeoutError:
        problem = f"the proxy {proxy.url} did not answer CONNECT {target} within {limit:g} s"
        raise _StepFailed(problem, _PROXY_FIX, proxy_problem=problem) from None
    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
        problem = f"the proxy {proxy.url} closed the connection when asked for {target}"
        raise _StepFailed(problem, _PROXY_FIX, proxy_problem=problem) from None
    status = answer.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    code = status.split(" ", 2)[1] if status.count(" ") >= 1 else ""
    if code != "200":
        problem = f"the proxy {proxy.url} refused CONNECT {target}: it answered {status!r}"
        fix = "ask whoever runs the proxy to allow this host, or " + _PROXY_FIX
        if code == "407":
            fix = "put the proxy's user name and password in the proxy URL, or " + _PROXY_FIX
        raise _StepFailed(problem, fix, proxy_problem=problem)


async def _open(
    host: str, port: int, proxy: ProxyUse | None, limit: float, what: str, fix: str
) -> ByteStream:
    """A TCP stream to host:port, through an ``http://`` proxy's tunnel if one is in use."""
    if proxy is None:
        return await _connect(await _resolve(host, port, limit, what, fix), port, limit, what, fix)
    parts = urlsplit(proxy.raw)
    proxy_host, proxy_port = parts.hostname or "", parts.port or 80
    try:
        addresses = await _resolve(proxy_host, proxy_port, limit, "the proxy", _PROXY_FIX)
        stream = await _connect(addresses, proxy_port, limit, "the proxy", _PROXY_FIX)
    except _StepFailed as exc:
        problem = f"{exc.summary.replace('the proxy: ', '')} (proxy {proxy.url})"
        raise _StepFailed(
            f"{what} through the proxy: {problem}", _PROXY_FIX, proxy_problem=problem
        ) from None
    try:
        await _tunnel(stream, host, port, proxy, limit)
    except BaseException:
        await anyio.aclose_forcefully(stream)
        raise
    return stream


async def _handshake(
    host: str,
    port: int,
    proxy: ProxyUse | None,
    settings: AnacondaAuthSettings,
    limit: float,
    what: str,
    fix: str,
) -> str:
    """Do the TLS handshake with the configured trust; the issuer of the certificate."""
    context = transport_config(settings).verify
    if not isinstance(context, ssl.SSLContext):
        return "not checked"
    stream = await _open(host, port, proxy, limit, what, fix)
    try:
        with anyio.fail_after(limit):
            tls = await TLSStream.wrap(
                stream, hostname=host, ssl_context=context, standard_compatible=False
            )
    except ssl.SSLCertVerificationError as exc:
        await anyio.aclose_forcefully(stream)
        chain = await _unverified_chain(host, port, proxy, limit)
        summary, tls_fix = explain_verify_failure(host, exc, chain, describe_trust(settings))
        raise _StepFailed(f"{what}: {summary}", tls_fix) from None
    except TimeoutError:
        await anyio.aclose_forcefully(stream)
        raise _StepFailed(
            f"{what}: the TLS handshake with {host} did not finish within {limit:g} s", fix
        ) from None
    except (ssl.SSLError, OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        await anyio.aclose_forcefully(stream)
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise _StepFailed(
            f"{what}: the TLS handshake with {host} failed ({reason}); something on the way "
            "may not speak TLS or may cut it off",
            "check the domain settings and any proxy or firewall in the way",
        ) from None
    der = tls.extra(TLSAttribute.peer_certificate_binary, None)  # noqa: S610 (not Django)
    await anyio.aclose_forcefully(tls)
    chain = parse_chain([der]) if der else None
    return chain.issuer if chain is not None else "an unknown issuer"


async def _unverified_chain(host: str, port: int, proxy: ProxyUse | None, limit: float) -> Any:
    """The certificates the server sends, read without verification only to name them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        stream = await _open(host, port, proxy, limit, "", "")
        with anyio.fail_after(limit):
            tls = await TLSStream.wrap(
                stream, hostname=host, ssl_context=context, standard_compatible=False
            )
    except (
        _StepFailed,
        TimeoutError,
        ssl.SSLError,
        OSError,
        anyio.BrokenResourceError,
        anyio.EndOfStream,
    ):
        return None
    try:
        return parse_chain(peer_chain(tls.extra(TLSAttribute.ssl_object)))  # noqa: S610
    finally:
        await anyio.aclose_forcefully(tls)


async def probe_domain(
    name: str, url: str, settings: AnacondaAuthSettings, *, limit: float, discovery: bool = False
) -> Probe:
    """Probe the server of `url` step by step; `discovery`: `url` is the OpenID configuration."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    label = {"auth_domain": "auth domain", "api_domain": "API domain"}.get(name, name)
    what = f"The {label} {parts.netloc} cannot be reached"
    setting = f"{name} setting (from {settings.source_of(name)})"
    proxy = proxy_for(url, settings)
    fix = (
        f"check this computer's network connection and DNS, the {setting}, and whether this "
        "network needs a proxy (set ANACONDA_AUTH_PROXY or HTTPS_PROXY)"
    )
    probe = Probe(DoctorCheck(name, "ok", ""), host, proxy=proxy)
    try:
        issuer = "not checked"
        raw = proxy is None or proxy.raw.startswith("http://")
        if transport_override() is None and parts.scheme == "https" and raw:
            issuer = await _handshake(host, port, proxy, settings, limit, what, fix)
        response, skew = await _request(url, settings, limit, what, fix, proxy)
    except _StepFailed as exc:
        probe.check = DoctorCheck(name, "fail", exc.summary, exc.fix)
        probe.proxy_problem = exc.proxy_problem
        return probe
    probe.date_skew = skew
    via = f" through the proxy {proxy.url}" if proxy is not None else ""
    tls = f", TLS certificate issued by {issuer}" if issuer != "not checked" else ""
    reached = f"{parts.netloc} answered{via}{tls}"
    if discovery:
        try:
            document = json_object(response.content) if response.status_code == 200 else None
            if document is None:
                raise DiscoveryError(f"it answered {response.status_code} {response.reason_phrase}")
            probe.metadata = ProviderMetadata.from_document(
                url, document, issuer=expected_issuer(url)
            )
        except DiscoveryError as exc:
            probe.check = DoctorCheck(
                name,
                "fail",
                f"{reached}, but not with a usable OpenID configuration at {url}: {exc}",
                f"check the {setting}: it must name Anaconda's login server (or your own "
                "OpenID provider)",
            )
            return probe
        device = "offers" if probe.metadata.device_authorization_endpoint else "does not offer"
        reached += f"; its OpenID configuration is valid and {device} device-code login"
    else:
        reached += f" ({response.status_code} {response.reason_phrase} to GET {parts.path or '/'})"
    probe.check = DoctorCheck(name, "ok", reached)
    return probe


async def _request(
    url: str,
    settings: AnacondaAuthSettings,
    limit: float,
    what: str,
    fix: str,
    proxy: ProxyUse | None,
) -> tuple[httpx.Response, float | None]:
    """One GET through the SDK's own client; the response and the Date header's skew."""
    try:
        async with async_http_client(settings, timeout=httpx.Timeout(limit)) as http:
            with anyio.fail_after(limit * 2):
                before = time.time()
                response = await http.get(url, follow_redirects=False)
                after = time.time()
    except ConfigurationError as exc:
        raise _StepFailed(f"{what}: {exc}", "correct the setting named above") from None
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        detail = describe_network_error(exc) if not isinstance(exc, TimeoutError) else "timed out"
        problem = None
        if isinstance(exc, httpx.ProxyError) and proxy is not None:
            problem = f"the proxy {proxy.url} failed ({detail})"
        raise _StepFailed(
            f"{what}: {detail}", _PROXY_FIX if problem else fix, proxy_problem=problem
        ) from None
    date = response.headers.get("date")
    parsed = email.utils.parsedate_to_datetime(date) if date else None
    skew = parsed.timestamp() + 0.5 - (before + after) / 2 if parsed is not None else None
    return response, skew


def proxy_check(probes: list[Probe]) -> DoctorCheck:
    """The ``proxy`` check: which proxy the requests go through, and whether it answered."""
    used = [p for p in probes if p.proxy is not None]
    if not used:
        return DoctorCheck("proxy", "ok", "No proxy: connections go directly to the servers")
    failed = next((p for p in used if p.proxy_problem), None)
    proxy = used[0].proxy
    assert proxy is not None
    if failed is not None:
        return DoctorCheck(
            "proxy",
            "fail",
            f"The proxy {proxy.url} (from {proxy.source}) failed: {failed.proxy_problem}",
            failed.check.fix or _PROXY_FIX,
        )
    answered = [p.host for p in used if p.check.status == "ok"]
    if not answered:
        return DoctorCheck(
            "proxy",
            "skip",
            f"Requests go through {proxy.url} (from {proxy.source}); no server "
            "answered through it (see the domain checks)",
        )
    return DoctorCheck(
        "proxy",
        "ok",
        f"Requests go through {proxy.url} (from {proxy.source}); it answered "
        f"for {', '.join(answered)}",
    )
