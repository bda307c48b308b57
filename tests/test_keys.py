"""The life of a key: minting one for a machine (``api-key --new``, `create_api_key`),
seeing its expiry coming (``status --min-days``, the client warning, ``--renew-within``),
storing a key you already have (``login --with-token``, `store_api_key`), and the
clean-up at ``logout``.

The network part of a login (`login._obtain_key`) is replaced by a fake; the e2e suite
runs the real one (tests/e2e/test_e2e_keys.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cli_runner import run

from anaconda_auth_async import (
    AnacondaAuthSettings,
    APIKey,
    APIKeyExchangeError,
    AsyncAuthClient,
    CorruptTokenFileError,
    InvalidAPIKeyError,
    LoginDeniedError,
    LoginEvent,
    RepoToken,
    StorageError,
    TokenInfo,
    __version__,
    create_api_key,
    login,
    store_api_key,
    sync,
)
from anaconda_auth_async.api_client import key_loading as tokens_module
from anaconda_auth_async.logins import login as login_module
from anaconda_auth_async.logins.key_exchange import DEFAULT_SCOPES, api_key_request, mint_api_key
from anaconda_auth_async.sync import BaseClient
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key, use_store
from anaconda_auth_async.testkit.seal import with_environment

DOMAIN = "id.anaconda.cloud"
EXPIRES = 1_900_000_000.0


class FakeObtain:
    """Stands in for `login._obtain_key`: reports a browser event, then returns or raises."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, settings: AnacondaAuthSettings, **kwargs: Any) -> APIKey:
        self.calls.append({"settings": settings, **kwargs})
        kwargs["on_event"](LoginEvent(kind="browser", url="https://id.example/authorize"))
        if self.error is not None:
            raise self.error
        _, body = api_key_request(settings, scopes=kwargs["scopes"], tags=kwargs["tags"])
        return APIKey(
            api_key=make_api_key(sub="machine"),
            id="key-1",
            expires_at=EXPIRES,
            scopes=tuple(body["scopes"]),
            tags=tuple(body["tags"]),
            username="bob@example.com",
        )


@pytest.fixture
def obtain(monkeypatch: pytest.MonkeyPatch) -> FakeObtain:
    fake = FakeObtain()
    monkeypatch.setattr(login_module, "_obtain_key", fake)
    return fake


# --- the request and its answer ----------------------------------------------------------


def test_request_body_defaults_to_the_login_scopes_and_our_tag() -> None:
    url, body = api_key_request(AnacondaAuthSettings())
    assert url == "https://anaconda.cloud/api/iam/api-keys"
    assert body == {
        "scopes": ["cloud:read", "cloud:write", "repo:read"],
        "tags": [f"anaconda-auth-async/v{__version__}"],
    }


def test_request_body_scopes_and_tags_repeatable_and_comma_separated() -> None:
    _, body = api_key_request(
        AnacondaAuthSettings(), scopes=["cloud:read", "repo:read, cloud:read"], tags=["ci,x"]
    )
    assert body["scopes"] == ["cloud:read", "repo:read"]
    assert body["tags"] == [f"anaconda-auth-async/v{__version__}", "ci", "x"]


def test_request_rejects_a_scope_with_spaces() -> None:
    with pytest.raises(ValueError, match="not a valid scope"):
        api_key_request(AnacondaAuthSettings(), scopes=["cloud read"])


@pytest.mark.anyio
async def test_mint_returns_the_metadata_of_the_answer() -> None:
    key = make_api_key()
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        answer = {"api_key": key, "id": "k9", "expires_at": "2030-03-17T17:46:40.000Z"}
        return httpx.Response(201, json=answer)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        new = await mint_api_key(
            http, AnacondaAuthSettings(), "access", scopes=["repo:read"], tags=["ci"]
        )
    assert seen[0]["scopes"] == ["repo:read"]
    assert new.api_key == key
    assert new.id == "k9"
    assert new.expires_at == 1_900_000_000.0
    assert new.scopes == ("repo:read",)
    assert new.tags == (f"anaconda-auth-async/v{__version__}", "ci")
    assert key not in repr(new)
    assert new.to_dict()["expires_at"] == "2030-03-17T17:46:40+00:00"


