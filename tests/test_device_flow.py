"""Device-code login (RFC 8628) against the test kit's fake provider: polling, slow_down,
denial, expiry; the provider's answers are scripted where a test needs other ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest

from anaconda_auth_async import (
    AnacondaAuthSettings,
    LoginDeniedError,
    LoginError,
    LoginEvent,
    LoginTimeoutError,
)
from anaconda_auth_async.logins.flows.device_code import (
    DEVICE_CODE_GRANT,
    device_flow,
    parse_device_authorization,
    parse_poll_response,
)
from anaconda_auth_async.logins.flows.token_request import OAuthTokens
from anaconda_auth_async.logins.provider import discover
from anaconda_auth_async.testing import FakePlatform

ISSUER = "https://id.example.test"
DEVICE_CODE = "device-code-secret-3f9a"
DEVICE: dict[str, Any] = {
    "device_code": DEVICE_CODE,
    "user_code": "WDJB-MJHT",
    "verification_uri": f"{ISSUER}/device",
    "verification_uri_complete": f"{ISSUER}/device?user_code=WDJB-MJHT",
    "expires_in": 600,
    "interval": None,  # RFC 8628's default, 5 seconds
}
"""The device endpoint's answer in these tests (changes to the fake's usual one)."""
TOKENS = {"access_token": "access-1", "id_token": "id-1"}
"""The usual token answer (the code approved), with tokens the tests know."""
DEVICE_PATH, TOKEN_PATH = "/oauth2/device/auth", "/oauth2/token"


def error(code: str, status: int = 400) -> httpx.Response:
    return httpx.Response(status, json={"error": code})


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform(auth_domain="id.example.test", client_id="cli-123")


def sent(platform: FakePlatform) -> list[tuple[str, dict[str, list[str]]]]:
    """The device and token requests the flow made, as (path, form)."""
    flow = [r for r in platform.requests if r.url.path in (DEVICE_PATH, TOKEN_PATH)]
    return [(r.url.path, parse_qs(r.content.decode())) for r in flow]


def ignore(event: LoginEvent) -> None:
    pass


class Sleeps:
    """An injected sleep that records the intervals instead of waiting."""

    def __init__(self) -> None:
        self.intervals: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.intervals.append(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def settings(platform: FakePlatform) -> AnacondaAuthSettings:
    return platform.settings(client_id="cli-123")


async def run_flow(
    platform: FakePlatform,
    settings: AnacondaAuthSettings,
    *,
    polls: list[httpx.Response | dict[str, Any] | Exception],
    device: dict[str, Any] | httpx.Response | Exception = DEVICE,
    sleep: Callable[[float], Any] | None = None,
    on_event: Callable[[LoginEvent], object] = ignore,
    open_browser: Callable[[str], bool] | None = None,
) -> OAuthTokens:
    """Run the device flow against `platform` answering `device`, then `polls` in turn."""
    platform.script("device", device)
    platform.script("token", *polls)
    async with httpx.AsyncClient(transport=platform.transport) as http:
        metadata = await discover(http, settings)
        result = await device_flow(
            http,
            metadata,
            settings,
            on_event=on_event,
            sleep=sleep or Sleeps(),
            open_browser=open_browser,
        )
    assert result.nonce is None
    return result.tokens


@pytest.mark.anyio
async def test_polls_until_approved_honouring_slow_down(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    pending = error("authorization_pending")
    sleeps, events = Sleeps(), list[LoginEvent]()
    tokens = await run_flow(
        platform,
        settings,
        polls=[pending, pending, error("slow_down"), TOKENS],
        sleep=sleeps,
        on_event=events.append,
    )

    assert tokens.access_token == "access-1"
    assert tokens.id_token == "id-1"
    assert sleeps.intervals == [5, 5, 10]
    requests = sent(platform)
    paths = [path for path, _ in requests]
    assert paths == [DEVICE_PATH, TOKEN_PATH, TOKEN_PATH, TOKEN_PATH, TOKEN_PATH]
    assert requests[0][1] == {
        "client_id": ["cli-123"],
        "scope": ["openid email profile"],
    }
    for _, form in requests[1:]:
        assert form == {
            "grant_type": [DEVICE_CODE_GRANT],
            "device_code": [DEVICE_CODE],
            "client_id": ["cli-123"],
        }
    assert events[0] == LoginEvent(
        kind="device_code",
        url=f"{ISSUER}/device?user_code=WDJB-MJHT",
        user_code="WDJB-MJHT",
        expires_in=600,
    )
    assert [e.kind for e in events] == ["device_code", "waiting"]
    assert all(DEVICE_CODE not in repr(e) for e in events)


@pytest.mark.anyio
async def test_slow_down_is_permanent_and_server_interval_is_used(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    answer = {
        "device_code": DEVICE_CODE,
        "user_code": "ABCD",
        "verification_uri": f"{ISSUER}/activate",
        "verification_uri_complete": None,
        "expires_in": 900,
        "interval": 7,
    }
    polls = [error("slow_down"), error("authorization_pending"), error("slow_down"), TOKENS]
    sleeps, events = Sleeps(), list[LoginEvent]()
    await run_flow(
        platform, settings, polls=polls, device=answer, sleep=sleeps, on_event=events.append
    )
    assert sleeps.intervals == [12, 12, 17]
    # Without verification_uri_complete the plain URI is reported.
    assert events[0].url == f"{ISSUER}/activate"
    assert events[0].user_code == "ABCD"


@pytest.mark.anyio
async def test_access_denied(platform: FakePlatform, settings: AnacondaAuthSettings) -> None:
    polls = [error("authorization_pending"), error("access_denied")]
    with pytest.raises(LoginDeniedError, match="denied") as caught:
        await run_flow(platform, settings, polls=polls)
    assert caught.value.error == "access_denied"
    assert DEVICE_CODE not in str(caught.value)


@pytest.mark.anyio
async def test_expired_token(platform: FakePlatform, settings: AnacondaAuthSettings) -> None:
    polls = [error("authorization_pending"), error("expired_token")]
    with pytest.raises(LoginTimeoutError, match=r"code expired.*run the login again"):
        await run_flow(platform, settings, polls=polls)


@pytest.mark.anyio
async def test_no_device_endpoint_is_a_clear_error(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    platform.device_code_login = False
    with pytest.raises(LoginError, match=r"does not offer device-code login.*browser"):
        await run_flow(platform, settings, polls=[])
    assert sent(platform) == []


@pytest.mark.anyio
async def test_gives_up_when_the_code_lifetime_is_used_up(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    sleeps = Sleeps()
    with pytest.raises(LoginTimeoutError, match="code expired"):
        await run_flow(
            platform,
            settings,
            polls=[error("authorization_pending")] * 10,
            device={**DEVICE, "expires_in": 12},
            sleep=sleeps,
        )
    assert sleeps.intervals == [5, 5]
    assert len(sent(platform)) == 1 + 3


@pytest.mark.anyio
async def test_the_login_time_limit_is_not_applied_again_by_the_flow(
    platform: FakePlatform,
) -> None:
    # login() owns that limit; the flow waits as long as the code lives (15 s > 9 s here).
    settings = platform.settings(login_timeout=9)
    sleeps = Sleeps()
    polls: list[Any] = [error("authorization_pending")] * 3 + [TOKENS]
    assert (await run_flow(platform, settings, polls=polls, sleep=sleeps)).access_token == (
        "access-1"
    )
    assert sleeps.intervals == [5, 5, 5]


@pytest.mark.anyio
async def test_without_expires_in_the_code_lives_as_long_as_the_login(
    platform: FakePlatform,
) -> None:
    settings = platform.settings(login_timeout=1)
    polls: list[Any] = [error("authorization_pending")] * 30 + [TOKENS]
    events: list[LoginEvent] = []
    tokens = await run_flow(
        platform,
        settings,
        polls=polls,
        device={**DEVICE, "expires_in": None},
        on_event=events.append,
    )
    assert tokens.access_token == "access-1"
    assert events[0].kind == "device_code"
    assert events[0].expires_in is None


@pytest.mark.anyio
async def test_a_library_time_out_is_not_taken_for_the_code_expiring(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    async def broken_sleep(seconds: float) -> None:
        raise TimeoutError("a library's own")

    with pytest.raises(TimeoutError, match="a library's own"):
        await run_flow(
            platform, settings, polls=[error("authorization_pending")] * 3, sleep=broken_sleep
        )


@pytest.mark.anyio
async def test_a_few_server_errors_are_tolerated(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    polls = [httpx.Response(503), error("authorization_pending"), TOKENS]
    assert (await run_flow(platform, settings, polls=polls)).access_token == "access-1"


@pytest.mark.anyio
async def test_repeated_server_errors_end_the_login(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    polls = [httpx.Response(502, text="<html>bad gateway</html>")] * 3
    with pytest.raises(LoginError, match="failed 3 times in a row"):
        await run_flow(platform, settings, polls=list(polls))


@pytest.mark.anyio
async def test_network_errors_while_polling_are_retried(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    polls = [httpx.ConnectError("down"), TOKENS]
    assert (await run_flow(platform, settings, polls=polls)).access_token == "access-1"


@pytest.mark.anyio
async def test_device_endpoint_refusal(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    refusal = httpx.Response(
        400, json={"error": "invalid_client", "error_description": "unknown client"}
    )
    with pytest.raises(LoginError, match=r"HTTP 400, invalid_client: unknown client.*client_id"):
        await run_flow(platform, settings, polls=[], device=refusal)


@pytest.mark.anyio
async def test_unreachable_device_endpoint(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    with pytest.raises(
        LoginError,
        match=r"Could not reach the device-code endpoint .*ConnectError: connection refused",
    ):
        await run_flow(
            platform, settings, polls=[], device=httpx.ConnectError("connection refused")
        )


def test_parse_device_authorization_rejects_incomplete_answers() -> None:
    body = json.dumps({"user_code": "X", "verification_uri": "https://x"}).encode()
    with pytest.raises(LoginError, match="incomplete or malformed"):
        parse_device_authorization(200, body, endpoint="https://x/device", default_expires_in=300)
    with pytest.raises(LoginError, match="HTTP 200"):
        parse_device_authorization(
            200, b"<html>", endpoint="https://x/device", default_expires_in=1
        )


def test_parse_device_authorization_defaults_and_hides_the_device_code() -> None:
    body = json.dumps(
        {"device_code": DEVICE_CODE, "user_code": "U", "verification_url": "https://x/go"}
    ).encode()
    auth = parse_device_authorization(200, body, endpoint="e", default_expires_in=300)
    assert (auth.interval, auth.expires_in, auth.url) == (5.0, 300.0, "https://x/go")
    assert DEVICE_CODE not in repr(auth)


def test_parse_poll_response_outcomes() -> None:
    assert parse_poll_response(400, b'{"error": "authorization_pending"}') == "pending"
    assert parse_poll_response(400, b'{"error": "slow_down"}') == "slow_down"
    assert parse_poll_response(503, b"") == "retry"
    tokens = parse_poll_response(200, b'{"access_token": "a", "token_type": "Bearer"}')
    assert isinstance(tokens, OAuthTokens)
    with pytest.raises(LoginError):
        parse_poll_response(400, b'{"error": "invalid_client"}')


@pytest.mark.anyio
@pytest.mark.parametrize("outcome", ["opened", "not opened", "broken"])
async def test_the_verification_page_is_opened_after_the_code_is_shown(
    platform: FakePlatform, settings: AnacondaAuthSettings, outcome: str
) -> None:
    events: list[LoginEvent] = []
    opened: list[tuple[str, list[str]]] = []

    def opener(url: str) -> bool:
        opened.append((url, [e.kind for e in events]))
        if outcome == "broken":
            raise RuntimeError("no display")
        return outcome == "opened"

    tokens = await run_flow(
        platform,
        settings,
        polls=[error("authorization_pending"), TOKENS],
        on_event=events.append,
        open_browser=opener,
    )
    assert tokens.access_token == "access-1"
    assert opened == [(f"{ISSUER}/device", ["device_code"])]  # the code only on the terminal
    assert [e.kind for e in events] == ["device_code", "waiting"]
