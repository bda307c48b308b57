"""Where an API key may be sent: origins as plain tuples, computed once (pure, no I/O).

A key belongs to the API origin it is for: ``https://<api domain>``, and plain ``http``
to the same host and port only when the host is a loopback address. `origin_of` turns a
request's URL into an `Origin` tuple with the port always explicit, so the per-request
check in `AnacondaAuth` is one tuple build and one ``frozenset`` membership test.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import httpx

from ..foundation.errors import ConfigurationError

__all__ = ["Origin", "describe", "is_loopback", "key_origins", "origin_of", "parse_origins"]

Origin = tuple[str, bytes, int]
"""(scheme, host as httpx's ASCII ``raw_host``, port), the port explicit even when it is the
scheme's default (bytes: reading them is cheaper than httpx's decoded ``host``)."""

DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_of(url: httpx.URL) -> Origin:
    """The origin of `url` (the hot path: attribute reads and one dict lookup at most)."""
    scheme = url.scheme
    return (scheme, url.raw_host, url.port or DEFAULT_PORTS.get(scheme, 0))


def is_loopback(host: str | bytes) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_origins(url: str | httpx.URL) -> frozenset[Origin]:
    """The origins a key for `url` may go to: its https origin, and http on loopback.

    An ``http`` URL to a host that is not a loopback address yields no origin at all: a
    key never travels in clear text over the network.
    """
    parsed = httpx.URL(url)
    scheme, host, port = origin_of(parsed)
    if scheme not in DEFAULT_PORTS or not host:
        return frozenset()
    if is_loopback(host):
        return frozenset({("https", host, port), ("http", host, port)})
    if scheme != "https":
        return frozenset()
    return frozenset({("https", host, port)})


def parse_origins(values: Iterable[str]) -> frozenset[Origin]:
    """Origins given with the ``allowed_origins`` option; raises `ConfigurationError`."""
    result: set[Origin] = set()
    for value in values:
        try:
            origins = key_origins(value) if "://" in value else frozenset()
        except (httpx.InvalidURL, TypeError):
            origins = frozenset()
        if not origins:
            raise ConfigurationError(
                f"allowed_origins: {value!r} is not an https origin like "
                "https://api.example.com (plain http is accepted only for a loopback host)."
            )
        result |= origins
    return frozenset(result)


def describe(origin: Origin) -> str:
    """``https://host[:port]`` for a message (the port only when not the default)."""
    scheme, raw, port = origin
    host = raw.decode("ascii", "replace")
    shown = f"[{host}]" if ":" in host else host
    return (
        f"{scheme}://{shown}" if DEFAULT_PORTS.get(scheme) == port else f"{scheme}://{shown}:{port}"
    )
