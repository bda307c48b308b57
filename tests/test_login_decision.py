"""`login()` decides keep / renew / repair / log in again once, and reports it as events.

Through the public API over a `FakePlatform` and a `MemoryTokenStore`: what a caller
receives (``already_logged_in``, ``logging_in`` and its ``reason``), and that the
"log in again?" question is a callback the library asks, never a second copy of the rule.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

import anaconda_auth_async
from anaconda_auth_async import LoginEvent, TokenInfo
from anaconda_auth_async.sync import login as sync_login
from anaconda_auth_async.testing import (
    FakePlatform,
    MemoryTokenStore,
    make_api_key,
    use_platform,
)

AUTH = "id.anaconda.cloud"


@pytest.fixture
def platform(store: MemoryTokenStore) -> Iterator[FakePlatform]:
    fake = FakePlatform()
    with use_platform(fake):
        yield fake


def stored(store: MemoryTokenStore, **claims: object) -> TokenInfo:
    token = TokenInfo(domain=AUTH, api_key=make_api_key(**claims), username="ada")  # type: ignore[arg-type]
    store.save(token)
    return token


def decisions(events: list[LoginEvent]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.reason) for e in events if e.kind in ("already_logged_in", "logging_in")]


@pytest.mark.anyio
async def test_a_usable_key_is_kept_and_reported(
    store: MemoryTokenStore, platform: FakePlatform
) -> None:
    old = stored(store)
    events: list[LoginEvent] = []
    token = await anaconda_auth_async.login(flow="device", on_event=events.append)
    assert token == old
    assert platform.requests == []
    (event,) = events
    assert event.kind == "already_logged_in"
    assert event.username == "ada"
    assert event.expires_at == old.expires_at
    assert event.message is not None
    assert event.message.startswith("You are already logged in to id.anaconda.cloud as ada,")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("claims", "mark", "force", "renew", "reason"),
    [
        ({}, False, False, None, None),
        ({}, False, True, None, "forced"),
        ({"exp": dt.timedelta(days=-1)}, False, False, None, "expired"),
        ({}, True, False, None, "rejected"),
        ({"exp": dt.timedelta(days=5)}, False, False, dt.timedelta(days=30), "renew"),
        ({"exp": dt.timedelta(days=50)}, False, False, dt.timedelta(days=30), None),
    ],
)
async def test_the_decision_and_its_reason(
    store: MemoryTokenStore,
    platform: FakePlatform,
    claims: dict[str, object],
    mark: bool,
    force: bool,
    renew: dt.timedelta | None,
    reason: str | None,
) -> None:
    old = stored(store, **claims)
    if mark:
        store.save(old.with_rejection(time.time()))
    events: list[LoginEvent] = []
    token = await anaconda_auth_async.login(
        flow="device", on_event=events.append, force=force, renew_within=renew
    )
    if reason is None:
        assert decisions(events) == [("already_logged_in", None)]
        assert token.api_key == old.api_key
    else:
        assert decisions(events) == [("logging_in", reason)]
        assert token.api_key == platform.minted[-1]


@pytest.mark.anyio
async def test_nothing_stored_is_a_first_login(
    store: MemoryTokenStore, platform: FakePlatform
) -> None:
    events: list[LoginEvent] = []
    await anaconda_auth_async.login(flow="device", on_event=events.append)
    assert decisions(events) == [("logging_in", "not_logged_in")]
    assert events[0].message is None  # nothing worth saying


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [True, False])
@pytest.mark.parametrize("is_async", [True, False])
async def test_the_relogin_question_is_a_callback(
    store: MemoryTokenStore, platform: FakePlatform, answer: bool, is_async: bool
) -> None:
    old = stored(store)
    asked: list[TokenInfo] = []

    def confirm(token: TokenInfo) -> bool:
        asked.append(token)
        return answer

    async def aconfirm(token: TokenInfo) -> bool:
        return confirm(token)

    events: list[LoginEvent] = []
    token = await anaconda_auth_async.login(
        flow="device", on_event=events.append, confirm_relogin=aconfirm if is_async else confirm
    )
    assert asked == [old]
    expected = [("already_logged_in", None)] + ([("logging_in", "confirmed")] if answer else [])
    assert decisions(events) == expected
    assert (token.api_key != old.api_key) is answer


@pytest.mark.anyio
@pytest.mark.parametrize("case", ["nothing stored", "renewal", "force"])
async def test_the_question_is_asked_only_over_a_usable_key_without_renew_within(
    store: MemoryTokenStore, platform: FakePlatform, case: str
) -> None:
    if case != "nothing stored":
        stored(store)

    def never(token: TokenInfo) -> bool:
        raise AssertionError("asked")

    await anaconda_auth_async.login(
        flow="device",
        quiet=True,
        confirm_relogin=never,
        force=case == "force",
        renew_within=dt.timedelta(days=1) if case == "renewal" else None,
    )


def test_the_sync_face_takes_the_callback(store: MemoryTokenStore, platform: FakePlatform) -> None:
    stored(store)
    token = sync_login(flow="device", quiet=True, confirm_relogin=lambda token: True)
    assert token.api_key == platform.minted[-1]


@pytest.mark.anyio
async def test_a_damaged_file_is_reported_as_the_reason(
    isolated_env: object, platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    from anaconda_auth_async import AnacondaAuthSettings, KeyringTokenStore

    settings = AnacondaAuthSettings()
    settings.keyring_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.keyring_path.write_text("{not json")
    events: list[LoginEvent] = []
    await anaconda_auth_async.login(
        flow="device", on_event=events.append, store=KeyringTokenStore(settings)
    )
    assert decisions(events) == [("logging_in", "damaged")]
    assert events[0].message is not None
    assert str(settings.keyring_path) in events[0].message
    # Without on_event the default presentation says it (the person must know).
    settings.keyring_path.write_text("{not json")
    await anaconda_auth_async.login(flow="device", store=KeyringTokenStore(settings))
    assert "could not be parsed" in capsys.readouterr().err
