"""Security: no local process can end a browser login (issue 13, finding 4).

A local attacker is a plain HTTP client (or a socket) on 127.0.0.1 / ::1 that does not
know the login's ``state``.
"""

from __future__ import annotations

import socket
from typing import Any

import anyio
import httpx
import pytest

from anaconda_auth_async.foundation.errors import LoginError
from anaconda_auth_async.logins.flows.loopback_listener import listen_for_callback

STATE = "the-real-state"
ISSUER = "https://id.example.test"
SUCCESS = "https://example.test/ok"
ERROR = "https://example.test/error"
LIMIT = 10


def listening(uri: str = "http://127.0.0.1:8000/auth/oidc", **options: Any) -> Any:
    kwargs: dict[str, Any] = {"ephemeral": True, "read_timeout": LIMIT}
    kwargs.update(options)
    return listen_for_callback(uri, state=STATE, success_url=SUCCESS, error_url=ERROR, **kwargs)


async def attack_then_answer(
    listener: Any, attacks: list[dict[str, str]], answer: dict[str, str]
) -> tuple[str, list[int]]:
    """Send each attack, then the provider's answer; return the code and every status."""
    statuses: list[int] = []
    code = ""
    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as tg:

            async def visit() -> None:
                async with httpx.AsyncClient(trust_env=False, timeout=LIMIT) as http:
                    for params in [*attacks, answer]:
                        response = await http.get(listener.redirect_uri, params=params)
                        statuses.append(response.status_code)

            tg.start_soon(visit)
            code = await listener.wait()
    return code, statuses


@pytest.mark.anyio
async def test_finding4_local_process_cannot_end_the_login() -> None:
    attacks = [
        {"code": "evil", "state": "wrong"},
        {"code": "evil"},
        {"error": "access_denied", "error_description": "\x1b[31mCall 555-0100 now\x1b[0m"},
        {"error": "access_denied", "state": "wrong"},
        {"code": "evil", "state": STATE[:-1]},
    ]
    async with listening() as listener:
        code, statuses = await attack_then_answer(
            listener, attacks, {"code": "real", "state": STATE}
        )
    assert code == "real"
    assert statuses == [400] * len(attacks) + [302]


@pytest.mark.anyio
async def test_finding4_repeated_state_is_rejected_not_fatal() -> None:
    async with listening() as listener:
        port = httpx.URL(listener.redirect_uri).port
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                statuses: list[int] = []

                async def visit() -> None:
                    async with httpx.AsyncClient(trust_env=False, timeout=LIMIT) as http:
                        base = f"http://127.0.0.1:{port}/auth/oidc"
                        for query in (
                            f"code=a&state={STATE}&state={STATE}",
                            f"code=b&state={STATE}",
                        ):
                            statuses.append((await http.get(f"{base}?{query}")).status_code)

                tg.start_soon(visit)
                assert await listener.wait() == "b"
    assert statuses == [400, 302]


@pytest.mark.anyio
async def test_finding4_iss_is_checked_when_the_provider_advertises_it() -> None:
    attacks = [
        {"code": "mixup", "state": STATE, "iss": "https://evil.example"},
        {"code": "mixup", "state": STATE},  # promised, so required
    ]
    async with listening(issuer=ISSUER, require_issuer=True) as listener:
        code, statuses = await attack_then_answer(
            listener, attacks, {"code": "real", "state": STATE, "iss": ISSUER}
        )
    assert (code, statuses) == ("real", [400, 400, 302])


@pytest.mark.anyio
async def test_iss_is_optional_when_not_advertised_but_checked_when_sent() -> None:
    attacks = [{"code": "mixup", "state": STATE, "iss": "https://evil.example"}]
    async with listening(issuer=ISSUER) as listener:
        code, statuses = await attack_then_answer(listener, attacks, {"code": "ok", "state": STATE})
    assert (code, statuses) == ("ok", [400, 302])


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.anyio
@pytest.mark.skipif(not _ipv6(), reason="no IPv6 loopback on this machine")
async def test_finding6_localhost_redirect_cannot_be_received_by_another_user_on_ipv6() -> None:
    with socket.socket(socket.AF_INET6) as squatter:  # another user got there first
        squatter.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        squatter.bind(("::1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(LoginError, match=str(port)):
            async with listening(f"http://localhost:{port}/auth/oidc", ephemeral=False):
                pass


@pytest.mark.anyio
@pytest.mark.skipif(not _ipv6(), reason="no IPv6 loopback on this machine")
async def test_localhost_redirect_listens_on_both_loopback_addresses() -> None:
    async with listening("http://localhost:8000/auth/oidc") as listener:
        port = httpx.URL(listener.redirect_uri).port
        assert listener.redirect_uri == f"http://localhost:{port}/auth/oidc"
        statuses = []
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:

                async def visit() -> None:
                    async with httpx.AsyncClient(trust_env=False, timeout=LIMIT) as http:
                        for host in ("[::1]", "127.0.0.1"):
                            url = f"http://{host}:{port}/auth/oidc"
                            params = {"code": "c", "state": STATE if host != "[::1]" else "x"}
                            statuses.append((await http.get(url, params=params)).status_code)

                tg.start_soon(visit)
                assert await listener.wait() == "c"
        assert statuses == [400, 302]


@pytest.mark.anyio
async def test_finding6_port_zero_in_a_fixed_redirect_uri_is_refused() -> None:
    with pytest.raises(LoginError, match="port 0"):
        async with listening("http://127.0.0.1:0/auth/oidc", ephemeral=False):
            pass
    async with listening("http://127.0.0.1:0/auth/oidc", ephemeral=True) as listener:
        assert httpx.URL(listener.redirect_uri).port not in (0, 80, None)
