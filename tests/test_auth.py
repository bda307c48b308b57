"""AnacondaAuth: which key is sent, how 401/403 answers are mapped, the re-read-and-retry
path and its single-flight store reads, on all four kinds of client."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Generator
from typing import Any

import anyio
import httpx
import pytest

from anaconda_auth_async import (
    AnacondaAuthError,
    AnacondaAuthSettings,
    KeyringTokenStore,
    LoginRequiredError,
    TokenExpiredError,
    TokenInfo,
)
from anaconda_auth_async.api_client.auth import AnacondaAuth, _Reload
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient
from anaconda_auth_async.api_client.key_loading import Credential
from anaconda_auth_async.network.origins import key_origins
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

DOMAIN = "id.anaconda.cloud"
BASE = "https://anaconda.cloud"  # the default API origin: where a key may be sent
ORIGINS = key_origins(BASE)
KINDS = ["AsyncAuthClient", "BaseClient", "httpx.AsyncClient", "httpx.Client"]
AUTH_REQUIRED = {"error": {"code": "auth_required", "message": "Authentication required"}}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A transport handler that records every request and answers with `answer`."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        # captured on arrival: a retry re-sends the same (mutated) request object
        self.auth_headers: list[str | None] = []
        self._answer = answer or (lambda request: httpx.Response(200, json={"ok": True}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.auth_headers.append(request.headers.get("Authorization"))
        return self._answer(request)


def stored(key: str | None, domain: str = DOMAIN) -> MemoryTokenStore:
    store = MemoryTokenStore()
    if key is not None:
        store.save(TokenInfo(domain=domain, api_key=key))
        store.calls.clear()
    return store


def untouchable_store() -> MemoryTokenStore:
    """A store that fails the test if it is consulted at all."""
    return MemoryTokenStore(fail_with=AssertionError("the token store was consulted"))


async def send(
    kind: str,
    handler: Handler,
    *,
    headers: dict[str, str] | None = None,
    **auth: Any,
) -> httpx.Response:
    """GET /api/thing through a client of `kind` whose auth is built from `auth`."""
    transport = httpx.MockTransport(handler)
    if kind == "AsyncAuthClient":
        async with AsyncAuthClient(base_url=BASE, transport=transport, **auth) as client:
            return await client.get("/api/thing", headers=headers)
    if kind == "httpx.AsyncClient":
        async with httpx.AsyncClient(
            base_url=BASE, transport=transport, auth=AnacondaAuth(**auth)
        ) as bare:
            return await bare.get("/api/thing", headers=headers)

    def blocking() -> httpx.Response:  # the sync clients run where sync code runs: a thread
        if kind == "BaseClient":
            client: httpx.Client = BaseClient(base_url=BASE, transport=transport, **auth)
        else:
            client = httpx.Client(base_url=BASE, transport=transport, auth=AnacondaAuth(**auth))
        with client:
            return client.get("/api/thing", headers=headers)

    return await anyio.to_thread.run_sync(blocking)


# --- which key is sent ----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_stored_key_is_sent(kind: str) -> None:
    key = make_api_key()
    recorder = Recorder()
    response = await send(kind, recorder, store=stored(key))
    assert response.status_code == 200
    assert recorder.auth_headers == [f"Bearer {key}"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_explicit_key_wins_and_needs_no_store(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", "from-env")
    recorder = Recorder()
    await send(kind, recorder, api_key="explicit", store=untouchable_store())
    assert recorder.auth_headers == ["Bearer explicit"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variable", ["ANACONDA_AUTH_API_KEY", "ANACONDA_CLOUD_API_KEY"])
async def test_env_key_wins_over_store(
    kind: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "from-env")
    recorder = Recorder()
    await send(kind, recorder, store=untouchable_store())
    assert recorder.auth_headers == ["Bearer from-env"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_request_with_its_own_authorization_is_left_alone(kind: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(401, json=AUTH_REQUIRED))
    response = await send(
        kind, recorder, headers={"Authorization": "Token mine"}, store=stored(make_api_key())
    )
    assert recorder.auth_headers == ["Token mine"]
    assert response.status_code == 401  # not mapped: the credentials were not ours


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_no_key_sends_no_header(kind: str) -> None:
    recorder = Recorder()
    response = await send(kind, recorder, store=stored(None))
    assert response.status_code == 200
    assert recorder.auth_headers == [None]


# --- 401 / 403 mapping ----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [401, 403])
async def test_refused_without_key_is_login_required(kind: str, status: int) -> None:
    recorder = Recorder(lambda r: httpx.Response(status, text="no"))
    with pytest.raises(LoginRequiredError) as caught:
        await send(kind, recorder, store=stored(None))
    error = caught.value
    assert isinstance(error, AnacondaAuthError)
    assert isinstance(error, httpx.HTTPStatusError)
    assert error.response.status_code == status
    assert error.request.url == f"{BASE}/api/thing"
    assert "anaconda-auth login" in str(error)
    assert "ANACONDA_AUTH_API_KEY" in str(error)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_expired_key_raises_before_sending(kind: str) -> None:
    key = make_api_key(exp=dt.timedelta(hours=-1))
    store = stored(key)
    recorder = Recorder()
    with pytest.raises(TokenExpiredError) as caught:
        await send(kind, recorder, store=store)
    assert recorder.requests == []
    message = str(caught.value)
    assert "anaconda-auth login" in message
    assert "await anaconda_auth_async.login()" in message
    assert key not in message
    assert DOMAIN in message


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_expired_explicit_key_says_so(kind: str) -> None:
    key = make_api_key(exp=dt.timedelta(hours=-1))
    with pytest.raises(TokenExpiredError, match="given to the client") as caught:
        await send(kind, Recorder(), api_key=key, store=untouchable_store())
    assert key not in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_key_is_login_required_after_one_reread(kind: str, status: int) -> None:
    key = make_api_key()
    store = stored(key)
    recorder = Recorder(lambda r: httpx.Response(status, json=AUTH_REQUIRED))
    with pytest.raises(LoginRequiredError, match="invalid or has been revoked") as caught:
        await send(kind, recorder, store=store)
    assert len(recorder.requests) == 1  # same key in the store: no retry
    loads = [name for method, name in store.calls if method == "load"]
    assert loads.count(DOMAIN) == 2  # first load, one re-read
    updates = [name for method, name in store.calls if method == "read"]
    assert updates.count(DOMAIN) == 1  # one update records the rejection
    entry = store.load(DOMAIN)
    assert entry is not None
    assert entry.rejected
    assert entry.api_key == key
    assert entry.rejected_at is not None
    assert caught.value.response.status_code == status
    assert "anaconda-auth login" in str(caught.value)
    assert key not in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_newer_stored_key_is_never_marked_rejected(kind: str) -> None:
    old, new = make_api_key(sub="old"), make_api_key(sub="new")
    store = stored(old)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {new}":
            return httpx.Response(200, json={"ok": True})
        # another process logs in while the request with the old key is in flight
        store.save(TokenInfo(domain=DOMAIN, api_key=new))
        return httpx.Response(401, json=AUTH_REQUIRED)

    response = await send(kind, Recorder(answer), store=store)
    assert response.status_code == 200
    entry = store.load(DOMAIN)
    assert entry is not None
    assert entry.api_key == new
    assert not entry.rejected


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_rejected_explicit_key_is_not_replaced_from_store(kind: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(401, json=AUTH_REQUIRED))
    with pytest.raises(LoginRequiredError, match="given to the client") as caught:
        await send(kind, recorder, api_key="bad-key", store=untouchable_store())
    assert len(recorder.requests) == 1
    assert "bad-key" not in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"code": "forbidden"}}',
        b'{"error": "auth_required"}',
        b'["auth_required"]',
        b"<html>Forbidden</html>",
        b"\xff\xfe not utf-8 {",
        b"",
    ],
)
async def test_other_refusals_with_key_are_returned_untouched(kind: str, body: bytes) -> None:
    recorder = Recorder(lambda r: httpx.Response(403, content=body))
    response = await send(kind, recorder, store=stored(make_api_key()))
    assert response.status_code == 403
    assert response.content == body
    assert len(recorder.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_other_statuses_pass_through(kind: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(500, json=AUTH_REQUIRED))
    response = await send(kind, recorder, store=stored(make_api_key()))
    assert response.status_code == 500


# --- re-read and retry ----------------------------------------------------------------


def file_stores() -> tuple[KeyringTokenStore, KeyringTokenStore]:
    """Two handles on one Anaconda file keyring: this process's and "another process's"."""
    settings = AnacondaAuthSettings()
    return KeyringTokenStore(settings), KeyringTokenStore(settings)