@pytest.mark.anyio
async def test_mint_without_expires_at_uses_the_keys_own_expiry() -> None:
    key = make_api_key(exp=EXPIRES)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"api_key": key})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        new = await mint_api_key(http, AnacondaAuthSettings(), "access")
    assert new.expires_at == EXPIRES
    assert new.id is None


# --- the Python API ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_api_key_logs_in_afresh_and_stores_nothing(
    store: MemoryTokenStore, obtain: FakeObtain
) -> None:
    mine = TokenInfo(domain=DOMAIN, api_key=make_api_key(), username="me")
    store.save(mine)
    store.calls.clear()
    new = await create_api_key(scopes=["cloud:read"], tags=["ci"], flow="device")
    assert new.scopes == ("cloud:read",)
    assert new.api_key != mine.api_key
    assert store.calls == []  # not even read: the login always runs
    assert store.load(DOMAIN) == mine
    assert obtain.calls[0]["settings"].login_flow == "device"


def test_sync_create_api_key(store: MemoryTokenStore, obtain: FakeObtain) -> None:
    new = sync.create_api_key()
    assert new.scopes == ("cloud:read", "cloud:write", "repo:read")
    assert store.domains == []


# --- the command line ----------------------------------------------------------------------


def test_cli_new_prints_only_the_key_on_stdout(store: MemoryTokenStore, obtain: FakeObtain) -> None:
    result = run("api-key", "--new", "--scope", "cloud:read", "-s", "repo:read", "--tag", "ci")
    assert result.exit_code == 0, result.stderr
    key = result.stdout.strip()
    assert result.stdout == f"{key}\n"
    assert key not in result.stderr
    assert "Created API key key-1 for bob@example.com (expires 2030-03-17" in result.stderr
    assert "scopes: cloud:read, repo:read" in result.stderr
    assert "It was not stored" in result.stderr
    assert "https://id.example/authorize" in result.stderr
    assert obtain.calls[0]["scopes"] == ("cloud:read", "repo:read")
    assert obtain.calls[0]["tags"] == ("ci",)
    assert store.domains == []


def test_cli_new_json(store: MemoryTokenStore, obtain: FakeObtain) -> None:
    result = run("api-key", "--new", "--json", "--device")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == "key-1"
    assert data["scopes"] == ["cloud:read", "cloud:write", "repo:read"]
    assert data["expires_at"] == "2030-03-17T17:46:40+00:00"
    assert data["api_key"].count(".") == 2
    assert obtain.calls[0]["settings"].login_flow == "device"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (LoginDeniedError("The login was denied (access_denied).", error="access_denied"), 4),
        (APIKeyExchangeError("Could not get an API key: HTTP 403."), 4),
    ],
)
def test_cli_new_failure_prints_nothing_on_stdout(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch, error: Exception, code: int
) -> None:
    monkeypatch.setattr(login_module, "_obtain_key", FakeObtain(error))
    result = run("api-key", "--new", "--json")
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")


@pytest.mark.parametrize(
    "args",
    [["--scope", "x"], ["--json"], ["--tag", "t"], ["--device"], ["--timeout", "5"]],
)
def test_cli_new_only_options_need_new(store: MemoryTokenStore, args: list[str]) -> None:
    result = run("api-key", *args)
    assert result.exit_code == 2
    assert "only valid with --new" in result.stderr


@pytest.mark.parametrize(
    ("scope", "message"), [("cloud read", "no spaces allowed"), ("", "The scopes given are empty")]
)
def test_cli_new_bad_scope_is_a_usage_error(
    store: MemoryTokenStore, obtain: FakeObtain, scope: str, message: str
) -> None:
    result = run("api-key", "--new", "--scope", scope)
    assert result.exit_code == 2
    assert message in result.stderr
    assert obtain.calls == []


