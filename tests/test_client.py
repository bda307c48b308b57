"""AsyncAuthClient and BaseClient: anaconda-cloud-auth's arguments, httpx options winning
over our defaults, extra headers, Min-Api-Version warnings, account helpers.

Requests go to the test kit's `FakePlatform`, which records them (what was sent is read
from `platform.requests`); its answers are scripted where a test needs other ones."""

from __future__ import annotations

import hashlib
import json
import ssl
import warnings
from typing import Any

import httpx
import pytest

import anaconda_auth_async
from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError
from anaconda_auth_async.api_client.api_version import MinApiVersion, parse_version
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient, client_factory
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore

VERSION = anaconda_auth_async.__version__
ACCOUNT = {"user": {"email": "Jane@Example.com", "first_name": "Jane", "last_name": "Doe"}}


@pytest.fixture
def platform() -> FakePlatform:
    """The API at anaconda.cloud; ``GET /api/x`` answers 200 to a key it made."""
    platform = FakePlatform()
    platform.route("GET", "/api/x", json={})
    return platform


def sent_headers(
    client: BaseClient, platform: FakePlatform, path: str = "/api/x", **kwargs: Any
) -> httpx.Headers:
    """The headers of a request `client` sends (as the platform received them)."""
    client.get(path, **kwargs)
    return platform.requests[-1].headers


# --- base URL and domain --------------------------------------------------------------


def test_base_url_defaults_to_the_api_domain() -> None:
    with BaseClient(api_key="k") as client:
        assert client.base_url == "https://anaconda.cloud"
        assert client.urljoin("/api/account") == "https://anaconda.cloud/api/account"


def test_api_domain_from_seed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", "example.org")
    with BaseClient(api_key="k") as client:
        assert client.base_url == "https://example.org"


def test_domain_argument() -> None:
    with BaseClient(domain="other.test", api_key="k") as client:
        assert client.base_url == "https://other.test"
        assert client.settings.api_domain == "other.test"
    settings = AnacondaAuthSettings()
    with BaseClient(domain="third.test/", settings=settings, api_key="k") as client:
        assert client.base_url == "https://third.test"


def test_base_uri_is_an_alias_of_base_url(platform: FakePlatform) -> None:
    with BaseClient(
        base_uri="https://seed.test/", api_key="k", transport=platform.transport
    ) as client:
        client.get("api/x")
    assert platform.requests[-1].url == "https://seed.test/api/x"


@pytest.mark.parametrize(
    "arguments",
    [
        {"base_url": "https://a.test", "domain": "b.test"},
        {"base_uri": "https://a.test", "domain": "b.test"},
        {"base_url": "https://a.test", "base_uri": "https://b.test"},
    ],
)
def test_conflicting_locations_are_refused(arguments: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="not both"):
        BaseClient(**arguments)  # type: ignore[arg-type]


def test_invalid_domain_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="api_domain"):
        BaseClient(domain="https://x.test/path")


# --- headers --------------------------------------------------------------------------


def test_default_user_agent_and_no_api_version(platform: FakePlatform) -> None:
    with BaseClient(api_key=platform.api_key(), transport=platform.transport) as client:
        headers = sent_headers(client, platform)
    assert headers["user-agent"] == f"anaconda-auth-async/{VERSION}"
    assert "api-version" not in headers


class ServiceClient(BaseClient):
    _user_agent = "anaconda-cloud-foo/1.0"
    _api_version = "2024.01.01"


class AsyncServiceClient(AsyncAuthClient):
    _user_agent = "anaconda-cloud-foo/1.0"
    _api_version = "2024.01.01"


def test_subclass_sets_user_agent_and_api_version(platform: FakePlatform) -> None:
    with ServiceClient(api_key=platform.api_key(), transport=platform.transport) as client:
        headers = sent_headers(client, platform)
        assert client.api_version == "2024.01.01"
    assert headers["user-agent"] == "anaconda-cloud-foo/1.0"
    assert headers["api-version"] == "2024.01.01"


