"""Security round 2, finding 3: one origin check on every path that attaches a key.

A key reaches a request on three paths: the first send, the send after an expired key was
re-read from the store, and the retry after the server rejected the key (``auth_required``)
and the store held a newer one. On each, a key bound to another API origin (recorded with
it by a login elsewhere) must not be sent; the request to this client's API stops with a
`ConfigurationError` naming both origins.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from test_auth import AUTH_REQUIRED, DOMAIN, KINDS, Recorder, send, stored

from anaconda_auth_async import ConfigurationError, TokenInfo
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

ELSEWHERE = "api.elsewhere.example"  # the API origin the newer key was created at


def elsewhere(key: str) -> TokenInfo:
    return TokenInfo(domain=DOMAIN, api_key=key, extra={"api_domain": ELSEWHERE})


async def refused_unsent(kind: str, store: MemoryTokenStore) -> None:
    """A `kind` client with `store` refuses the request naming ELSEWHERE; nothing is sent."""
    recorder = Recorder()
    with pytest.raises(ConfigurationError, match=ELSEWHERE):
        await send(kind, recorder, store=store)
    assert recorder.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_finding3_first_send_never_carries_a_key_bound_elsewhere(kind: str) -> None:
    key = make_api_key()
    store = stored(None)
    store.save(elsewhere(key))
    await refused_unsent(kind, store)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_finding3_renewed_expired_key_bound_elsewhere_is_not_sent(kind: str) -> None:
    expired = make_api_key(sub="old", exp=dt.timedelta(hours=-1))
    store = stored(expired)
    # The expired key is re-read before sending: the store now holds a key made elsewhere.
    fresh = make_api_key(sub="new")
    original_load = store.load_site_within
    original_aload = store.aload_site
    swapped = False

    def swap() -> None:
        nonlocal swapped
        if not swapped:
            swapped = True
            store.save(elsewhere(fresh))

    def load_site_within(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = original_load(*args, **kwargs)
        swap()
        return result

    async def aload_site(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = await original_aload(*args, **kwargs)
        swap()
        return result

    store.load_site_within = load_site_within  # type: ignore[method-assign]
    store.aload_site = aload_site  # type: ignore[method-assign]
    await refused_unsent(kind, store)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_finding3_retry_after_auth_required_checks_the_new_keys_origin(kind: str) -> None:
    """The attack of the review: the first key is rejected, the store meanwhile holds a key
    recorded for another API origin; the retry must not send it to this one."""
    old, new = make_api_key(sub="old"), make_api_key(sub="new")
    store = stored(old)

    def answer(request: httpx.Request) -> httpx.Response:
        store.save(elsewhere(new))  # a login at another API, by another process
        return httpx.Response(401, json=AUTH_REQUIRED)

    recorder = Recorder(answer)
    with pytest.raises(ConfigurationError) as caught:
        await send(kind, recorder, store=store)
    assert recorder.auth_headers == [f"Bearer {old}"]  # the new key never left
    message = str(caught.value)
    assert ELSEWHERE in message
    assert "https://anaconda.cloud" in message
    assert new not in message
    assert old not in message
