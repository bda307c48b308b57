"""Device-code login (RFC 8628) over a MockTransport: polling, slow_down, denial, expiry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
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
from anaconda_auth_async._flows.device import (
    DEVICE_CODE_GRANT,
    device_flow,
    parse_device_authorization,
    parse_poll_response,
)
from anaconda_auth_async._flows.token_endpoint import OAuthTokens
from anaconda_auth_async._oidc import ProviderMetadata

ISSUER = "https://id.example.test"
DEVICE_CODE = "device-code-secret-3f9a"


def metadata(*, device: bool = True) -> ProviderMetadata:
    return ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        jwks_uri=f"{ISSUER}/jwks",
        device_authorization_endpoint=f"{ISSUER}/device" if device else None,
        id_token_signing_alg_values_supported=("RS256",),
        raw={},
    )


def error(code: str, status: int = 400) -> httpx.Response:
    return httpx.Response(status, json={"error": code})


TOKENS = httpx.Response(
    200, json={"access_token": "access-1", "id_token": "id-1", "token_type": "Bearer"}
)


class FakeProvider:
    """A device endpoint and a token endpoint answering from a script, recording requests."""

    def __init__(
        self, polls: list[httpx.Response], device_answer: dict[str, object] | None = None
    ) -> None:
        self.polls: Iterator[httpx.Response] = iter(polls)
        self.device_answer = device_answer or {
            "device_code": DEVICE_CODE,
            "user_code": "WDJB-MJHT",
            "verification_uri": f"{ISSUER}/device",
            "verification_uri_complete": f"{ISSUER}/device?user_code=WDJB-MJHT",
            "expires_in": 600,
        }
        self.requests: list[tuple[str, dict[str, list[str]]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.requests.append((request.url.path, form))
        if request.url.path == "/device":
            return httpx.Response(200, json=self.device_answer)
        if request.url.path == "/token":
            return next(self.polls)
        return httpx.Response(404)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


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
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(auth_domain="id.example.test", client_id="cli-123")


async def run(
    provider: FakeProvider,
    settings: AnacondaAuthSettings,
    *,
    sleeps: Sleeps | None = None,
    events: list[LoginEvent] | None = None,
    meta: ProviderMetadata | None = None,
) -> OAuthTokens:
    sink: Callable[[LoginEvent], object] = (events if events is not None else []).append
    async with provider.client() as http:
        result = await device_flow(
            http, meta or metadata(), settings, on_event=sink, sleep=sleeps or Sleeps()
        )
    assert result.nonce is None
    return result.tokens


@pytest.mark.anyio
async def test_polls_until_approved_honouring_slow_down(settings: AnacondaAuthSettings) -> None:
    provider = FakeProvider(
        [error("authorization_pending"), error("authorization_pending"), error("slow_down"), TOKENS]
    )
    sleeps, events = Sleeps(), list[LoginEvent]()
    tokens = await run(provider, settings, sleeps=sleeps, events=events)

    assert tokens.access_token == "access-1"
    assert tokens.id_token == "id-1"
    assert sleeps.intervals == [5, 5, 10]
    paths = [path for path, _ in provider.requests]
    assert paths == ["/device", "/token", "/token", "/token", "/token"]
    assert provider.requests[0][1] == {
        "client_id": ["cli-123"],
        "scope": ["openid email profile"],
    }
    for _, form in provider.requests[1:]:
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
    settings: AnacondaAuthSettings,
) -> None:
    answer = {
        "device_code": DEVICE_CODE,
        "user_code": "ABCD",
        "verification_uri": f"{ISSUER}/activate",
        "expires_in": 900,
        "interval": 7,
    }
    provider = FakeProvider(
        [error("slow_down"), error("authorization_pending"), error("slow_down"), TOKENS], answer
    )
    sleeps, events = Sleeps(), list[LoginEvent]()
    await run(provider, settings, sleeps=sleeps, events=events)
    assert sleeps.intervals == [12, 12, 17]
    # Without verification_uri_complete the plain URI is reported.
    assert events[0].url == f"{ISSUER}/activate"
    assert events[0].user_code == "ABCD"


@pytest.mark.anyio
async def test_access_denied(settings: AnacondaAuthSettings) -> None:
    provider = FakeProvider([error("authorization_pending"), error("access_denied")])
    with pytest.raises(LoginDeniedError, match="denied") as caught:
        await run(provider, settings)
    assert caught.value.error == "access_denied"
    assert DEVICE_CODE not in str(caught.value)


@pytest.mark.anyio
async def test_expired_token(settings: AnacondaAuthSettings) -> None:
    provider = FakeProvider([error("authorization_pending"), error("expired_token")])
    with pytest.raises(LoginTimeoutError, match=r"code expired.*run the login again"):
        await run(provider, settings)


@pytest.mark.anyio
async def test_no_device_endpoint_is_a_clear_error(settings: AnacondaAuthSettings) -> None:
    provider = FakeProvider([])
    with pytest.raises(LoginError, match=r"does not offer device-code login.*browser"):
        await run(provider, settings, meta=metadata(device=False))
    assert provider.requests == []


@pytest.mark.anyio
async def test_gives_up_when_the_code_lifetime_is_used_up(settings: AnacondaAuthSettings) -> None:
    answer = {**FakeProvider([]).device_answer, "expires_in": 12}
    provider = FakeProvider([error("authorization_pending")] * 10, answer)
    sleeps = Sleeps()
    with pytest.raises(LoginTimeoutError, match="code expired"):
        await run(provider, settings, sleeps=sleeps)
    assert sleeps.intervals == [5, 5]
    assert len(provider.requests) == 1 + 3


@pytest.mark.anyio
async def test_the_login_time_limit_is_not_applied_again_by_the_flow() -> None:
    # login() owns that limit; the flow waits as long as the code lives (15 s > 9 s here).
    settings = AnacondaAuthSettings(auth_domain="id.example.test", login_timeout=9)
    provider = FakeProvider([error("authorization_pending")] * 3 + [TOKENS])
    sleeps = Sleeps()
    assert (await run(provider, settings, sleeps=sleeps)).access_token == "access-1"
    assert sleeps.intervals == [5, 5, 5]


@pytest.mark.anyio
async def test_without_expires_in_the_code_lives_as_long_as_the_login() -> None:
    settings = AnacondaAuthSettings(auth_domain="id.example.test", login_timeout=1)
    answer = {k: v for k, v in FakeProvider([]).device_answer.items() if k != "expires_in"}
    provider = FakeProvider([error("authorization_pending")] * 30 + [TOKENS], answer)
    events: list[LoginEvent] = []
    assert (await run(provider, settings, events=events)).access_token == "access-1"
    assert events[0].kind == "device_code"
    assert events[0].expires_in is None


@pytest.mark.anyio
async def test_a_library_time_out_is_not_taken_for_the_code_expiring(
    settings: AnacondaAuthSettings,
) -> None:
    async def broken_sleep(seconds: float) -> None:
        raise TimeoutError("a library's own")

    provider = FakeProvider([error("authorization_pending")] * 3)
    with pytest.raises(TimeoutError, match="a library's own"):
        async with provider.client() as http:
            await device_flow(http, metadata(), settings, on_event=ignore, sleep=broken_sleep)


@pytest.mark.anyio
async def test_a_few_server_errors_are_tolerated(settings: AnacondaAuthSettings) -> None:
    provider = FakeProvider([httpx.Response(503), error("authorization_pending"), TOKENS])
    assert (await run(provider, settings)).access_token == "access-1"


@pytest.mark.anyio
async def test_repeated_server_errors_end_the_login(settings: AnacondaAuthSettings) -> None:
    provider = FakeProvider([httpx.Response(502, text="<html>bad gateway</html>")] * 3)
    with pytest.raises(LoginError, match="failed 3 times in a row"):
        await run(provider, settings)


@pytest.mark.anyio
async def test_network_errors_while_polling_are_retried(settings: AnacondaAuthSettings) -> None:
    answers: list[httpx.Response | Exception] = [httpx.ConnectError("down"), TOKENS]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/device":
            return httpx.Response(200, json=FakeProvider([]).device_answer)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        result = await device_flow(http, metadata(), settings, on_event=ignore, sleep=Sleeps())
    assert result.tokens.access_token == "access-1"


@pytest.mark.anyio
async def test_device_endpoint_refusal(settings: AnacondaAuthSettings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": "invalid_client", "error_description": "unknown client"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(
            LoginError, match=r"HTTP 400, invalid_client: unknown client.*client_id"
        ):
            await device_flow(http, metadata(), settings, on_event=ignore, sleep=Sleeps())


@pytest.mark.anyio
async def test_unreachable_device_endpoint(settings: AnacondaAuthSettings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(
            LoginError,
            match=r"Could not reach the device-code endpoint .*ConnectError: connection refused",
        ):
            await device_flow(http, metadata(), settings, on_event=ignore, sleep=Sleeps())


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
    settings: AnacondaAuthSettings, outcome: str
) -> None:
    provider = FakeProvider([error("authorization_pending"), TOKENS])
    events: list[LoginEvent] = []
    opened: list[tuple[str, list[str]]] = []

    def opener(url: str) -> bool:
        opened.append((url, [e.kind for e in events]))
        if outcome == "broken":
            raise RuntimeError("no display")
        return outcome == "opened"

    async with provider.client() as http:
        result = await device_flow(
            http, metadata(), settings, on_event=events.append, sleep=Sleeps(), open_browser=opener
        )
    assert result.tokens.access_token == "access-1"
    assert opened == [(f"{ISSUER}/device?user_code=WDJB-MJHT", ["device_code"])]
    assert [e.kind for e in events] == ["device_code", "waiting"]