def test_create_api_key_refuses_bad_scopes_before_the_login(obtain: FakeObtain) -> None:
    with pytest.raises(ValueError, match="The scopes given are empty"):
        sync.create_api_key(scopes=[""])
    assert obtain.calls == []


def test_request_refuses_scopes_given_but_empty() -> None:
    settings = AnacondaAuthSettings()
    with pytest.raises(ValueError, match="give none for the defaults"):
        api_key_request(settings, scopes=[" ", ","])
    assert api_key_request(settings, scopes=None)[1]["scopes"] == list(DEFAULT_SCOPES)


# --- seeing expiry coming ----------------------------------------------------------------

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def store_key(store: MemoryTokenStore, expires_in: dt.timedelta) -> str:
    key = make_api_key(exp=expires_in)
    store.save(TokenInfo(domain=DOMAIN, api_key=key, username="alice"))
    return key


@pytest.mark.parametrize(
    ("expires_in", "code"),
    [(30 * DAY + HOUR, 0), (30 * DAY - HOUR, 7), (DAY, 7)],
    ids=["just-outside", "just-inside", "tomorrow"],
)
def test_status_min_days_both_sides_of_the_boundary(
    store: MemoryTokenStore, expires_in: dt.timedelta, code: int
) -> None:
    store_key(store, expires_in)
    result = run("status", "--min-days", "30")
    assert result.exit_code == code, result.stderr
    assert "Logged in:" in result.stdout  # the report is printed either way
    if code == 7:
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: The API key for id.anaconda.cloud from memory token store")
        assert "within 30 days" in line
        assert "anaconda-auth login --renew-within 30d" in line
    else:
        assert result.stderr == ""


def test_status_min_days_json_and_environment_key(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key(exp=5 * DAY))
    result = run("status", "--json", "--min-days", "7")
    assert result.exit_code == 7
    assert json.loads(result.stdout)["days_left"] == 4
    assert "environment variable ANACONDA_AUTH_API_KEY" in result.stderr
    assert "api-key --new" in result.stderr
    assert run("status", "--min-days", "3").exit_code == 0


def test_status_min_days_without_a_known_expiry_passes(store: MemoryTokenStore) -> None:
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=None)))
    assert run("status", "--min-days", "3650").exit_code == 0


def test_status_min_days_expired_or_missing_is_still_3(store: MemoryTokenStore) -> None:
    assert run("status", "--min-days", "5").exit_code == 3
    store_key(store, -HOUR)
    assert run("status", "--min-days", "5").exit_code == 3


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens_module, "_warned", False)


def expiry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "anaconda_auth_async.api_client.key_loading" and r.levelno == logging.WARNING
    ]


@pytest.mark.anyio
async def test_clients_warn_once_per_process_when_the_key_expires_within_14_days(
    store: MemoryTokenStore, fresh_warning: None, caplog: pytest.LogCaptureFixture
) -> None:
    key = store_key(store, 10 * DAY)
    caplog.set_level(logging.WARNING)
    api = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    for _ in range(3):
        async with AsyncAuthClient(transport=api) as client:
            await client.get("/api/account")
    with BaseClient(transport=api) as sync_client:
        sync_client.get("/api/account")
    (warning,) = expiry_warnings(caplog)
    assert warning.startswith("The API key for id.anaconda.cloud expires on ")
    assert "(in 9 days)" in warning
    assert "anaconda-auth login --renew-within" in warning
    assert key not in caplog.text