def server_accepting(valid: set[str]) -> Recorder:
    def answer(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization", "")
        if header.removeprefix("Bearer ") in valid:
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(401, json=AUTH_REQUIRED)

    return Recorder(answer)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["AsyncAuthClient", "BaseClient"])
async def test_revoked_key_is_replaced_by_newer_stored_key_with_one_retry(kind: str) -> None:
    mine, other_process = file_stores()
    old, new = make_api_key(sub="old"), make_api_key(sub="new")
    other_process.save(TokenInfo(domain=DOMAIN, api_key=old))
    valid = {old}
    recorder = server_accepting(valid)
    transport = httpx.MockTransport(recorder)

    def get_twice(client: BaseClient) -> list[int]:
        first = client.get("/api/thing").status_code
        valid.clear()  # the old key is revoked ...
        valid.add(new)
        other_process.save(TokenInfo(domain=DOMAIN, api_key=new))  # ... and a new one stored
        return [first, client.get("/api/thing").status_code]

    if kind == "BaseClient":
        with BaseClient(base_url=BASE, transport=transport, store=mine) as sync_client:
            statuses = get_twice(sync_client)
    else:
        async with AsyncAuthClient(base_url=BASE, transport=transport, store=mine) as client:
            statuses = [(await client.get("/api/thing")).status_code]
            valid.clear()
            valid.add(new)
            other_process.save(TokenInfo(domain=DOMAIN, api_key=new))
            statuses.append((await client.get("/api/thing")).status_code)
            statuses.append((await client.get("/api/thing")).status_code)
    assert statuses[:2] == [200, 200]
    # first request, the rejected one, exactly one retry (then the new key is cached)
    assert recorder.auth_headers[:3] == [f"Bearer {old}", f"Bearer {old}", f"Bearer {new}"]
    assert recorder.auth_headers[3:] == [f"Bearer {new}"] * (len(recorder.requests) - 3)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_retry_happens_once_even_if_the_new_key_is_rejected_too(kind: str) -> None:
    old, new = make_api_key(sub="old"), make_api_key(sub="new")
    store = stored(old)

    def answer(request: httpx.Request) -> httpx.Response:
        if len(recorder.requests) == 1:  # "another process" logged in meanwhile
            store.save(TokenInfo(domain=DOMAIN, api_key=new))
        return httpx.Response(401, json=AUTH_REQUIRED)

    recorder = Recorder(answer)
    with pytest.raises(LoginRequiredError, match="stored API key"):
        await send(kind, recorder, store=store)
    assert recorder.auth_headers == [f"Bearer {old}", f"Bearer {new}"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_expired_newer_key_is_not_used_for_retry(kind: str) -> None:
    old, expired = make_api_key(sub="old"), make_api_key(sub="new", exp=dt.timedelta(hours=-1))
    store = stored(old)

    def answer(request: httpx.Request) -> httpx.Response:
        store.save(TokenInfo(domain=DOMAIN, api_key=expired))
        return httpx.Response(401, json=AUTH_REQUIRED)

    recorder = Recorder(answer)
    with pytest.raises(LoginRequiredError):
        await send(kind, recorder, store=store)
    assert len(recorder.requests) == 1


class DrainingTransport(httpx.AsyncBaseTransport):
    """Consumes the request body as a network transport does (MockTransport caches it)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for _ in request.stream:
            pass
        return self.handler(request)


@pytest.mark.anyio
async def test_streamed_upload_is_not_retried() -> None:
    old, new = make_api_key(sub="old"), make_api_key(sub="new")
    store = stored(old)

    def answer(request: httpx.Request) -> httpx.Response:
        store.save(TokenInfo(domain=DOMAIN, api_key=new))
        return httpx.Response(401, json=AUTH_REQUIRED)

    async def body() -> Any:
        yield b"chunk"

    recorder = Recorder(answer)
    transport = DrainingTransport(recorder)
    async with AsyncAuthClient(base_url=BASE, transport=transport, store=store) as client:
        with pytest.raises(LoginRequiredError, match="send the request again") as caught:
            await client.post("/api/thing", content=body())
        assert len(recorder.requests) == 1
        with pytest.raises(LoginRequiredError):
            await client.get("/api/thing")  # the next request uses the newer key
    assert recorder.auth_headers == [f"Bearer {old}", f"Bearer {new}"]
    assert new not in str(caught.value)


@pytest.mark.anyio
async def test_expired_stored_key_is_renewed_from_store() -> None:
    expired, fresh = make_api_key(sub="a", exp=dt.timedelta(hours=-1)), make_api_key(sub="b")
    store = stored(expired)
    recorder = Recorder()
    auth = AnacondaAuth(store=store)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder), auth=auth) as client:
        with pytest.raises(TokenExpiredError):
            await client.get(f"{BASE}/")
        store.save(TokenInfo(domain=DOMAIN, api_key=fresh))  # logged in elsewhere
        await client.get(f"{BASE}/")
    assert recorder.auth_headers == [f"Bearer {fresh}"]


# --- single flight --------------------------------------------------------------------


class CountingStore(MemoryTokenStore):
    """Records the thread of every load of `DOMAIN`, and holds loads until `release` is set.

    (A read also looks under the names other Anaconda tools use; those are not counted.)
    """

    def __init__(self, key: str) -> None:
        super().__init__()
        self.save(TokenInfo(domain=DOMAIN, api_key=key))
        self.load_threads: list[int] = []
        self.release = threading.Event()

    def load(self, domain: str) -> TokenInfo | None:
        if domain != DOMAIN:
            return super().load(domain)
        self.load_threads.append(threading.get_ident())
        assert self.release.wait(10), "the test never released the store"
        return super().load(domain)


@pytest.mark.anyio
async def test_thousand_concurrent_first_requests_read_the_store_once() -> None:
    key = make_api_key()
    store = CountingStore(key)
    recorder = Recorder()
    loop_thread = threading.get_ident()
    statuses: list[int] = []
    async with AsyncAuthClient(
        base_url=BASE, transport=httpx.MockTransport(recorder), store=store
    ) as client:

        async def one() -> None:
            statuses.append((await client.get("/api/thing")).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(1000):
                group.start_soon(one)
            await anyio.wait_all_tasks_blocked()  # all 1,000 are waiting on the first load
            store.release.set()
    assert statuses == [200] * 1000
    assert len(store.load_threads) == 1
    assert store.load_threads[0] != loop_thread
    assert set(recorder.auth_headers) == {f"Bearer {key}"}


@pytest.mark.anyio
async def test_concurrent_rejections_share_one_reread() -> None:
    key = make_api_key()
    store = CountingStore(key)
    store.release.set()
    recorder = Recorder(lambda r: httpx.Response(401, json=AUTH_REQUIRED))
    failures: list[BaseException] = []
    async with AsyncAuthClient(
        base_url=BASE, transport=httpx.MockTransport(recorder), store=store
    ) as client:

        async def one() -> None:
            try:
                await client.get("/api/thing")
            except LoginRequiredError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as group:
            for _ in range(100):
                group.start_soon(one)
    assert len(failures) == 100
    assert len(recorder.requests) == 100
    # the first load and one shared re-read; the rejection is recorded once, in one update
    assert len(store.load_threads) == 2
    assert [n for m, n in store.calls if m == "read" and n == DOMAIN] == [DOMAIN]
    entry = store.load(DOMAIN)
    assert entry is not None
    assert entry.rejected


def test_concurrent_sync_first_requests_read_the_store_once() -> None:
    store = CountingStore(make_api_key())
    recorder = Recorder()
    started = threading.Barrier(21)
    results: list[int] = []
    with BaseClient(base_url=BASE, transport=httpx.MockTransport(recorder), store=store) as client:

        def one() -> None:
            started.wait(10)
            results.append(client.get("/api/thing").status_code)

        threads = [threading.Thread(target=one) for _ in range(20)]
        for thread in threads:
            thread.start()
        started.wait(10)
        store.release.set()
        for thread in threads:
            thread.join(10)
    assert results == [200] * 20
    assert len(store.load_threads) == 1


def test_one_auth_serves_successive_event_loops_on_both_backends() -> None:
    store = stored(make_api_key())
    auth = AnacondaAuth(store=store)
    recorder = Recorder(lambda r: httpx.Response(401, json=AUTH_REQUIRED))

    async def call() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recorder), auth=auth) as c:
            with pytest.raises(LoginRequiredError):
                await c.get(f"{BASE}/")

    for backend in ["asyncio", "trio", "asyncio"]:
        anyio.run(call, backend=backend)
    assert len(recorder.requests) == 3


# --- streaming ------------------------------------------------------------------------


class WatchedStream(httpx.AsyncByteStream, httpx.SyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.iterated = False

    async def __aiter__(self) -> Any:
        self.iterated = True
        yield self.body

    def __iter__(self) -> Any:
        self.iterated = True
        yield self.body


@pytest.mark.anyio
async def test_streamed_200_is_not_read_by_auth() -> None:
    stream = WatchedStream(b"big body")
    transport = httpx.MockTransport(lambda r: httpx.Response(200, stream=stream))
    async with (
        AsyncAuthClient(base_url=BASE, transport=transport, api_key="k") as client,
        client.stream("GET", "/api/file") as response,
    ):
        assert not stream.iterated
        assert await response.aread() == b"big body"


def test_sync_streamed_200_is_not_read_by_auth() -> None:
    stream = WatchedStream(b"big body")
    transport = httpx.MockTransport(lambda r: httpx.Response(200, stream=stream))
    with (
        BaseClient(base_url=BASE, transport=transport, api_key="k") as client,
        client.stream("GET", "/api/file") as response,
    ):
        assert not stream.iterated
        assert response.read() == b"big body"


@pytest.mark.anyio
async def test_streamed_refusal_is_still_mapped() -> None:
    stream = WatchedStream(b'{"error": {"code": "auth_required"}}')
    transport = httpx.MockTransport(lambda r: httpx.Response(401, stream=stream))
    async with AsyncAuthClient(base_url=BASE, transport=transport, api_key="k") as client:
        with pytest.raises(LoginRequiredError):
            async with client.stream("GET", "/api/file"):
                pass


# --- the pure core, driven by hand ----------------------------------------------------


def request() -> httpx.Request:
    return httpx.Request("GET", f"{BASE}/api/thing")


def assert_sends_and_ends(flow: Generator[Any, Any, None], sent: object, key: str) -> None:
    """`sent` is a request that carries `key`, and a 200 answer to it ends `flow`."""
    assert isinstance(sent, httpx.Request)
    assert sent.headers["Authorization"] == f"Bearer {key}"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=sent))


def test_pure_flow_sets_header_and_returns_on_success() -> None:
    auth = AnacondaAuth(api_key="k")
    flow = auth._flow(request(), Credential("k", "argument", origins=ORIGINS))
    assert_sends_and_ends(flow, next(flow), "k")


def test_pure_flow_asks_for_reread_then_retries_with_new_key() -> None:
    auth = AnacondaAuth(store=untouchable_store())
    old = Credential("old", "store", origins=ORIGINS)
    flow = auth._flow(request(), old)
    sent = next(flow)
    assert isinstance(sent, httpx.Request)
    ask = flow.send(httpx.Response(401, json=AUTH_REQUIRED, request=sent))
    assert isinstance(ask, _Reload)
    assert ask.stale is old
    assert_sends_and_ends(flow, flow.send(Credential("new", "store", origins=ORIGINS)), "new")


def test_pure_flow_with_expired_key_asks_for_reread_before_sending() -> None:
    auth = AnacondaAuth(store=untouchable_store())
    expired = Credential("old", "store", expires_at=1.0, origins=ORIGINS)
    flow = auth._flow(request(), expired)
    ask = next(flow)
    assert isinstance(ask, _Reload)
    with pytest.raises(TokenExpiredError, match="1970-01-01"):
        flow.send(Credential("old", "store", expires_at=1.0, origins=ORIGINS))


def test_httpx_protocol_auth_flow_uses_loaded_key_without_io() -> None:
    auth = AnacondaAuth(api_key="k", store=untouchable_store())
    flow = auth.auth_flow(request())
    sent = next(flow)
    assert sent.headers["Authorization"] == "Bearer k"
    with pytest.raises(LoginRequiredError):
        flow.send(httpx.Response(401, json=AUTH_REQUIRED, request=sent))


# --- secrets --------------------------------------------------------------------------


def test_reprs_never_contain_the_key() -> None:
    key = make_api_key()
    auth = AnacondaAuth(api_key=key)
    assert key not in repr(auth)
    assert "argument" in repr(auth)
    assert key not in repr(Credential(key, "argument", origins=ORIGINS))
    assert key not in repr(auth._provider)
    with BaseClient(api_key=key) as client:
        assert key not in repr(client)
        assert key not in repr(client.auth)


@pytest.mark.anyio
async def test_async_client_repr_never_contains_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_api_key()
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", key)
    async with AsyncAuthClient() as client:
        assert key not in repr(client)
        assert "setting" in repr(client)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_env_key_rejected_message_names_the_variable_not_the_key(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_api_key()
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", key)
    recorder = Recorder(lambda r: httpx.Response(401, json=AUTH_REQUIRED))
    with pytest.raises(LoginRequiredError) as caught:
        await send(kind, recorder, store=untouchable_store())
    assert "ANACONDA_AUTH_API_KEY" in str(caught.value)
    assert key not in str(caught.value)
    assert key not in repr(caught.value)


def test_auth_domain_argument_and_its_deprecated_spelling() -> None:
    store = MemoryTokenStore()
    store.save(TokenInfo(domain="id.example.test", api_key=make_api_key()))
    auth = AnacondaAuth(auth_domain="id.example.test", store=store)
    assert "auth_domain='id.example.test'" in repr(auth)
    with pytest.warns(DeprecationWarning, match="auth_domain="):
        old = AnacondaAuth(domain="id.example.test", store=store)
    assert repr(old) == repr(auth)
    with pytest.raises(ValueError, match="not both"):
        AnacondaAuth(auth_domain="id.a.test", domain="id.b.test")


def test_auth_flow_driven_by_hand_loads_the_stored_key() -> None:
    """Regression: driven by hand, auth_flow sent no key unless a client had loaded it."""
    store = MemoryTokenStore()
    key = make_api_key()
    store.save(TokenInfo(domain=DOMAIN, api_key=key))
    flow = AnacondaAuth(store=store).auth_flow(request())
    sent = next(flow)
    assert sent.headers["Authorization"] == f"Bearer {key}"
    flow.close()


def test_auth_flow_without_any_key_says_so() -> None:
    flow = AnacondaAuth(store=MemoryTokenStore()).auth_flow(request())
    sent = next(flow)
    assert "Authorization" not in sent.headers
    with pytest.raises(LoginRequiredError, match="none was found"):
        flow.send(httpx.Response(401, json=AUTH_REQUIRED, request=sent))


def _recording_auth(closed: list[bool]) -> AnacondaAuth:
    """An `AnacondaAuth` whose inner flow records being closed."""

    class Recording(AnacondaAuth):
        def _flow(self, request: httpx.Request, credential: Any) -> Any:
            try:
                yield request
                yield request
            finally:
                closed.append(True)

    return Recording(api_key="k", store=untouchable_store())


@pytest.mark.parametrize("driver", ["auth_flow", "sync_auth_flow"])
def test_closing_a_driver_closes_the_inner_flow(driver: str) -> None:
    closed: list[bool] = []
    flow = getattr(_recording_auth(closed), driver)(request())
    next(flow)
    flow.close()
    assert closed == [True]


@pytest.mark.anyio
async def test_closing_the_async_driver_closes_the_inner_flow() -> None:
    closed: list[bool] = []
    flow = _recording_auth(closed).async_auth_flow(request())
    await flow.__anext__()
    await flow.aclose()
    assert closed == [True]
