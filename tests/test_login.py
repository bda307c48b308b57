"""login / logout / is_logged_in against a fake provider and API over MockTransport.

ID tokens are signed with an RSA key generated here and served from the fake JWKS
endpoint; the interactive flows are replaced by fakes, except the password flow, which
runs for real. The store is the real Anaconda file keyring in a temporary home, so
"untouched" is checked byte for byte.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
from joserfc import jwt
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
    _login,
    _transport,
)
from anaconda_auth_async._flows import FlowResult
from anaconda_auth_async._flows import browser as browser_module
from anaconda_auth_async._flows import device as device_module
from anaconda_auth_async._flows.opener import NoBrowserError
from anaconda_auth_async._flows.token_endpoint import OAuthTokens
from anaconda_auth_async._storage import KeyringTokenStore
from anaconda_auth_async.testing import make_api_key

AUTH = "id.example.test"
ISSUER = f"https://{AUTH}"
API = "api.example.test"
CLIENT_ID = "b4ad7f1d-c784-46b5-a9fe-106e50441f5a"
ACCESS_TOKEN = "access-token-7d1c"
NONCE = "nonce-5e2a"


@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    key: RSAKey = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
    return key


def at_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


class Platform:
    """The provider (discovery, JWKS, token endpoint) and the API's key endpoint."""

    def __init__(self, key: RSAKey) -> None:
        self.key = key
        self.new_key = make_api_key(sub="alice", exp=dt.timedelta(days=365))
        self.requests: list[httpx.Request] = []
        self.clients = 0
        self.discovery = httpx.Response(200, json=self.document())
        self.api_answer = httpx.Response(201, json={"api_key": self.new_key})
        self.claims: dict[str, Any] = {"preferred_username": "alice", "email": "a@example.test"}
        self.browser_nonce: str | None = None  # the nonce the real browser flow sent

    def document(self) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
            "device_authorization_endpoint": f"{ISSUER}/device",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def id_token(self, *, nonce: str | None = NONCE, key: RSAKey | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "user-42",
            "iat": now,
            "exp": now + 300,
            "at_hash": at_hash(ACCESS_TOKEN),
            **({"nonce": nonce} if nonce else {}),
            **self.claims,
        }
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key or self.key)

    def tokens(self, *, id_token: str | None) -> OAuthTokens:
        raw = {"access_token": ACCESS_TOKEN, "id_token": id_token, "token_type": "Bearer"}
        return OAuthTokens(
            access_token=ACCESS_TOKEN,
            id_token=id_token,
            refresh_token=None,
            token_type="Bearer",
            expires_in=300,
            raw=raw,
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return self.discovery
        if url == f"{ISSUER}/jwks":
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        if url == f"{ISSUER}/token":
            form = parse_qs(request.content.decode())
            if form["grant_type"] == ["authorization_code"] and form["code"] == ["code-9"]:
                token = self.id_token(nonce=self.browser_nonce)
                return httpx.Response(
                    200,
                    json={"access_token": ACCESS_TOKEN, "id_token": token, "token_type": "Bearer"},
                )
            if form["grant_type"] == ["password"] and form["password"] == ["s3cret"]:
                token = self.id_token(nonce=None)
                return httpx.Response(
                    200,
                    json={"access_token": ACCESS_TOKEN, "id_token": token, "token_type": "Bearer"},
                )
            return httpx.Response(400, json={"error": "invalid_grant"})
        if url == f"https://{API}/api/iam/api-keys":
            assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
            return self.api_answer
        return httpx.Response(404)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


@pytest.fixture
def platform(signing_key: RSAKey, monkeypatch: pytest.MonkeyPatch) -> Platform:
    """Every client login() makes talks to the fake platform (keeping the real config)."""
    platform = Platform(signing_key)
    real = _transport.async_http_client

    def patched(settings: AnacondaAuthSettings, **overrides: Any) -> httpx.AsyncClient:
        platform.clients += 1
        return real(settings, transport=httpx.MockTransport(platform), **overrides)

    monkeypatch.setattr(_transport, "async_http_client", patched)
    return platform


class Flows:
    """Fake browser and device flows: succeed, fail, or block until cancelled."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.calls: list[str] = []
        self.error: Exception | None = None
        self.block = False
        self.id_token: str | bool | None = True  # True: a valid one
        self.started: anyio.Event | None = None
        self.opener: Any = "not called"
        self.device_opener: Any = "not called"
        self.give_up_without_browser: bool | None = None
        self.no_browser = False  # the browser flow finds that no browser opens

    async def _result(self, name: str, on_event: Any) -> FlowResult:
        self.calls.append(name)
        on_event(LoginEvent(kind="waiting", message=f"fake {name} flow"))
        if self.error is not None:
            raise self.error
        if self.block:
            assert self.started is not None
            self.started.set()
            await anyio.sleep_forever()
        id_token = self.platform.id_token() if self.id_token is True else self.id_token
        assert id_token is None or isinstance(id_token, str)
        return FlowResult(tokens=self.platform.tokens(id_token=id_token), nonce=NONCE)

    async def device(
        self, http: Any, metadata: Any, settings: Any, *, on_event: Any, open_browser: Any
    ) -> Any:
        self.device_opener = open_browser
        return await self._result("device", on_event)

    async def browser(
        self,
        http: Any,
        metadata: Any,
        settings: Any,
        *,
        on_event: Any,
        open_browser: Any,
        give_up_without_browser: bool,
    ) -> Any:
        self.opener = open_browser
        self.give_up_without_browser = give_up_without_browser
        if self.no_browser and give_up_without_browser:
            self.calls.append("browser")
            raise NoBrowserError("no browser")
        return await self._result("browser", on_event)


@pytest.fixture
def flows(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Flows:
    fakes = Flows(platform)
    monkeypatch.setattr(device_module, "device_flow", fakes.device)
    monkeypatch.setattr(browser_module, "browser_flow", fakes.browser)
    return fakes


@pytest.fixture
def settings() -> AnacondaAuthSettings:
    return AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, login_flow="device")


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


@pytest.mark.anyio
async def test_success_stores_the_key_and_username(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    events: list[LoginEvent] = []
    token = await anaconda_auth_async.login(settings=settings, on_event=events.append)

    assert token.api_key == platform.new_key
    assert token.username == "alice"
    assert token.domain == AUTH
    assert store_for(settings).load(AUTH) == token
    assert flows.calls == ["device"]
    assert platform.paths() == [
        "/.well-known/openid-configuration",
        "/jwks",
        "/api/iam/api-keys",
    ]
    assert platform.clients == 1  # one transport configuration for every call
    assert [e.kind for e in events] == ["waiting", "exchanging", "done"]


@pytest.mark.anyio
async def test_no_op_while_a_valid_key_is_stored(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    store_for(settings).save(OLD)
    token = await anaconda_auth_async.login(settings=settings)
    assert token == OLD
    assert flows.calls == []
    assert platform.requests == []


@pytest.mark.anyio
async def test_a_key_the_server_rejected_is_replaced_without_force(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    # whoami said "log in again"; login must not answer "already logged in".
    store_for(settings).save(OLD.with_rejection(time.time()))
    assert not await anaconda_auth_async.is_logged_in(settings=settings)
    token = await anaconda_auth_async.login(settings=settings)
    assert token.api_key == platform.new_key
    assert flows.calls == ["device"]
    assert not token.rejected


@pytest.mark.anyio
async def test_a_damaged_keyring_file_is_repaired_by_logging_in(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform, keyring_file: Path
) -> None:
    # The error for a damaged file tells the user to log in again: that must work, keep
    # the damaged bytes aside, and store the new key.
    await anyio.Path(keyring_file.parent).mkdir(parents=True, exist_ok=True)
    await anyio.Path(keyring_file).write_bytes(b"{not json")
    with pytest.raises(CorruptTokenFileError, match="anaconda-auth login"):
        store_for(settings).load(AUTH)

    token = await anaconda_auth_async.login(settings=settings)

    assert flows.calls == ["device"]
    assert store_for(settings).load(AUTH) == token
    (kept,) = keyring_file.parent.glob("keyring.corrupt-*")
    assert kept.read_bytes() == b"{not json"


@pytest.mark.anyio
async def test_a_damaged_entry_is_replaced_by_logging_in_keeping_a_copy(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform, keyring_file: Path
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

    assert flows.calls == ["device"]
    assert store_for(settings).load(AUTH) == token
    now = json.loads(await anyio.Path(keyring_file).read_text())
    assert now["Anaconda Cloud"]["someone.else"] == "kept"
    (kept,) = keyring_file.parent.glob("keyring.corrupt-*")
    assert json.loads(await anyio.Path(kept).read_text()) == damaged


@pytest.mark.anyio
async def test_an_expired_key_is_replaced(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    expired = TokenInfo(domain=AUTH, api_key=make_api_key(exp=dt.timedelta(hours=-1)))
    store_for(settings).save(expired)
    token = await anaconda_auth_async.login(settings=settings)
    assert token.api_key == platform.new_key
    assert flows.calls == ["device"]


@pytest.mark.anyio
async def test_force_replaces_the_key_keeping_repo_tokens_and_unknown_fields(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    store = store_for(settings)
    store.save(OLD)
    store.save(OTHER_DOMAIN)
    token = await anaconda_auth_async.login(settings=settings, force=True)

    stored = store_for(settings).load(AUTH)
    assert stored is not None
    assert stored.api_key == platform.new_key != OLD_KEY
    assert stored.username == "alice"
    assert stored.repo_tokens == OLD.repo_tokens
    assert stored.extra == {
        "added_by_a_newer_version": [1, 2],
        "api_domain": settings.api_domain,
        "version": 2,
    }
    assert stored == token
    assert store_for(settings).load("id.other.test") == OTHER_DOMAIN


class Step:
    """One way for a login to fail after it started."""

    @staticmethod
    def discovery(platform: Platform, flows: Flows) -> type[Exception]:
        platform.discovery = httpx.Response(500, text="down")
        return DiscoveryError

    @staticmethod
    def flow_denied(platform: Platform, flows: Flows) -> type[Exception]:
        flows.error = LoginDeniedError("denied", error="access_denied")
        return LoginDeniedError

    @staticmethod
    def id_token_signed_by_another_key(platform: Platform, flows: Flows) -> type[Exception]:
        other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        flows.id_token = platform.id_token(key=other)
        return InvalidIDTokenError

    @staticmethod
    def id_token_with_another_nonce(platform: Platform, flows: Flows) -> type[Exception]:
        flows.id_token = platform.id_token(nonce="replayed")
        return InvalidIDTokenError

    @staticmethod
    def key_exchange_500(platform: Platform, flows: Flows) -> type[Exception]:
        platform.api_answer = httpx.Response(500, text="<h1>Internal Server Error</h1>")
        return APIKeyExchangeError


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
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform, keyring_file: Path, step: Any
) -> None:
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    error = step(platform, flows)
    with pytest.raises(error):
        await anaconda_auth_async.login(settings=settings, force=True)
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_a_cancelled_login_leaves_the_stored_key_untouched(
    settings: AnacondaAuthSettings, flows: Flows, keyring_file: Path
) -> None:
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    flows.block, flows.started = True, anyio.Event()
    finished = False
    async with anyio.create_task_group() as tg:

        async def attempt() -> None:
            nonlocal finished
            await anaconda_auth_async.login(settings=settings, force=True)
            finished = True

        tg.start_soon(attempt)
        await flows.started.wait()
        tg.cancel_scope.cancel()
    assert not finished
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_time_limit(settings: AnacondaAuthSettings, flows: Flows, keyring_file: Path) -> None:
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    flows.block, flows.started = True, anyio.Event()
    with pytest.raises(LoginTimeoutError, match=r"did not complete within 0.05 seconds"):
        await anaconda_auth_async.login(settings=settings, force=True, timeout=0.05)
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_without_an_id_token_the_username_is_unknown(
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    flows.id_token = None
    token = await anaconda_auth_async.login(settings=settings)
    assert token.username is None
    assert token.api_key == platform.new_key
    assert "/jwks" not in platform.paths()


def fake_browser(platform: Platform, *, nonce: str | None = None) -> Any:
    """An opener that "logs in": it answers the loopback redirect with a code.

    The ID token then carries `nonce`, or the one the authorize URL asked for.
    """

    def open_browser(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(httpx.URL(url).query.decode()).items()}
        platform.browser_nonce = nonce or query["nonce"]
        redirect = httpx.URL(
            query["redirect_uri"], params={"code": "code-9", "state": query["state"]}
        )
        with httpx.Client(trust_env=False, timeout=5) as browser:
            assert browser.get(redirect).status_code in (302, 303)
        return True

    return open_browser


@pytest.mark.anyio
async def test_the_real_browser_flow_and_its_nonce(
    settings: AnacondaAuthSettings, platform: Platform
) -> None:
    settings = AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, ephemeral_port=True)
    token = await anaconda_auth_async.login(
        settings=settings, flow="browser", open_browser=fake_browser(platform), timeout=20
    )
    assert token.username == "alice"
    assert token.api_key == platform.new_key
    assert "/token" in platform.paths()


@pytest.mark.anyio
async def test_the_timeout_argument_is_the_only_limit(platform: Platform) -> None:
    # login_timeout (0.05 s) is smaller than the time the user takes (0.3 s), which is
    # smaller than timeout=: the flow must not apply the setting again below it.
    settings = AnacondaAuthSettings(
        auth_domain=AUTH, api_domain=API, ephemeral_port=True, login_timeout=0.05
    )
    log_in = fake_browser(platform)

    def slow_user(url: str) -> bool:
        time.sleep(0.3)
        return log_in(url)

    token = await anaconda_auth_async.login(
        settings=settings, flow="browser", open_browser=slow_user, timeout=30
    )
    assert token.api_key == platform.new_key


@pytest.mark.anyio
async def test_without_timeout_the_setting_is_the_limit(platform: Platform) -> None:
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
    settings: AnacondaAuthSettings, platform: Platform, keyring_file: Path
) -> None:
    settings = AnacondaAuthSettings(auth_domain=AUTH, api_domain=API, ephemeral_port=True)
    store_for(settings).save(OLD)
    before = await snapshot(keyring_file)
    with pytest.raises(InvalidIDTokenError, match="nonce"):
        await anaconda_auth_async.login(
            settings=settings,
            flow="browser",
            force=True,
            open_browser=fake_browser(platform, nonce="from-another-login"),
            timeout=20,
        )
    assert await snapshot(keyring_file) == before


@pytest.mark.anyio
async def test_password_flow_end_to_end(
    settings: AnacondaAuthSettings, platform: Platform, flows: Flows
) -> None:
    platform.claims = {"email": "alice@example.test"}
    with pytest.warns(FutureWarning, match="deprecated") as caught:
        token = await anaconda_auth_async.login(
            settings=settings, basic=True, ask_credentials=lambda: ("alice", "s3cret")
        )
    assert token.username == "alice@example.test"
    assert flows.calls == []
    assert "/token" in platform.paths()
    (warning,) = caught.list
    assert warning.filename == __file__  # points at the caller's line


@pytest.mark.anyio
async def test_password_flow_with_bad_credentials_stores_nothing(
    settings: AnacondaAuthSettings, platform: Platform, keyring_file: Path
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
    settings: AnacondaAuthSettings, flows: Flows, platform: Platform
) -> None:
    def opener(url: str) -> bool:
        return True

    token = await anaconda_auth_async.login(settings=settings, flow="browser", open_browser=opener)
    assert flows.calls == ["browser"]
    assert flows.opener is opener
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
    flows: Flows,
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    device_endpoint: bool,
    expected: str,
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(webbrowser, "get", lambda using=None: object())
    if not device_endpoint:
        document = {**platform.document(), "device_authorization_endpoint": None}
        platform.discovery = httpx.Response(200, json=document)
    await anaconda_auth_async.login(settings=settings, flow="auto")
    assert flows.calls == [expected]


@pytest.mark.anyio
async def test_browser_available_asks_webbrowser(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROWSER", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")

    def no_browser(using: str | None = None) -> Any:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    assert await _login.browser_available() is False
    monkeypatch.setattr(webbrowser, "get", lambda using=None: object())
    assert await _login.browser_available() is True
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")
    assert await _login.browser_available() is True  # X forwarding: DISPLAY is set


def test_username_from_claims_preference() -> None:
    pick = _login.username_from_claims
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
    assert await _login.current_token(settings) == (None, store.name)

    store.save(TokenInfo(domain=AUTH, api_key=make_api_key(exp=dt.timedelta(hours=-1))))
    assert await anaconda_auth_async.is_logged_in(settings=settings) is False
    token, source = await _login.current_token(settings)
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
    token, source = await _login.current_token(settings)
    assert token is not None
    assert token.api_key == key
    assert source == f"environment variable {variable}"

    expired = make_api_key(exp=dt.timedelta(hours=-1))
    monkeypatch.setenv(variable, expired)
    assert await anaconda_auth_async.is_logged_in() is False


@pytest.mark.anyio
async def test_current_token_sources_argument_and_dotenv(isolated_env: Path) -> None:
    key = make_api_key()
    _, source = await _login.current_token(AnacondaAuthSettings(api_key=key))
    assert source == "argument"
    (isolated_env / ".env").write_text(f"ANACONDA_AUTH_API_KEY={key}\n")
    token, source = await _login.current_token(AnacondaAuthSettings())
    assert token is not None
    assert token.api_key == key
    assert source == f"ANACONDA_AUTH_API_KEY in {(isolated_env / '.env').resolve()}"


# --- what a login shows without on_event -------------------------------------------------


@pytest.mark.anyio
async def test_without_on_event_it_says_it_waits_on_stderr(
    settings: AnacondaAuthSettings, flows: Flows, capsys: pytest.CaptureFixture[str]
) -> None:
    await anaconda_auth_async.login(settings=settings)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "Waiting for the login to complete; press Ctrl+C to cancel.\n"


@pytest.mark.anyio
async def test_quiet_and_on_event_show_nothing(
    settings: AnacondaAuthSettings, flows: Flows, capsys: pytest.CaptureFixture[str]
) -> None:
    await anaconda_auth_async.login(settings=settings, quiet=True)
    events: list[LoginEvent] = []
    await anaconda_auth_async.login(settings=settings, force=True, on_event=events.append)
    assert capsys.readouterr().err == ""
    assert [e.kind for e in events] == ["waiting", "exchanging", "done"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("browser", "on_event", "opens"),
    [("my-browser %s", False, True), ("", False, False), ("my-browser %s", True, False)],
)
async def test_the_device_page_is_opened_by_the_default_presentation(
    settings: AnacondaAuthSettings,
    flows: Flows,
    monkeypatch: pytest.MonkeyPatch,
    browser: str,
    on_event: bool,
    opens: bool,
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")  # no display, on any platform
    monkeypatch.setenv("BROWSER", browser)
    await anaconda_auth_async.login(
        settings=settings, on_event=(lambda e: None) if on_event else None
    )
    from anaconda_auth_async._flows.opener import default_open_browser

    assert flows.device_opener is (default_open_browser if opens else None)


@pytest.mark.anyio
async def test_auto_falls_back_to_a_device_code_when_no_browser_opens(
    settings: AnacondaAuthSettings,
    flows: Flows,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BROWSER", "/bin/false")
    flows.no_browser = True
    await anaconda_auth_async.login(settings=settings, flow="auto")
    assert flows.calls == ["browser", "device"]
    assert flows.give_up_without_browser is True
    assert flows.device_opener is None  # the browser just failed to open
    assert "No browser could be opened; logging in with a code instead." in capsys.readouterr().err


@pytest.mark.anyio
async def test_an_explicit_browser_flow_does_not_fall_back(
    settings: AnacondaAuthSettings, flows: Flows
) -> None:
    await anaconda_auth_async.login(settings=settings, flow="browser")
    assert flows.give_up_without_browser is False


# --- failing before the person does the work ---------------------------------------------


@pytest.mark.anyio
async def test_a_store_that_cannot_be_written_fails_before_the_login_starts(
    flows: Flows, platform: Platform, isolated_env: Path
) -> None:
    blocker = isolated_env / "not-a-directory"
    blocker.write_text("a file where the keyring's directory should be")
    settings = AnacondaAuthSettings(
        auth_domain=AUTH, api_domain=API, login_flow="device", keyring_path=blocker / "keyring"
    )
    with pytest.raises(StorageError, match="not-a-directory is a file, not a directory"):
        await anaconda_auth_async.login(settings=settings)
    assert flows.calls == []  # no browser opened, no code shown
    assert platform.requests == []


@pytest.mark.anyio
async def test_a_read_only_keyring_directory_fails_before_the_login_starts(
    settings: AnacondaAuthSettings, flows: Flows, monkeypatch: pytest.MonkeyPatch
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
    assert flows.calls == []