def test_no_warning_for_a_key_with_more_than_14_days(
    store: MemoryTokenStore, fresh_warning: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    store_key(store, 15 * DAY)
    api = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    with BaseClient(transport=api) as client:
        client.get("/api/account")
    assert expiry_warnings(caplog) == []
    with BaseClient(transport=api, api_key=make_api_key(exp=2 * DAY)) as client:
        client.get("/api/account")
    (warning,) = expiry_warnings(caplog)
    assert "replace it with a new one" in warning


@pytest.mark.anyio
async def test_login_renew_within_is_a_no_op_for_a_key_that_lasts(
    store: MemoryTokenStore, obtain: FakeObtain
) -> None:
    key = store_key(store, 40 * DAY)
    token = await login(renew_within=dt.timedelta(days=30))
    assert token.api_key == key
    assert obtain.calls == []
    assert await login(renew_within=None) == token


@pytest.mark.anyio
async def test_login_renew_within_renews_a_key_that_expires_inside_the_window(
    store: MemoryTokenStore, obtain: FakeObtain
) -> None:
    old = store_key(store, 20 * DAY)
    token = await login(renew_within=30 * 86400.0)
    assert len(obtain.calls) == 1
    assert token.api_key != old
    assert store.load(DOMAIN) == token


def test_cli_login_renew_within_no_op_and_renewal(
    store: MemoryTokenStore, obtain: FakeObtain
) -> None:
    key = store_key(store, 40 * DAY)
    quiet = run("login", "--renew-within", "30d")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout.startswith("You are already logged in to id.anaconda.cloud as alice, until")
    assert obtain.calls == []
    assert store.load(DOMAIN).api_key == key  # type: ignore[union-attr]

    renewed = run("login", "--renew-within", "6w")
    assert renewed.exit_code == 0, renewed.stderr
    assert "logging in again to renew it" in renewed.stderr
    assert len(obtain.calls) == 1
    assert store.load(DOMAIN).api_key != key  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["soon", "30x", "-3d", ""])
def test_cli_renew_within_bad_duration(store: MemoryTokenStore, value: str) -> None:
    result = run("login", "--renew-within", value)
    assert result.exit_code == 2
    assert "not a duration" in result.stderr


def test_cli_renew_within_and_force_contradict(store: MemoryTokenStore) -> None:
    assert run("login", "--renew-within", "3d", "--force").exit_code == 2


# --- storing a key you already have: login --with-token, store_api_key --------------------

ACCOUNT = {"user": {"email": "ada@example.com", "first_name": "Ada"}}


@pytest.fixture
def account_api() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock.get("https://anaconda.cloud/api/account").respond(200, json=ACCOUNT)


