"""login / logout / is_logged_in against the test kit's fake provider and API.

Every login runs the real flows (device code, browser over the loopback listener,
password) against `FakePlatform`, whose answers are scripted where a step must fail. The
store is the real Anaconda file keyring in a temporary home, so "untouched" is checked
byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
from joserfc.jwk import RSAKey

import anaconda_auth_async
from anaconda_auth_async import (
    AnacondaAuthSettings,
    APIKeyExchangeError,
    ConfigurationError,
    CorruptTokenFileError,
    DiscoveryError,
    InvalidIDTokenError,
    LoginDeniedError,
    LoginEvent,
    LoginTimeoutError,
    RepoToken,
    StorageError,
    TokenInfo,
)
from anaconda_auth_async.logins import flow_choice, session
from anaconda_auth_async.logins.login import username_from_claims
from anaconda_auth_async.storage.keyring_store import KeyringTokenStore
from anaconda_auth_async.testing import FakePlatform, make_api_key, use_platform

AUTH = "id.example.test"
API = "api.example.test"


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    """The provider and API every client of a login talks to; alice logs in.

    No browser of the machine's is opened: no display, and ``BROWSER`` fails.
    """
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BROWSER", "/bin/false")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads BROWSER once
    user = {"sub": "user-42", "preferred_username": "alice", "email": "a@example.test"}
    platform = FakePlatform(auth_domain=AUTH, api_domain=API, user=user, password="s3cret")
    with use_platform(platform):
        yield platform


def paths(platform: FakePlatform) -> list[str]:
    return [r.url.path for r in platform.requests]


def flows_run(platform: FakePlatform) -> list[str]:
    """The login flows that reached the provider, in order."""
    flows = []
    for request in platform.requests:
        if request.url.path == "/oauth2/device/auth":
            flows.append("device")
        elif request.url.path == "/oauth2/token":
            grant = parse_qs(request.content.decode())["grant_type"][0]
            flows += {"authorization_code": ["browser"], "password": ["password"]}.get(grant, [])
    return flows


def recording_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, opens: bool) -> Path:
    """Make ``BROWSER`` a command that logs each URL it is given; returns the log."""
    log = tmp_path / "opened.log"
    command = tmp_path / "browser.sh"
    command.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexit {0 if opens else 1}\n')
    command.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{command} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    return log


def opened(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(
        auth_domain=AUTH, api_domain=API, login_flow="device", ephemeral_port=True
    )


@pytest.fixture
def keyring_file(settings: AnacondaAuthSettings) -> Path:
    return settings.keyring_path


async def snapshot(path: Path) -> bytes:
    """The keyring file's bytes, read without blocking the event loop."""
    return await anyio.Path(path).read_bytes()


def store_for(settings: AnacondaAuthSettings) -> KeyringTokenStore:
    return KeyringTokenStore(settings)


OLD_KEY = make_api_key(sub="old", exp=dt.timedelta(days=30))
OLD = TokenInfo(
    domain=AUTH,
    api_key=OLD_KEY,
    username="old-user",
    repo_tokens=(RepoToken(token="repo-tok", org_name="acme"),),
    extra={"added_by_a_newer_version": [1, 2]},
)
OTHER_DOMAIN = TokenInfo(domain="id.other.test", api_key="other-key", username="bob")
# what a device-code login that succeeds tells on_event, in order
DEVICE_LOGIN_EVENTS = ["logging_in", "device_code", "waiting", "exchanging", "done"]