@pytest.mark.anyio
async def test_async_subclass_sets_user_agent_and_api_version(platform: FakePlatform) -> None:
    async with AsyncServiceClient(
        api_key=platform.api_key(), transport=platform.transport
    ) as client:
        await client.get("/api/x")
    headers = platform.requests[-1].headers
    assert headers["user-agent"] == "anaconda-cloud-foo/1.0"
    assert headers["api-version"] == "2024.01.01"


def test_arguments_win_over_class_attributes(platform: FakePlatform) -> None:
    with ServiceClient(
        api_key=platform.api_key(),
        user_agent="mine/2",
        api_version="2025.1.1",
        transport=platform.transport,
    ) as client:
        headers = sent_headers(client, platform)
    assert headers["user-agent"] == "mine/2"
    assert headers["api-version"] == "2025.1.1"


def test_headers_option_wins_over_class_defaults(platform: FakePlatform) -> None:
    with ServiceClient(
        api_key=platform.api_key(),
        headers={"User-Agent": "explicit/1", "Api-Version": "1.0"},
        transport=platform.transport,
    ) as client:
        headers = sent_headers(client, platform)
        assert client.api_version == "1.0"
    assert headers["user-agent"] == "explicit/1"
    assert headers["api-version"] == "1.0"


def test_extra_headers_from_seed_environment_json(
    monkeypatch: pytest.MonkeyPatch, platform: FakePlatform
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_EXTRA_HEADERS", '{"X-Team": "blue", "X-Env": "ci"}')
    with BaseClient(api_key=platform.api_key(), transport=platform.transport) as client:
        headers = sent_headers(client, platform)
    assert headers["x-team"] == "blue"
    assert headers["x-env"] == "ci"


def test_explicit_headers_win_over_extra_headers(
    monkeypatch: pytest.MonkeyPatch, platform: FakePlatform
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_EXTRA_HEADERS", '{"X-Team": "env", "User-Agent": "env/1"}')
    with BaseClient(
        api_key=platform.api_key(), headers={"x-team": "explicit"}, transport=platform.transport
    ) as client:
        headers = sent_headers(client, platform)
        assert (
            sent_headers(client, platform, headers={"X-Team": "per-request"})["x-team"]
            == "per-request"
        )
    assert headers["x-team"] == "explicit"
    assert headers["user-agent"] == f"anaconda-auth-async/{VERSION}"


@pytest.mark.parametrize("extra", [{"X-Arg": "1"}, '{"X-Arg": "1"}'])
def test_extra_headers_argument_replaces_the_setting(
    extra: dict[str, str] | str, monkeypatch: pytest.MonkeyPatch, platform: FakePlatform
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_EXTRA_HEADERS", '{"X-Env": "1"}')
    with BaseClient(
        api_key=platform.api_key(), extra_headers=extra, transport=platform.transport
    ) as client:
        headers = sent_headers(client, platform)
    assert headers["x-arg"] == "1"
    assert "x-env" not in headers


@pytest.mark.parametrize("extra", ['{"X-Token": "s3cret"', '["s3cret"]', '{"X": 1}'])
def test_bad_extra_headers_never_echo_the_value(extra: str) -> None:
    with pytest.raises(ConfigurationError, match="extra_headers") as caught:
        BaseClient(api_key="k", extra_headers=extra)
    assert "s3cret" not in str(caught.value)


# --- httpx options win over our defaults ----------------------------------------------


def test_default_timeout_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_TIMEOUT", "7")
    with BaseClient(api_key="k") as client:
        assert client.timeout == httpx.Timeout(7)


@pytest.mark.parametrize("timeout", [3.0, None, httpx.Timeout(1, read=60)])
def test_user_timeout_wins(timeout: Any) -> None:
    with BaseClient(api_key="k", timeout=timeout) as client:
        assert client.timeout == httpx.Timeout(timeout)


@pytest.mark.anyio
async def test_async_user_timeout_and_options_win() -> None:
    async with AsyncAuthClient(
        api_key="k", timeout=None, follow_redirects=True, max_redirects=3
    ) as client:
        assert client.timeout == httpx.Timeout(None)
        assert client.follow_redirects
        assert client.max_redirects == 3


def test_user_auth_option_replaces_ours(platform: FakePlatform) -> None:
    with BaseClient(api_key="k", auth=("user", "pw"), transport=platform.transport) as client:
        assert sent_headers(client, platform)["authorization"].startswith("Basic ")


def test_ssl_verify_argument() -> None:
    with BaseClient(api_key="k", ssl_verify=False) as client:
        context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_NONE
    with BaseClient(api_key="k", ssl_verify="false", settings=AnacondaAuthSettings()) as client:
        assert client.settings.ssl_verify is False
    with pytest.raises(ConfigurationError, match="ssl_verify"):
        BaseClient(api_key="k", ssl_verify="/no/such/bundle.pem", settings=AnacondaAuthSettings())


def test_settings_and_store_are_used(platform: FakePlatform) -> None:
    from anaconda_auth_async import TokenInfo

    store = MemoryTokenStore()
    store.save(TokenInfo(domain="id.example.test", api_key="stored-key"))
    settings = AnacondaAuthSettings(auth_domain="id.example.test", api_domain="api.example.test")
    with BaseClient(settings=settings, store=store, transport=platform.transport) as client:
        client.get("/api/x")
    sent = platform.requests[-1]
    assert sent.url == "https://api.example.test/api/x"
    assert sent.headers["authorization"] == "Bearer stored-key"


# --- Min-Api-Version ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023.01.01", "2023.1.1"),
        ("2024.10.05", "2024.10.5"),
        ("1", "1.0.0"),
        ("1.2", "1.2.0"),
        ("0.0.1", "0.0.1"),
        ("1.02.3-rc.1", "1.2.3-rc.1"),
        (" 3.0.0 ", "3.0.0"),
    ],
)
def testparse_version_tolerates_dates_and_short_forms(text: str, expected: str) -> None:
    assert str(parse_version(text)) == expected


@pytest.mark.parametrize("text", ["", "latest", "1.2.3.4", "v1", "1..2", "\u0661.\u0662", "1.2.3-"])
def test_unparsable_versions_are_none(text: str) -> None:
    assert parse_version(text) is None


def versioned(platform: FakePlatform, minimums: list[str | None]) -> httpx.MockTransport:
    """The platform's transport, ``/api/x`` answering with these Min-Api-Version headers."""
    platform.script(
        "/api/x",
        *(
            httpx.Response(200, headers={} if m is None else {"Min-Api-Version": m})
            for m in minimums
        ),
    )
    return platform.transport


def test_min_api_version_warns_exactly_once(platform: FakePlatform) -> None:
    transport = versioned(platform, ["2024.01.01", "2024.02.01", "2024.01.01"])
    with (
        BaseClient(api_key="k", api_version="2023.01.01", transport=transport) as client,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        for _ in range(3):
            client.get("/api/x")
    deprecations = [w for w in caught if issubclass(w.category, FutureWarning)]
    assert len(deprecations) == 1
    assert deprecations[0].filename == __file__  # the caller's line, not httpx's hook
    message = str(deprecations[0].message)
    assert "2023.01.01" in message
    assert "2024.01.01" in message


@pytest.mark.anyio
async def test_async_min_api_version_warns_exactly_once_per_client(platform: FakePlatform) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # a second client warns again
            transport = versioned(platform, ["2.0", "2.0", "3.0"])
            async with AsyncAuthClient(api_key="k", api_version="1.0", transport=transport) as c:
                for _ in range(3):
                    await c.get("/api/x")
    assert sum(issubclass(w.category, FutureWarning) for w in caught) == 2
    assert {w.filename for w in caught} == {__file__}


@pytest.mark.parametrize(
    "minimums",
    [
        ["2023.01.01"],  # equal
        ["2022.12.31"],  # older
        ["not-a-version", "also bad"],  # unparsable: ignored
        [None, None],  # no header
    ],
)
def test_no_warning_when_client_is_new_enough(
    minimums: list[str | None], platform: FakePlatform
) -> None:
    transport = versioned(platform, minimums)
    with (
        BaseClient(api_key="k", api_version="2023.01.01", transport=transport) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")
        for _ in minimums:
            client.get("/api/x")


def test_unparsable_header_then_newer_one_still_warns(platform: FakePlatform) -> None:
    transport = versioned(platform, ["garbage", "2.0.0"])
    with BaseClient(api_key="k", api_version="1.0.0", transport=transport) as client:
        client.get("/api/x")
        with pytest.warns(FutureWarning, match="2.0.0"):
            client.get("/api/x")


def test_no_version_check_without_a_client_version() -> None:
    assert MinApiVersion.for_client(None) is None
    assert MinApiVersion.for_client("not a version") is None
    with BaseClient(api_key="k") as client:
        assert client.event_hooks["response"] == []


def test_user_event_hooks_are_kept(platform: FakePlatform) -> None:
    seen: list[int] = []
    hooks = {"response": [lambda r: seen.append(r.status_code)]}
    transport = versioned(platform, ["9.0"])
    with (
        BaseClient(api_key="k", api_version="1.0", event_hooks=hooks, transport=transport) as c,
        pytest.warns(FutureWarning, match="at least 9.0"),
    ):
        c.get("/api/x")
    assert seen == [200]


# --- account helpers ------------------------------------------------------------------


GRAVATAR = hashlib.md5(b"jane@example.com").hexdigest()


def account_server(platform: FakePlatform, account: Any = ACCOUNT, avatar_status: int = 200) -> str:
    """Make the platform answer `account` and the avatar; return a key it accepts."""
    platform.route("GET", "/api/account", json=account)
    platform.script(f"/avatar/{GRAVATAR}.png", httpx.Response(avatar_status, content=b"\x89PNG..."))
    return platform.api_key()


@pytest.mark.anyio
async def test_async_account_helpers_are_coroutines_and_cached(platform: FakePlatform) -> None:
    key = account_server(platform)
    async with AsyncAuthClient(
        api_key=key, transport=platform.transport, extra_headers={"X-Secret": "s"}
    ) as client:
        assert await client.account() == ACCOUNT
        assert await client.email() == "Jane@Example.com"
        assert await client.name() == "Jane Doe"
        assert await client.avatar() == b"\x89PNG..."
        assert await client.avatar() == b"\x89PNG..."
    assert [r.url.host for r in platform.requests] == ["anaconda.cloud", "gravatar.com"]
    gravatar = platform.requests[1]
    assert gravatar.url.path == f"/avatar/{GRAVATAR}.png"
    assert "Authorization" not in gravatar.headers  # the key never goes to a third party
    assert "X-Secret" not in gravatar.headers


def test_sync_account_helpers_are_properties(platform: FakePlatform) -> None:
    key = account_server(platform, avatar_status=404)
    with BaseClient(api_key=key, transport=platform.transport) as client:
        assert client.account == ACCOUNT
        assert client.email == "Jane@Example.com"
        assert client.name == "Jane Doe"
        assert client.avatar is None
        assert client.avatar is None
    assert [r.url.host for r in platform.requests] == ["anaconda.cloud", "gravatar.com"]
    assert "Authorization" not in platform.requests[1].headers


def test_name_falls_back_to_email(platform: FakePlatform) -> None:
    account = {"user": {"email": "a@b.test", "first_name": "", "last_name": None}}
    key = account_server(platform, account)
    with BaseClient(api_key=key, transport=platform.transport) as client:
        assert client.name == "a@b.test"


@pytest.mark.anyio
async def test_missing_email_is_explained(platform: FakePlatform) -> None:
    key = account_server(platform, {"user": {}})
    async with AsyncAuthClient(api_key=key, transport=platform.transport) as c:
        with pytest.raises(ValueError, match="no email address"):
            await c.name()


@pytest.mark.anyio
async def test_account_that_is_not_json_is_explained(platform: FakePlatform) -> None:
    platform.script("account", httpx.Response(200, text="<html>"))
    async with AsyncAuthClient(api_key="k", transport=platform.transport) as client:
        with pytest.raises(ValueError, match="base_url"):
            await client.account()


@pytest.mark.anyio
async def test_account_error_status_raises(platform: FakePlatform) -> None:
    platform.script("account", httpx.Response(500))
    async with AsyncAuthClient(api_key="k", transport=platform.transport) as client:
        with pytest.raises(httpx.HTTPStatusError):
            await client.account()


# --- client_factory -------------------------------------------------------------------


def test_client_factory_returns_configured_base_client_subclass() -> None:
    client = client_factory("anaconda-cloud-bar/0.1", "2024.05.01")
    with client:
        assert isinstance(client, BaseClient)
        assert type(client) is not BaseClient
        assert client.headers["User-Agent"] == "anaconda-cloud-bar/0.1"
        assert client.api_version == "2024.05.01"
    assert type(client_factory("anaconda-cloud-bar/0.1", "2024.05.01")) is type(client)
    with type(client)(api_key="k") as another:
        assert another.headers["User-Agent"] == "anaconda-cloud-bar/0.1"


def test_client_factory_without_arguments_uses_defaults() -> None:
    with client_factory(None) as client:
        assert client.headers["User-Agent"] == f"anaconda-auth-async/{VERSION}"
        assert client.api_version is None


def test_sync_module_reexports() -> None:
    from anaconda_auth_async import sync

    assert sync.BaseClient is BaseClient
    assert sync.client_factory is client_factory
    assert anaconda_auth_async.AsyncAuthClient is AsyncAuthClient
    assert json.loads(json.dumps(anaconda_auth_async.__all__))


# --- arguments are applied to given settings exactly as to the environment's ------------


@pytest.mark.parametrize("client_class", [BaseClient, AsyncAuthClient])
def test_domain_argument_is_validated_with_or_without_settings(client_class: type[Any]) -> None:
    """Regression: with ``settings=`` a URL given as ``domain`` built https://https//..."""
    settings = AnacondaAuthSettings()
    for given in ({}, {"settings": settings}):
        with pytest.raises(ConfigurationError, match="api_domain"):
            client_class(api_key="k", domain="https://api.example.test/", **given)
    client = client_class(api_key="k", domain="api.example.test", settings=settings)
    assert str(client.base_url) == "https://api.example.test"
    assert client.settings.api_domain == "api.example.test"


def test_ssl_verify_and_extra_headers_arguments_go_through_the_settings_validators() -> None:
    settings = AnacondaAuthSettings()
    with pytest.raises(ConfigurationError, match="ssl_verify"):
        BaseClient(api_key="k", settings=settings, ssl_verify="/no/such/bundle.pem")
    with pytest.raises(ConfigurationError, match="extra_headers"):
        BaseClient(api_key="k", settings=settings, extra_headers='{"X": 1}')
    with BaseClient(
        api_key="k", settings=settings, ssl_verify="no", extra_headers='{"X-A": "1"}'
    ) as client:
        assert client.settings.ssl_verify is False
        assert client.settings.extra_headers == {"X-A": "1"}
        assert "X-A" not in client.headers  # added per request, for the API's origins only


def test_importing_the_clients_runs_no_garbage_collection() -> None:
    # A library must not run a process-wide collection (it cost the import ~15 ms and
    # tuned a benchmark); checked in a fresh interpreter, where the import really runs.
    from processes import python

    script = (
        "import gc\n"
        "calls = []\n"
        "real = gc.collect\n"
        "gc.collect = lambda *args: calls.append(args) or real(*args)\n"
        "from anaconda_auth_async import AsyncAuthClient, sync\n"
        "sync.BaseClient\n"
        "assert calls == [], calls\n"
    )
    python(script)