def test_with_token_checks_the_key_with_the_api_and_stores_it(
    store: MemoryTokenStore, account_api: respx.Route
) -> None:
    repo = RepoToken(token="repo-secret", org_name="acme")
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(sub="old"), repo_tokens=(repo,)))
    key = make_api_key(exp=40 * DAY)
    result = run("login", "--with-token", input=f"  {key}\n\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "Logged in to id.anaconda.cloud as ada@example.com with the given API key (the key "
        "expires on "
    )
    assert key not in result.stdout + result.stderr
    assert account_api.calls.last.request.headers["Authorization"] == f"Bearer {key}"
    stored = store.load(DOMAIN)
    assert stored is not None
    assert stored.api_key == key
    assert stored.username == "ada@example.com"
    assert stored.repo_tokens == (repo,)  # kept, as a login keeps them
    assert stored.api_domain == "anaconda.cloud"


def test_with_token_rejected_by_the_api_stores_nothing(
    store: MemoryTokenStore, account_api: respx.Route
) -> None:
    account_api.respond(401, json={"error": {"code": "auth_required", "message": "revoked"}})
    result = run("login", "--with-token", input=make_api_key())
    assert result.exit_code == 3  # a refused key, as whoami's: not a failed login
    assert result.stdout == ""
    assert "anaconda.cloud rejected the API key" in result.stderr
    assert store.domains == []


def refused_with_token(text: str, store: MemoryTokenStore, account_api: respx.Route) -> str:
    """`login --with-token` refuses `text` in one line (returned), sending and storing nothing."""
    result = run("login", "--with-token", input=text)
    assert result.exit_code == 4
    (line,) = result.stderr.strip().splitlines()
    assert not account_api.called
    assert store.domains == []
    return line


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not-a-key", "is a JWT"),
        ("a.b.c", "not base64url-encoded JSON objects"),
        ("two words", "not a single word"),
    ],
    ids=["no-jwt", "not-json", "spaces"],
)
def test_with_token_refuses_a_malformed_key_before_any_request(
    store: MemoryTokenStore, account_api: respx.Route, text: str, reason: str
) -> None:
    line = refused_with_token(text, store, account_api)
    assert line.startswith("Error: The text given is not a valid API key for anaconda.cloud")
    assert reason in line
    assert text not in line or (text == "not-a-key" and "not-a-key" not in line)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            make_api_key(exp=dt.timedelta(days=-2)),
            "The API key given for anaconda.cloud expired on {day}; make a new one with "
            "'anaconda-auth api-key --new'.",
        ),
        (
            make_api_key(claims={"iss": "https://api.elsewhere.example"}),
            "The API key given for anaconda.cloud was issued by api.elsewhere.example, not by "
            "anaconda.cloud or id.anaconda.cloud; check --auth-domain.",
        ),
    ],
    ids=["expired", "other-issuer"],
)
def test_with_token_refuses_an_unusable_key_in_one_sentence(
    store: MemoryTokenStore, account_api: respx.Route, key: str, message: str
) -> None:
    """A real key that cannot be stored: no advice to give "the key itself", which it is."""
    line = refused_with_token(key, store, account_api)
    day = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).date().isoformat()
    assert line == "Error: " + message.format(day=day)


def test_with_token_accepts_a_key_issued_by_this_api(
    store: MemoryTokenStore, account_api: respx.Route
) -> None:
    key = make_api_key(claims={"iss": "https://anaconda.cloud"})
    assert run("login", "--with-token", input=key).exit_code == 0
    assert store.load(DOMAIN).api_key == key  # type: ignore[union-attr]


def test_with_token_offline_stores_the_key_unchecked(
    store: MemoryTokenStore, account_api: respx.Route
) -> None:
    account_api.side_effect = httpx.ConnectError("[Errno 101] Network is unreachable")
    key = make_api_key()
    result = run("login", "--with-token", input=key)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.lower().count("reach") == 1, result.stderr  # said once
    warning = "Warning: Could not reach anaconda.cloud to check the API key (ConnectError"
    assert warning in result.stderr
    assert "); storing it unchecked.\n" in result.stderr
    assert result.stdout.startswith("Logged in to id.anaconda.cloud with the given API key")
    assert store.load(DOMAIN).api_key == key  # type: ignore[union-attr]


def test_with_token_offline_logs_no_user_name_it_does_not_know(
    store: MemoryTokenStore, account_api: respx.Route
) -> None:
    account_api.side_effect = httpx.ConnectError("[Errno 101] Network is unreachable")
    result = run("-v", "login", "--with-token", input=make_api_key())
    assert result.exit_code == 0, result.stderr
    assert (
        "INFO anaconda_auth_async.logins.login: Logged in to id.anaconda.cloud; API key stored"
        in (result.stderr)
    )
    assert " as None" not in result.stderr


def test_with_token_empty_stdin_and_clashing_options(store: MemoryTokenStore) -> None:
    empty = run("login", "--with-token", input="  \n")
    assert empty.exit_code == 2
    assert "was empty" in empty.stderr
    clash = run("login", "--with-token", "--device", input=make_api_key())
    assert clash.exit_code == 2
    assert "drop --device" in clash.stderr
    assert store.domains == []


