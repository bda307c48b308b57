"""Security round 2, finding 6: odd values from outside end in the package's own errors.

The review's cases, each through the public API or the installed command's entry point:
``expires_in`` of ``1e999``, ``NaN``, 5,000 digits or ``"²"``; a 5,000-digit
``Min-Api-Version``; ``api-key --new --json`` with a minted key whose date cannot be shown
(it crashed *after* the server made the key); ``status`` with a stored key whose
``exp`` is ``1e20``; ``--with-token`` with ``exp=-1e20``; deep nesting in ``.env`` and
``config.toml``. (The device ``interval``/``expires_in`` are in
``test_security_device_polling``.)
"""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path

import httpx
import pytest
from cli_runner import run

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError, TokenInfo
from anaconda_auth_async.api_client.clients import BaseClient
from anaconda_auth_async.logins.flows.token_request import parse_token_response
from anaconda_auth_async.testing import FakePlatform, MemoryTokenStore, use_platform, use_store

DEEP = "[" * 100_000 + "]" * 100_000


def jwt(payload: bytes) -> str:
    """A JWT-shaped key with this exact payload (no signature check reads it)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(b'{"alg":"none"}')
    return f"{header}.{part(payload)}.c2ln"


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = run(*args, input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("value", [b"1e999", b"NaN", b"Infinity", b"9" * 5000, b'"\xc2\xb2"'])
def test_finding6_token_expires_in_is_guarded(value: bytes) -> None:
    body = b'{"access_token": "at", "id_token": "it", "expires_in": ' + value + b"}"
    tokens = parse_token_response(200, body)
    assert tokens.access_token == "at"
    assert tokens.expires_in is None  # unknown, not a crash


def test_finding6_huge_min_api_version_never_breaks_a_request() -> None:
    answer = httpx.Response(200, json={}, headers={"Min-Api-Version": "9" * 5000})
    transport = httpx.MockTransport(lambda request: answer)
    with (
        BaseClient(api_key="k", api_version="2023.01.01", transport=transport) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")  # nor a warning about a version it cannot read
        assert client.get("/api/thing").status_code == 200
        assert client.get("/api/thing").status_code == 200


@pytest.mark.parametrize(
    "answer",
    [
        {"expires_at": "+99999-01-01T00:00:00Z"},  # not a date
        {"expires_at": "0001-01-01T00:00:00+14:00"},  # before the epoch
        {},  # no date in the answer: the key's own exp of 1e20 is used
    ],
)
def test_finding6_new_key_is_always_shown_whatever_its_date(answer: dict[str, str]) -> None:
    platform = FakePlatform()
    minted = jwt(b'{"sub": "u", "exp": 1e20}')
    platform.script("api-keys", httpx.Response(201, json={"api_key": minted, **answer}))
    with use_store(MemoryTokenStore()), use_platform(platform):
        code, out, err = invoke("api-key", "--new", "--json", "--device")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["api_key"] == minted
    assert "Traceback" not in err


def test_finding6_status_with_a_key_expiring_in_1e20() -> None:
    store = MemoryTokenStore()
    store.save(TokenInfo(domain="id.anaconda.cloud", api_key=jwt(b'{"exp": 1e20}')))
    with use_store(store):
        code, out, err = invoke("status")
        assert code == 0, err
        assert "9999-12-31" in out
        code, out, err = invoke("status", "--json")
    assert code == 0, err
    assert json.loads(out)["expires_at"].startswith("9999-12-31")


def test_finding6_with_token_exp_minus_1e20_is_an_expired_key() -> None:
    store = MemoryTokenStore()
    with use_store(store):
        code, _, err = invoke("login", "--with-token", input=jwt(b'{"exp": -1e20}'))
    assert code not in (0, 1), err  # the command's own refusal, not an unexpected error
    assert "expired on 1970-01-01" in err
    assert "Traceback" not in err
    assert store.load("id.anaconda.cloud") is None


def test_finding6_deep_nesting_in_dotenv_is_a_configuration_error(isolated_env: Path) -> None:
    (isolated_env / ".env").write_text(f"ANACONDA_AUTH_EXTRA_HEADERS={DEEP}\n")
    with pytest.raises(ConfigurationError, match="extra_headers"):
        AnacondaAuthSettings(allow_dotenv=["extra_headers"])
    code, _, err = invoke("whoami")  # a command that needs every setting
    assert code == 6, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "toml",
    [f"[plugin.auth]\nextra_headers = {DEEP}\n", "[" + ".".join(["a"] * 5000) + "]\nb = 1\n"],
    ids=["array", "tables"],
)
def test_finding6_deep_nesting_in_config_toml_is_a_configuration_error(
    isolated_env: Path, toml: str
) -> None:
    path = isolated_env / ".anaconda" / "config.toml"
    path.parent.mkdir(mode=0o700)
    path.write_text(toml)
    with pytest.raises(ConfigurationError, match="nests tables or arrays deeper"):
        AnacondaAuthSettings()
    code, _, err = invoke("status")
    assert code == 6, err
    assert str(path) in err
