"""The loopback redirect listener, over real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import pytest

from anaconda_auth_async.foundation.errors import LoginDeniedError, LoginError
from anaconda_auth_async.logins.flows.loopback_listener import Listener, listen_for_callback
from anaconda_auth_async.logins.flows.loopback_request import Rejected, parse_callback

STATE = "state-abc"
SUCCESS = "https://anaconda.example.test/local-login-success"
ERROR = "https://anaconda.example.test/local-login-error"
LIMIT = 10  # seconds: every test stops by itself, even if the listener misbehaves


def listening(
    redirect_uri: str = "http://127.0.0.1:8000/auth/oidc", **options: Any
) -> AbstractAsyncContextManager[Listener]:
    """The listener under test, on a free port unless the test says otherwise."""
    kwargs: dict[str, Any] = {"ephemeral": True, "read_timeout": LIMIT}
    kwargs.update(options)
    return listen_for_callback(
        redirect_uri, state=STATE, success_url=SUCCESS, error_url=ERROR, **kwargs
    )


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=LIMIT)


def port_of(listener: Listener) -> int:
    port = httpx.URL(listener.redirect_uri).port
    assert port is not None
    return port


def assert_refused(port: int) -> None:
    """Nothing listens on `port` any more: the socket was closed."""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=LIMIT).close()


async def wait_while(
    listener: Listener, visitor: Callable[[], Coroutine[Any, Any, None]]
) -> str | LoginError:
    """Run `listener.wait()` while `visitor` makes requests; return the code or the error."""
    outcome: str | LoginError | None = None
    with anyio.fail_after(LIMIT):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(visitor)
            try:
                outcome = await listener.wait()
            except LoginError as exc:
                outcome = exc
    assert outcome is not None
    return outcome


async def visit_in_turn(
    listener: Listener, *queries: dict[str, str]
) -> tuple[str | LoginError, list[httpx.Response]]:
    """Request the redirect URI with each query in turn while `listener` waits: the login's
    outcome, and the listener's answers."""
    responses: list[httpx.Response] = []

    async def visit() -> None:
        async with client() as http:
            for params in queries:
                responses.append(await http.get(listener.redirect_uri, params=params))

    return await wait_while(listener, visit), responses


async def answer_or_drop(stream: anyio.abc.ByteStream) -> bytes:
    """What the listener sends back on `stream`: its first bytes, or b"" if it drops us."""
    try:
        return await stream.receive()
    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
        return b""


# -- parse_callback (pure) ------------------------------------------------------------


def test_parse_success() -> None:
    assert parse_callback(
        f"/auth/oidc?code=c0de&state={STATE}", path="/auth/oidc", state=STATE
    ) == ("c0de")


@pytest.mark.parametrize("target", ["/", "/favicon.ico", "/auth/oidc/x?code=1", "/auth?x=1"])
def test_parse_other_paths(target: str) -> None:
    assert parse_callback(target, path="/auth/oidc", state=STATE) is None


def test_parse_error_carries_the_provider_code() -> None:
    outcome = parse_callback(
        f"/cb?error=access_denied&error_description=User+said+no&state={STATE}",
        path="/cb",
        state=STATE,
    )
    assert isinstance(outcome, LoginDeniedError)
    assert outcome.error == "access_denied"
    assert outcome.description == "User said no"
    assert "access_denied: User said no" in str(outcome)


def test_parse_error_description_is_cleaned_and_redacted() -> None:
    outcome = parse_callback(
        f"/cb?error=invalid_request&error_description=bad+code%3DSECRET%1b%5B2J%0Anext&state={STATE}",
        path="/cb",
        state=STATE,
    )
    assert isinstance(outcome, LoginDeniedError)
    assert "SECRET" not in str(outcome)
    assert "\x1b" not in str(outcome)
    assert "\n" not in str(outcome)
    # the escape is a space before redaction, so the value ends there; "[2J" is plain text
    assert "invalid_request: bad code=[redacted] [2J next" in str(outcome)