@pytest.mark.anyio
async def test_store_api_key_python(store: MemoryTokenStore, account_api: respx.Route) -> None:
    key = make_api_key()
    token = await store_api_key(key, check_online=False)
    assert not account_api.called
    assert token.api_key == key
    assert token.username is None
    with pytest.raises(InvalidAPIKeyError, match="expired"):
        await store_api_key(make_api_key(exp=-HOUR))
    assert store.load(DOMAIN) == token


def test_store_api_key_sync(store: MemoryTokenStore, account_api: respx.Route) -> None:
    key = make_api_key(sub="sync")
    token = sync.store_api_key(f"{key}\n")
    assert token.username == "ada@example.com"
    assert store.load(DOMAIN).api_key == key  # type: ignore[union-attr]


# --- clean up: logout removes leftovers that may hold keys -----------------------------------


def leftovers_beside(keyring: Path) -> list[Path]:
    keyring.parent.mkdir(parents=True, exist_ok=True)
    made = [
        keyring.with_name("keyring.corrupt-20260101T000000Z"),
        keyring.with_name("keyring.corrupt-20260101T000000Z-1"),
        keyring.with_name(".keyring.k3y8a9.tmp"),
    ]
    for path in made:
        path.write_text('{"Anaconda Cloud": {"id.anaconda.cloud": "old-secret"}}')
    return sorted(made)


def test_logout_removes_set_aside_copies_and_temp_files_and_says_so(isolated_env: Path) -> None:
    from anaconda_auth_async import KeyringTokenStore

    keyring = isolated_env / ".anaconda" / "keyring"
    made = leftovers_beside(keyring)
    keep = [
        keyring.with_name("keyring.lock"),
        keyring.with_name("config.toml"),
        keyring.with_name("keyring.corrupted-notes.txt"),
        keyring.with_name(".other.abc.tmp"),
    ]
    for path in keep:
        path.write_text("# keep me\n")  # valid TOML: config.toml is read
    KeyringTokenStore(AnacondaAuthSettings()).save(TokenInfo(domain=DOMAIN, api_key=make_api_key()))
    result = run("logout")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Logged out of id.anaconda.cloud: the stored API key was removed."
    # the save's write already removed the temp file (stale under the lock)
    assert lines[1] == "Also removed 2 leftover file(s) that may hold API keys:"
    assert lines[2:] == [f"  {path}" for path in made if path.name.startswith("keyring.")]
    assert not any(path.exists() for path in made)
    assert all(path.exists() for path in keep)
    assert "old-secret" not in result.stdout


def test_logout_with_a_store_of_its_own_leaves_the_keyring_file_alone(
    store: MemoryTokenStore, isolated_env: Path
) -> None:
    # use_store means what it says: the memory store has no leftovers; the file's stay.
    keyring = isolated_env / ".anaconda" / "keyring"
    made = leftovers_beside(keyring)
    store_key(store, 40 * DAY)
    result = run("logout")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Logged out of id.anaconda.cloud: the stored API key was removed."
    ]
    assert all(path.exists() for path in made)


def test_logout_with_nothing_to_clean_says_nothing_more(store: MemoryTokenStore) -> None:
    result = run("logout")
    assert result.exit_code == 0
    assert (
        result.stdout
        == "You were not logged in to id.anaconda.cloud; there was no stored API key.\n"
    )


def test_logout_after_a_repair_removes_the_damaged_copy(isolated_env: Path) -> None:
    keyring_path = isolated_env / ".anaconda" / "keyring"
    keyring_path.parent.mkdir(parents=True)
    keyring_path.write_text("{not json")
    settings = AnacondaAuthSettings()
    from anaconda_auth_async import KeyringTokenStore

    kstore = KeyringTokenStore(settings)
    kstore.save(TokenInfo(domain=DOMAIN, api_key=make_api_key()))  # sets the damaged copy aside
    (copy,) = keyring_path.parent.glob("keyring.corrupt-*")
    assert sync.logout(settings=settings, store=kstore) is True
    assert not copy.exists()
    assert kstore.load(DOMAIN) is None


