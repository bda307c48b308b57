"""The life of a key: minting one for a machine (``api-key --new``, `create_api_key`).

The network part of a login (`_login._obtain_key`) is replaced by a fake; the e2e suite
runs the real one (tests/e2e/test_e2e_keys.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from anaconda_auth_async import (
    AnacondaAuthSettings,
    APIKey,
    APIKeyExchangeError,
    LoginDeniedError,
    LoginEvent,
    TokenInfo,
    __version__,
    create_api_key,
    sync,
)
from anaconda_auth_async import _login as login_module
from anaconda_auth_async._apikey import api_key_request, mint_api_key
from anaconda_auth_async.cli import cli
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key, use_store

DOMAIN = "id.anaconda.cloud"
EXPIRES = 1_900_000_000.0


def run(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI with stdout and stderr kept apart (click 8.1 and 8.2+)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, prog_name="anaconda-auth")


@pytest.fixture
def store() -> Iterator[MemoryTokenStore]:
    memory = MemoryTokenStore()
    with use_store(memory):
        yield memory


class FakeObtain:
    """Stands in for `_login._obtain_key`: reports a browser event, then returns or raises."""

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
        "scopes": ["cloud:read", "cloud:write"],
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
    assert new.scopes == ("cloud:read", "cloud:write")
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
    assert data["scopes"] == ["cloud:read", "cloud:write"]
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


def test_cli_new_bad_scope_is_a_usage_error(store: MemoryTokenStore, obtain: FakeObtain) -> None:
    result = run("api-key", "--new", "--scope", "cloud read")
    assert result.exit_code == 2
    assert obtain.calls == []