def test_parse_error_without_state_is_not_the_providers_answer() -> None:
    outcome = parse_callback("/cb?error=server_error", path="/cb", state=STATE)
    assert isinstance(outcome, Rejected)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("code=c&state=wrong", "state"),
        ("code=c", "state"),
        ("error=access_denied&state=wrong", "state"),
        (f"code=a&code=b&state={STATE}", "repeated"),
        (f"code=a&state={STATE}&state={STATE}", "repeated"),
    ],
)
def test_parse_rejects_what_is_not_this_logins_answer(query: str, fragment: str) -> None:
    outcome = parse_callback(f"/cb?{query}", path="/cb", state=STATE)
    assert isinstance(outcome, Rejected)
    assert fragment in outcome.reason


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        (f"state={STATE}", "no authorization code"),
        (f"code=&state={STATE}", "no authorization code"),
    ],
)
def test_parse_failures(query: str, fragment: str) -> None:
    outcome = parse_callback(f"/cb?{query}", path="/cb", state=STATE)
    assert isinstance(outcome, LoginError)
    assert not isinstance(outcome, LoginDeniedError)
    assert fragment in str(outcome)


# -- the listener ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_callback_redirects_to_success_and_returns_the_code() -> None:
    async with listening() as listener:
        outcome, responses = await visit_in_turn(listener, {"code": "c0de", "state": STATE})
    assert outcome == "c0de"
    assert responses[0].status_code == 302
    assert responses[0].headers["location"] == SUCCESS
    assert responses[0].headers["referrer-policy"] == "no-referrer"


@pytest.mark.anyio
async def test_junk_and_other_paths_get_404_and_it_keeps_listening() -> None:
    async with listening() as listener:
        statuses: list[int] = []
        dropped: list[bytes] = []

        async def visit() -> None:
            port = port_of(listener)
            # Malformed HTTP: the connection is dropped without an answer.
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                await stream.send(b"\x00\x01\x02 this is not HTTP\r\n\r\n")
                dropped.append(await answer_or_drop(stream))
            async with client() as http:
                base = f"http://127.0.0.1:{port}"
                statuses.append((await http.get(f"{base}/favicon.ico")).status_code)
                statuses.append((await http.get(f"{base}/")).status_code)
                statuses.append(
                    (await http.post(listener.redirect_uri, data={"a": "b"})).status_code
                )
                ok = await http.get(listener.redirect_uri, params={"code": "c0de", "state": STATE})
                statuses.append(ok.status_code)

        assert await wait_while(listener, visit) == "c0de"
    assert dropped == [b""]
    assert statuses == [404, 404, 404, 302]


@pytest.mark.anyio
async def test_wrong_state_gets_400_and_the_login_keeps_waiting() -> None:
    async with listening() as listener:
        outcome, responses = await visit_in_turn(
            listener, {"code": "c0de", "state": "forged"}, {"code": "c0de", "state": STATE}
        )
    assert outcome == "c0de"
    assert [r.status_code for r in responses] == [400, 302]
    assert responses[1].headers["location"] == SUCCESS


@pytest.mark.anyio
async def test_error_callback_is_login_denied() -> None:
    params = {
        "error": "access_denied",
        "error_description": "The resource owner denied the request.",
        "state": STATE,
    }
    async with listening() as listener:
        outcome, responses = await visit_in_turn(listener, params)
    assert isinstance(outcome, LoginDeniedError)
    assert outcome.error == "access_denied"
    assert outcome.description == "The resource owner denied the request."
    assert responses[0].status_code == 302
    assert responses[0].headers["location"] == ERROR


@pytest.mark.anyio
async def test_a_slow_client_does_not_block_others() -> None:
    async with listening() as listener:

        async def visit() -> None:
            port = port_of(listener)
            async with await anyio.connect_tcp("127.0.0.1", port) as slow:
                await slow.send(b"GET /auth/oidc?code=never")  # and never finishes
                async with client() as http:
                    await http.get(listener.redirect_uri, params={"code": "c0de", "state": STATE})

        assert await wait_while(listener, visit) == "c0de"