def test_leftovers_are_removed_under_the_write_lock(isolated_env: Path) -> None:
    from filelock import FileLock

    from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring

    keyring_path = isolated_env / ".anaconda" / "keyring"
    made = leftovers_beside(keyring_path)
    keyring = AnacondaKeyring(path=keyring_path, lock_timeout=0.2)
    assert keyring.leftovers() == made
    with FileLock(str(keyring_path) + ".lock"), pytest.raises(StorageError, match="held the lock"):
        keyring.remove_leftovers()  # another writer holds the lock: nothing is touched
    assert all(path.exists() for path in made)
    assert keyring.remove_leftovers() == made
    assert keyring.leftovers() == []


# --- logout --all -----------------------------------------------------------------------------


def file_keyring(isolated_env: Path) -> Any:
    from anaconda_auth_async.storage.keyring_backend import AnacondaKeyring

    return AnacondaKeyring(path=isolated_env / ".anaconda" / "keyring")


def test_logout_all_removes_every_key_in_the_file_keyring(isolated_env: Path) -> None:
    from anaconda_auth_async import KeyringTokenStore

    kstore = KeyringTokenStore(AnacondaAuthSettings())
    for name in ("anaconda.com", "id.anaconda.cloud", "id.example.org", "api.example.org"):
        kstore.save(TokenInfo(domain=name, api_key=make_api_key(sub=name)))
    leftovers = leftovers_beside(isolated_env / ".anaconda" / "keyring")
    result = run("logout", "--all")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "Logged out of every site: removed the API keys of id.anaconda.cloud, anaconda.com, "
        "api.example.org, id.example.org."
    )
    # the first write of the logout already removed the temp file (stale under the lock)
    assert "Also removed 2 leftover file(s)" in result.stdout
    assert file_keyring(isolated_env).read() == {"Anaconda Cloud": {}}
    assert not any(path.exists() for path in leftovers)


def test_logout_all_clears_the_store_in_use_and_only_it(
    store: MemoryTokenStore, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anaconda_auth_async import KeyringTokenStore

    for name in ("anaconda.com", "anaconda.cloud", "id.example.org", "unknown.example"):
        store.save(TokenInfo(domain=name, api_key=make_api_key(sub=name)))
    developers = isolated_env / ".anaconda" / "keyring"  # the file outside the kit
    KeyringTokenStore(AnacondaAuthSettings(keyring_path=developers)).save(
        TokenInfo(domain="id.example.org", api_key=make_api_key())
    )
    before = (isolated_env / ".anaconda" / "keyring").read_bytes()
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key(sub="env"))
    result = run("logout", "--all")
    assert result.exit_code == 0, result.stderr
    assert "anaconda.com, anaconda.cloud, id.example.org, unknown.example" in result.stdout
    assert store.domains == []  # every name it lists, known or not
    assert (isolated_env / ".anaconda" / "keyring").read_bytes() == before  # not the store
    assert "ANACONDA_AUTH_API_KEY is still set" in result.stderr  # not touched


def test_logout_all_with_nothing_stored_and_a_damaged_file(isolated_env: Path) -> None:
    keyring_path = isolated_env / ".anaconda" / "keyring"
    keyring_path.parent.mkdir(parents=True)
    keyring_path.write_text("{damaged")
    result = run("logout", "--all")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Removed the token file {keyring_path}, which could not be parsed, with any keys it held."
    ]
    assert not keyring_path.exists()
    assert list(keyring_path.parent.glob("keyring.corrupt-*")) == []
    assert "restore" not in result.stderr  # no advice to restore from a copy it deleted


