"""The options the clients take beside their own: httpx's, typed, and the anaconda-auth
arguments they refuse, each with what to pass instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping

    import httpx
    from httpx._types import (
        AuthTypes,
        CertTypes,
        CookieTypes,
        ProxyTypes,
        QueryParamTypes,
        TimeoutTypes,
    )
    from typing_extensions import TypedDict

    class _Options(TypedDict, total=False):
        """The httpx client options both faces pass through unchanged."""

        auth: AuthTypes | None
        params: QueryParamTypes | None
        cookies: CookieTypes | None
        verify: ssl.SSLContext | str | bool
        cert: CertTypes | None
        trust_env: bool
        http1: bool
        http2: bool
        proxy: ProxyTypes | None
        timeout: TimeoutTypes
        follow_redirects: bool
        limits: httpx.Limits
        max_redirects: int
        default_encoding: str | Callable[[bytes], str]

    class ClientOptions(_Options, total=False):
        """`httpx.Client` options."""

        mounts: Mapping[str, httpx.BaseTransport | None] | None
        event_hooks: Mapping[str, list[Callable[[httpx.Response], object]]] | None
        transport: httpx.BaseTransport | None

    class AsyncClientOptions(_Options, total=False):
        """`httpx.AsyncClient` options."""

        mounts: Mapping[str, httpx.AsyncBaseTransport | None] | None
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None
        transport: httpx.AsyncBaseTransport | None


__all__ = ["UNSUPPORTED", "refuse_unsupported"]

UNSUPPORTED = {
    "hash_hostname": (
        "it chose how anaconda-auth sent the machine's host name (the X-Client-Hostname "
        "header), and this package sends no host name at all; remove the argument (to send "
        "a header of your own, pass extra_headers=)"
    ),
    "config": "pass site= (a name) or settings= (an AnacondaAuthSettings) instead",
}
"""anaconda-auth client arguments with no equivalent here, and what to do instead."""


def refuse_unsupported(cls: str, options: dict[str, Any]) -> None:
    """`TypeError` naming the replacement for an anaconda-auth argument we do not take."""
    for name, instead in UNSUPPORTED.items():
        if name in options:
            raise TypeError(f"{cls}() does not take anaconda-auth's argument {name}=: {instead}.")