@pytest.mark.anyio
async def test_success_stores_the_key_and_username(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    events: list[LoginEvent] = []
    token = await anaconda_auth_async.login(settings=settings, on_event=events.append)

    assert token.api_key == platform.minted[-1]
    assert token.username == "alice"
    assert token.domain == AUTH
    assert store_for(settings).load(AUTH) == token
    assert flows_run(platform) == ["device"]
    assert paths(platform) == [
        "/.well-known/openid-configuration",
        "/oauth2/device/auth",
        "/oauth2/token",
        "/.well-known/jwks.json",
        "/api/iam/api-keys",
    ]
    assert platform.clients == 1  # one transport configuration for every call
    assert [e.kind for e in events] == DEVICE_LOGIN_EVENTS


@pytest.mark.anyio
async def test_no_op_while_a_valid_key_is_stored(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    store_for(settings).save(OLD)
    token = await anaconda_auth_async.login(settings=settings)
    assert token == OLD
    assert flows_run(platform) == []
    assert platform.requests == []


@pytest.mark.anyio
async def test_a_key_the_server_rejected_is_replaced_without_force(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    # whoami said "log in again"; login must not answer "already logged in".
    store_for(settings).save(OLD.with_rejection(time.time()))
    assert not await anaconda_auth_async.is_logged_in(settings=settings)
    token = await anaconda_auth_async.login(settings=settings)
    assert token.api_key == platform.minted[-1]
    assert flows_run(platform) == ["device"]
    assert not token.rejected


@pytest.mark.anyio
async def test_a_damaged_keyring_file_is_repaired_by_logging_in(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path
) -> None:
    # The error for a damaged file tells the user to log in again: that must work, keep
    # the damaged bytes aside, and store the new key.
    await anyio.Path(keyring_file.parent).mkdir(parents=True, exist_ok=True)
    await anyio.Path(keyring_file).write_bytes(b"{not json")
    with pytest.raises(CorruptTokenFileError, match="anaconda-auth login"):
        store_for(settings).load(AUTH)

    token = await anaconda_auth_async.login(settings=settings)

    assert flows_run(platform) == ["device"]
    assert store_for(settings).load(AUTH) == token
    (kept,) = keyring_file.parent.glob("keyring.corrupt-*")
    assert kept.read_bytes() == b"{not json"


@pytest.mark.anyio
async def test_a_damaged_entry_is_replaced_by_logging_in_keeping_a_copy(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path
) -> None:
    # The file parses, but the entry for this domain is not a token: the error tells the
    # user to log in again, so logging in must replace it, keep the bytes, spare the rest.
    await anyio.Path(keyring_file.parent).mkdir(parents=True, exist_ok=True)
    damaged = {"Anaconda Cloud": {AUTH: "!!! not base64 JSON", "someone.else": "kept"}}
    await anyio.Path(keyring_file).write_text(json.dumps(damaged))
    await anyio.Path(keyring_file).chmod(0o600)
    with pytest.raises(CorruptTokenFileError, match="anaconda-auth login"):
        store_for(settings).load(AUTH)

    token = await anaconda_auth_async.login(settings=settings)

    assert flows_run(platform) == ["device"]
    assert store_for(settings).load(AUTH) == token
    now = json.loads(await anyio.Path(keyring_file).read_text())
    assert now["Anaconda Cloud"]["someone.else"] == "kept"
    (kept,) = keyring_file.parent.glob("keyring.corrupt-*")
    assert json.loads(await anyio.Path(kept).read_text()) == damaged


@pytest.mark.anyio
async def test_an_expired_key_is_replaced(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    expired = TokenInfo(domain=AUTH, api_key=make_api_key(exp=dt.timedelta(hours=-1)))
    store_for(settings).save(expired)
    token = await anaconda_auth_async.login(settings=settings)
    assert token.api_key == platform.minted[-1]
    assert flows_run(platform) == ["device"]


@pytest.mark.anyio
async def test_force_replaces_the_key_keeping_repo_tokens_and_unknown_fields(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    store = store_for(settings)
    store.save(OLD)
    store.save(OTHER_DOMAIN)
    token = await anaconda_auth_async.login(settings=settings, force=True)

    stored = store_for(settings).load(AUTH)
    assert stored is not None
    assert stored.api_key == platform.minted[-1] != OLD_KEY
    assert stored.username == "alice"
    assert stored.repo_tokens == OLD.repo_tokens
    assert stored.extra == {
        "added_by_a_newer_version": [1, 2],
        "api_domain": settings.api_domain,
        "version": 2,
        "stored_under": [AUTH, settings.api_domain],  # the names this login wrote
        "scopes": ["cloud:read", "cloud:write", "repo:read"],  # what the key was made with
    }
    assert stored == token
    assert store_for(settings).load("id.other.test") == OTHER_DOMAIN


class Step:
    """One way for a login to fail after it started: the error, and login()'s arguments."""

    @staticmethod
    def discovery(platform: FakePlatform) -> tuple[type[Exception], dict[str, Any]]:
        platform.script("discovery", httpx.Response(500, text="down"))
        return DiscoveryError, {}

    @staticmethod
    def flow_denied(platform: FakePlatform) -> tuple[type[Exception], dict[str, Any]]:
        platform.script("token", httpx.Response(400, json={"error": "access_denied"}))
        return LoginDeniedError, {}

    @staticmethod
    def id_token_signed_by_another_key(
        platform: FakePlatform,
    ) -> tuple[type[Exception], dict[str, Any]]:
        other = RSAKey.generate_key(2048, parameters={"kid": "fake-1"})  # the same key id
        platform.script("jwks", httpx.Response(200, json={"keys": [other.as_dict(private=False)]}))
        return InvalidIDTokenError, {}

    @staticmethod
    def id_token_with_another_nonce(
        platform: FakePlatform,
    ) -> tuple[type[Exception], dict[str, Any]]:
        platform.id_token_claims["nonce"] = "replayed"
        return InvalidIDTokenError, {"flow": "browser", "open_browser": platform.open_browser}

    @staticmethod
    def key_exchange_500(platform: FakePlatform) -> tuple[type[Exception], dict[str, Any]]:
        platform.script("api-keys", httpx.Response(500, text="<h1>Internal Server Error</h1>"))
        return APIKeyExchangeError, {}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "step",
    [
        Step.discovery,
        Step.flow_denied,
        Step.id_token_signed_by_another_key,
        Step.id_token_with_another_nonce,
        Step.key_exchange_500,
    ],
    ids=lambda f: f.__name__,
)
async def test_a_failed_login_leaves_the_stored_key_untouched(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path, step: Any
) -> None:
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    error, arguments = step(platform)
    with pytest.raises(error):
        await anaconda_auth_async.login(settings=settings, force=True, timeout=20, **arguments)
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_a_cancelled_login_leaves_the_stored_key_untouched(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path
) -> None:
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    platform.approve_device = False  # the person never enters the code
    started = anyio.Event()
    finished = False
    async with anyio.create_task_group() as tg:

        async def attempt() -> None:
            nonlocal finished
            await anaconda_auth_async.login(
                settings=settings,
                force=True,
                on_event=lambda e: started.set() if e.kind == "waiting" else None,
            )
            finished = True

        tg.start_soon(attempt)
        await started.wait()
        tg.cancel_scope.cancel()
    assert not finished
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_time_limit(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path
) -> None:
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    platform.approve_device = False
    with pytest.raises(LoginTimeoutError, match=r"did not complete within 0.05 seconds"):
        await anaconda_auth_async.login(settings=settings, force=True, timeout=0.05)
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_without_an_id_token_the_username_is_unknown(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    platform.script("token", {"id_token": None})
    token = await anaconda_auth_async.login(settings=settings)
    assert token.username is None
    assert token.api_key == platform.minted[-1]
    assert "/.well-known/jwks.json" not in paths(platform)


@pytest.mark.anyio
async def test_the_real_browser_flow_and_its_nonce(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    settings = AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, ephemeral_port=True)
    token = await anaconda_auth_async.login(
        settings=settings, flow="browser", open_browser=platform.open_browser, timeout=20
    )
    assert token.username == "alice"
    assert token.api_key == platform.minted[-1]
    assert "/oauth2/token" in paths(platform)
    assert flows_run(platform) == ["browser"]  # the fake checks the nonce it was sent


@pytest.mark.anyio
async def test_the_timeout_argument_is_the_only_limit(platform: FakePlatform) -> None:
    # login_timeout (0.05 s) is smaller than the time the user takes (0.3 s), which is
    # smaller than timeout=: the flow must not apply the setting again below it.
    settings = AnacondaAuthSettings(
        auth_domain=AUTH, api_domain=API, ephemeral_port=True, login_timeout=0.05
    )

    def slow_user(url: str) -> bool:
        time.sleep(0.3)
        return platform.open_browser(url)

    token = await anaconda_auth_async.login(
        settings=settings, flow="browser", open_browser=slow_user, timeout=30
    )
    assert token.api_key == platform.minted[-1]


@pytest.mark.anyio
async def test_without_timeout_the_setting_is_the_limit(platform: FakePlatform) -> None:
    settings = AnacondaAuthSettings(
        auth_domain=AUTH, api_domain=API, ephemeral_port=True, login_timeout=0.05
    )
    with pytest.raises(LoginTimeoutError, match=r"within 0.05 seconds.*LOGIN_TIMEOUT"):
        await anaconda_auth_async.login(settings=settings, flow="browser", open_browser=never)


def never(url: str) -> bool:
    """An opener whose user never logs in."""
    return True


@pytest.mark.anyio
async def test_the_real_browser_flow_rejects_a_replayed_id_token(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path
) -> None:
    settings = AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, ephemeral_port=True)
    keyring_file = settings.keyring_path  # made inside the platform's seal: the kit's file
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    platform.id_token_claims["nonce"] = "from-another-login"
    with pytest.raises(InvalidIDTokenError, match="nonce"):
        await anaconda_auth_async.login(
            settings=settings,
            flow="browser",
            force=True,
            open_browser=platform.open_browser,
            timeout=20,
        )
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_password_flow_end_to_end(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    platform.id_token_claims.update(preferred_username=None, email="alice@example.test")
    with pytest.warns(FutureWarning, match="deprecated") as caught:
        token = await anaconda_auth_async.login(
            settings=settings, basic=True, ask_credentials=lambda: ("alice", "s3cret")
        )
    assert token.username == "alice@example.test"
    assert flows_run(platform) == ["password"]  # neither the browser nor a device code
    assert "/oauth2/token" in paths(platform)
    (warning,) = caught.list
    assert warning.filename == __file__  # points at the caller's line


@pytest.mark.anyio
async def test_password_flow_with_bad_credentials_stores_nothing(
    settings: AnacondaAuthSettings, platform: FakePlatform, keyring_file: Path
) -> None:
    with pytest.warns(FutureWarning, match="deprecated"), pytest.raises(LoginDeniedError):
        await anaconda_auth_async.login(
            settings=settings, flow="password", ask_credentials=lambda: ("alice", "wrong")
        )
    assert not await anyio.Path(keyring_file).exists()


@pytest.mark.anyio
async def test_basic_contradicting_flow_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="pass only one of them"):
        await anaconda_auth_async.login(basic=True, flow="device")


@pytest.mark.anyio
async def test_arguments_override_settings(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    given: list[str] = []

    def opener(url: str) -> bool:
        url = platform.follow_start(url)  # the single-use loopback link, as a browser
        given.append(url)
        return platform.open_browser(url)

    token = await anaconda_auth_async.login(
        settings=settings, flow="browser", open_browser=opener, timeout=20
    )
    assert flows_run(platform) == ["browser"]
    assert [url.split("?")[0] for url in given] == [f"https://{AUTH}/oauth2/auth"]  # ours
    assert token.domain == AUTH
    with pytest.raises(DiscoveryError, match=r"id\.elsewhere\.test"):
        # force: the key stored for api.example.test would otherwise count (docs/storage.md)
        await anaconda_auth_async.login(
            settings=settings, auth_domain="id.elsewhere.test", force=True
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("environ", "device_endpoint", "expected"),
    [
        ({"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, True, "device"),
        ({"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, False, "browser"),
        ({"SSH_CONNECTION": "1 2 3 4", "BROWSER": "my-browser"}, True, "browser"),
        ({"SSH_CONNECTION": "1 2 3 4", "DISPLAY": ":0"}, True, "browser"),
    ],
)
async def test_auto_chooses_the_device_flow_on_a_headless_machine(
    settings: AnacondaAuthSettings,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    device_endpoint: bool,
    expected: str,
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("BROWSER")  # the platform fixture's
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(webbrowser, "get", lambda using=None: object())
    platform.device_code_login = device_endpoint
    await anaconda_auth_async.login(
        settings=settings, flow="auto", open_browser=platform.open_browser, timeout=20
    )
    assert flows_run(platform) == [expected]


@pytest.mark.anyio
async def test_browser_available_asks_webbrowser(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROWSER", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")

    def no_browser(using: str | None = None) -> Any:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    assert await flow_choice.browser_available() is False
    monkeypatch.setattr(webbrowser, "get", lambda using=None: object())
    assert await flow_choice.browser_available() is True
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")
    assert await flow_choice.browser_available() is True  # X forwarding: DISPLAY is set


def test_username_from_claims_preference() -> None:
    pick = username_from_claims
    assert pick({"preferred_username": "al", "email": "a@x", "sub": "1"}) == "al"
    assert pick({"email": "a@x", "sub": "1"}) == "a@x"
    assert pick({"preferred_username": "", "sub": "1"}) == "1"
    assert pick({}) is None


@pytest.mark.anyio
async def test_logout_with_and_without_a_key(
    settings: AnacondaAuthSettings, keyring_file: Path
) -> None:
    store = store_for(settings)
    store.save(OLD)
    store.save(OTHER_DOMAIN)
    assert await anaconda_auth_async.logout(settings=settings) is True
    assert store_for(settings).load(AUTH) is None
    assert store_for(settings).load("id.other.test") == OTHER_DOMAIN
    assert await anaconda_auth_async.logout(settings=settings) is False
    assert await anaconda_auth_async.logout(auth_domain="id.other.test") is True
    assert json.loads(await snapshot(keyring_file)).get("Anaconda Cloud", {}) == {}


@pytest.mark.anyio
async def test_is_logged_in_and_current_token(
    settings: AnacondaAuthSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_for(settings)
    assert await anaconda_auth_async.is_logged_in(settings=settings) is False
    assert await session.current_token(settings) == (None, store.name)

    store.save(TokenInfo(domain=AUTH, api_key=make_api_key(exp=dt.timedelta(hours=-1))))
    assert await anaconda_auth_async.is_logged_in(settings=settings) is False
    token, source = await session.current_token(settings)
    assert token is not None
    assert token.expired
    assert source == store.name

    store.save(OLD)
    assert await anaconda_auth_async.is_logged_in(settings=settings) is True
    assert await anaconda_auth_async.is_logged_in(auth_domain="id.other.test") is False


@pytest.mark.anyio
@pytest.mark.parametrize("variable", ["ANACONDA_AUTH_API_KEY", "ANACONDA_CLOUD_API_KEY"])
async def test_a_key_in_the_environment_counts_and_says_where_it_is(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    key = make_api_key()
    monkeypatch.setenv(variable, key)
    settings = AnacondaAuthSettings(auth_domain=AUTH)
    assert await anaconda_auth_async.is_logged_in(settings=settings) is True
    token, source = await session.current_token(settings)
    assert token is not None
    assert token.api_key == key
    assert source == f"environment variable {variable}"

    expired = make_api_key(exp=dt.timedelta(hours=-1))
    monkeypatch.setenv(variable, expired)
    assert await anaconda_auth_async.is_logged_in() is False


@pytest.mark.anyio
async def test_current_token_sources_argument_and_dotenv(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "api_key")  # a .env trusted on purpose
    key = make_api_key()
    _, source = await session.current_token(AnacondaAuthSettings(api_key=key))
    assert source == "argument"
    (isolated_env / ".env").write_text(f"ANACONDA_AUTH_API_KEY={key}\n")
    token, source = await session.current_token(AnacondaAuthSettings())
    assert token is not None
    assert token.api_key == key
    assert source == f"ANACONDA_AUTH_API_KEY in {(isolated_env / '.env').resolve()}"


# --- what a login shows without on_event -------------------------------------------------


@pytest.mark.anyio
async def test_without_on_event_it_says_it_waits_on_stderr(
    settings: AnacondaAuthSettings, platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    await anaconda_auth_async.login(settings=settings)
    out, err = capsys.readouterr()
    assert out == ""
    *_, waiting = err.splitlines(keepends=True)  # after the device code and its URL
    assert waiting == "Waiting for you to enter the code; press Ctrl+C to cancel.\n"
    assert err.count("Waiting") == 1


@pytest.mark.anyio
async def test_quiet_and_on_event_show_nothing(
    settings: AnacondaAuthSettings, platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    await anaconda_auth_async.login(settings=settings, quiet=True)
    events: list[LoginEvent] = []
    await anaconda_auth_async.login(settings=settings, force=True, on_event=events.append)
    assert capsys.readouterr().err == ""
    assert [e.kind for e in events] == DEVICE_LOGIN_EVENTS


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("browser", "on_event", "opens"),
    [("a browser", False, True), ("", False, False), ("a browser", True, False)],
)
async def test_the_device_page_is_opened_by_the_default_presentation(
    settings: AnacondaAuthSettings,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    browser: str,
    on_event: bool,
    opens: bool,
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")  # no display, on any platform
    log = recording_browser(tmp_path, monkeypatch, opens=True)
    if not browser:
        monkeypatch.setenv("BROWSER", "")
    await anaconda_auth_async.login(
        settings=settings, on_event=(lambda e: None) if on_event else None
    )
    device_page = f"https://{AUTH}/device"  # never with the code: command lines are public
    assert opened(log) == ([device_page] if opens else [])


@pytest.mark.anyio
async def test_auto_falls_back_to_a_device_code_when_no_browser_opens(
    settings: AnacondaAuthSettings,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = recording_browser(tmp_path, monkeypatch, opens=False)  # as BROWSER=/bin/false
    await anaconda_auth_async.login(settings=settings, flow="auto", timeout=20)
    [start_url] = opened(log)  # the browser was tried once, and gave up (auto) ...
    assert start_url.startswith("http://127.0.0.1:")  # the single-use loopback link
    assert flows_run(platform) == ["device"]  # ... for a device code, its page not opened
    err = capsys.readouterr().err
    assert "No browser could be opened, so the browser login has stopped; log in with a code" in err


@pytest.mark.anyio
async def test_an_explicit_browser_flow_does_not_fall_back(
    settings: AnacondaAuthSettings, platform: FakePlatform
) -> None:
    # No browser opens: the login waits for one (here, until its limit), no device code.
    with pytest.raises(LoginTimeoutError):
        await anaconda_auth_async.login(
            settings=settings, flow="browser", open_browser=lambda url: False, timeout=0.5
        )
    assert flows_run(platform) == []
    assert "/oauth2/device/auth" not in paths(platform)


# --- failing before the person does the work ---------------------------------------------


@pytest.mark.anyio
async def test_a_store_that_cannot_be_written_fails_before_the_login_starts(
    platform: FakePlatform, isolated_env: Path
) -> None:
    blocker = isolated_env / "not-a-directory"
    blocker.write_text("a file where the keyring's directory should be")
    settings = AnacondaAuthSettings(
        auth_domain=AUTH, api_domain=API, login_flow="device", keyring_path=blocker / "keyring"
    )
    with pytest.raises(StorageError, match="not-a-directory is a file, not a directory"):
        await anaconda_auth_async.login(settings=settings)
    assert flows_run(platform) == []  # no browser opened, no code shown
    assert platform.requests == []


@pytest.mark.anyio
async def test_a_read_only_keyring_directory_fails_before_the_login_starts(
    settings: AnacondaAuthSettings, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    directory = settings.keyring_path.parent
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: False if str(p) == str(directory) else real(p, m)
    )
    with pytest.raises(StorageError, match="directory is not writable") as caught:
        await anaconda_auth_async.login(settings=settings)
    assert "no login was started; set ANACONDA_AUTH_KEYRING_PATH" in str(caught.value)
    assert flows_run(platform) == []