def test_logout_over_a_damaged_file_changes_nothing_and_says_what_to_do(
    isolated_env: Path,
) -> None:
    keyring_path = isolated_env / ".anaconda" / "keyring"
    keyring_path.parent.mkdir(parents=True)
    keyring_path.write_bytes(b"{damaged, maybe holding other sites' keys")
    older = keyring_path.with_name("keyring.corrupt-20260101T000000Z")
    older.write_bytes(b"{an older copy")
    result = run("logout")
    assert result.exit_code == 1
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("Error: Could not log out of id.anaconda.cloud: the token file ")
    assert "nothing was changed" in message
    assert "anaconda-auth logout --all" in message
    assert len(message.splitlines()) == 1
    assert keyring_path.read_bytes() == b"{damaged, maybe holding other sites' keys"
    assert older.exists()  # refused before any clean-up
    with pytest.raises(CorruptTokenFileError, match="nothing was changed"):
        sync.logout()


def test_logout_where_nothing_can_be_written_and_nothing_is_stored(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = isolated_env / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ANACONDA_AUTH_KEYRING_PATH", str(blocker / "keyring"))
    result = run("logout")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("You were not logged in to id.anaconda.cloud")


def test_logout_all_and_domain_contradict(store: MemoryTokenStore) -> None:
    result = run("logout", "--all", "--auth-domain", "id.example.org")
    assert result.exit_code == 2
    assert "drop --auth-domain" in result.stderr


class UnlistedStore(MemoryTokenStore):
    """A store that cannot list its names, as a system keyring."""

    def list_names(self) -> list[str]:
        return []


def test_logout_all_reaches_the_sites_of_config_toml(isolated_env: Path) -> None:
    # A store that cannot be listed: only the names it is told are removed.
    config = isolated_env / ".anaconda" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[sites.staging]\ndomain = "staging.example.com"\n\n'
        '[sites.corp]\napi_domain = "api.corp.example"\nauth_domain = "id.corp.example"\n'
    )
    store = UnlistedStore()
    for name in ("staging.example.com", "id.corp.example", "api.corp.example", "unknown.example"):
        store.save(TokenInfo(domain=name, api_key=make_api_key(sub=name)))
    with use_store(store), with_environment({"ANACONDA_CONFIG_TOML": str(config)}):
        result = run("logout", "--all")  # the kit seals the config: this test names its own
    assert result.exit_code == 0, result.stderr
    for name in ("staging.example.com", "id.corp.example", "api.corp.example"):
        assert name in result.stdout.splitlines()[0]
    assert store.domains == ["unknown.example"]  # in no config, not listed: cannot be found


@pytest.mark.anyio
async def test_python_logout_all_sites(store: MemoryTokenStore, isolated_env: Path) -> None:
    from anaconda_auth_async import KeyringTokenStore, logout

    # Only the store in use loses its keys; the keyring file is another store.
    for name in ("anaconda.com", "id.anaconda.cloud"):
        store.save(TokenInfo(domain=name, api_key=make_api_key(sub=name)))
    developers = AnacondaAuthSettings(keyring_path=isolated_env / ".anaconda" / "keyring")
    file_store = KeyringTokenStore(developers)
    file_store.save(TokenInfo(domain="api.example.org", api_key=make_api_key()))
    assert await logout(all_sites=True) is True
    assert store.domains == []
    assert file_store.list_names() == ["api.example.org"]
    assert await logout(all_sites=True) is False  # nothing left to remove
    assert await logout(all_sites=True, store=file_store) is True
    assert file_keyring(isolated_env).read() == {"Anaconda Cloud": {}}


def test_sync_logout_all_sites_and_its_contradiction(store: MemoryTokenStore) -> None:
    from anaconda_auth_async import sync

    store.save(TokenInfo(domain="anaconda.com", api_key=make_api_key()))
    with pytest.raises(ValueError, match="do not pass site or auth_domain"):
        sync.logout(all_sites=True, auth_domain="anaconda.com")
    assert store.domains == ["anaconda.com"]  # refused before anything was removed
    assert sync.logout(all_sites=True) is True
    assert store.domains == []