@pytest.mark.anyio
async def test_a_slow_client_is_dropped_after_the_read_time_limit() -> None:
    async with listening(read_timeout=0.05) as listener:
        received: list[bytes] = []

        async def visit() -> None:
            async with await anyio.connect_tcp("127.0.0.1", port_of(listener)) as slow:
                await slow.send(b"GET /auth/oidc HTTP/1.1\r\n")
                received.append(await answer_or_drop(slow))
            async with client() as http:
                await http.get(listener.redirect_uri, params={"code": "c0de", "state": STATE})

        assert await wait_while(listener, visit) == "c0de"
    assert received == [b""]


@pytest.mark.anyio
async def test_time_limit_from_the_caller_ends_the_wait_and_closes_the_socket() -> None:
    with anyio.fail_after(LIMIT):
        async with listening() as listener:
            port = port_of(listener)
            with pytest.raises(TimeoutError), anyio.fail_after(0.05):
                await listener.wait()
        await anyio.to_thread.run_sync(assert_refused, port)


@pytest.mark.anyio
async def test_cancellation_closes_the_socket() -> None:
    with anyio.fail_after(LIMIT):
        with anyio.CancelScope() as scope:
            async with listening() as listener:
                port = port_of(listener)
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(listener.wait)
                    await anyio.sleep(0.01)
                    scope.cancel()
        assert scope.cancelled_caught
        await anyio.to_thread.run_sync(assert_refused, port)


@pytest.mark.anyio
async def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LoginError) as info:
            async with listening(f"http://127.0.0.1:{port}/auth/oidc", ephemeral=False):
                pytest.fail("the listener should not start")  # pragma: no cover
    message = str(info.value)
    assert f"port {port}" in message
    assert "ANACONDA_AUTH_REDIRECT_URI" in message
    assert "ANACONDA_AUTH_EPHEMERAL_PORT" in message


@pytest.mark.anyio
async def test_fixed_port_is_used_as_given() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}/auth/oidc"
    async with listening(uri, ephemeral=False) as listener:
        assert listener.redirect_uri == uri

        async def visit() -> None:
            async with client() as http:
                await http.get(uri, params={"code": "c0de", "state": STATE})

        assert await wait_while(listener, visit) == "c0de"


@pytest.mark.anyio
async def test_ephemeral_port_is_in_the_redirect_uri() -> None:
    async with listening("http://127.0.0.1:8000/auth/oidc?x=1", ephemeral=True) as listener:
        uri = httpx.URL(listener.redirect_uri)
        assert uri.host == "127.0.0.1"
        assert uri.port not in (None, 0, 8000)
        assert uri.path == "/auth/oidc"
        assert uri.query == b"x=1"
        with socket.create_connection(("127.0.0.1", port_of(listener)), timeout=LIMIT):
            pass  # something really listens there


@pytest.mark.anyio
@pytest.mark.parametrize(
    "uri",
    [
        "https://127.0.0.1:8000/auth/oidc",
        "http://example.com:8000/auth/oidc",
        "http://0.0.0.0:8000/auth/oidc",
        "http://127.0.0.1:99999/auth/oidc",
    ],
)
async def test_non_loopback_redirect_uri_is_refused(uri: str) -> None:
    with pytest.raises(LoginError, match="ANACONDA_AUTH_REDIRECT_URI"):
        async with listening(uri):
            pytest.fail("the listener should not start")  # pragma: no cover


@pytest.mark.anyio
async def test_a_page_url_that_would_inject_headers_is_never_sent() -> None:
    """h11 refuses the header; the connection is dropped, and the login still ends."""
    bad_url = "https://anaconda.example.test/ok\r\nSet-Cookie: x=1"
    async with listen_for_callback(
        "http://127.0.0.1:8000/cb", state=STATE, success_url=bad_url, error_url=ERROR,
        ephemeral=True,
    ) as listener:  # fmt: skip
        failures: list[Exception] = []

        async def visit() -> None:
            async with client() as http:
                try:
                    await http.get(listener.redirect_uri, params={"code": "c0de", "state": STATE})
                except httpx.HTTPError as exc:
                    failures.append(exc)

        assert await wait_while(listener, visit) == "c0de"
    assert len(failures) == 1
