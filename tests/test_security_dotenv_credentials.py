"""Security round 2, finding 5: a cloned repository's `.env` cannot choose credentials.

The review's attacks: ``ANACONDA_AUTH_API_KEY`` in a `.env` silently switched every
command to another account; ``ANACONDA_AUTH_API_KEY_FILE=${HOME}/.git-credentials`` (which
python-dotenv filled in) sent a GitHub token to the API; ``ANACONDA_AUTH_EXTRA_HEADERS``
with ``${AWS_SECRET_ACCESS_KEY}`` sent that secret to the API, and to another origin over
plain http. Each is run here through the installed command's entry point (`cli`) or the
public client.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from attackers import attacker
from click.testing import CliRunner

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient
from anaconda_auth_async.cli import cli
from anaconda_auth_async.testing import make_api_key

SECRET = "aws-secret-4b1d"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("ANACONDA_AUTH_API_KEY={key}", "api_key"),
        ("ANACONDA_CLOUD_API_KEY={key}", "api_key"),
        ("ANACONDA_AUTH_API_KEY_FILE=${{HOME}}/.git-credentials", "api_key_file"),
        ('ANACONDA_AUTH_EXTRA_HEADERS={{"X-Leak": "${{AWS_SECRET_ACCESS_KEY}}"}}', "extra_headers"),
        ("ANACONDA_AUTH_CLIENT_CERT=./cert.pem", "client_cert"),
        ("ANACONDA_AUTH_CLIENT_CERT_KEY=./key.pem", "client_cert_key"),
    ],
)
def test_finding5_dotenv_may_not_choose_credentials(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, line: str, field: str
) -> None:
    key = make_api_key(sub="mallory")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    (isolated_env / ".git-credentials").write_text("https://victim:ghp_token@github.com\n")
    (isolated_env / ".env").write_text(line.format(key=key) + "\n")
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings()
    message = str(caught.value)
    assert field in message
    assert str(isolated_env / ".env") in message
    assert key not in message
    assert SECRET not in message
    result = CliRunner().invoke(cli, ["whoami"])
    assert result.exit_code == 6, result.output  # a configuration error, one sentence
    assert "Traceback" not in result.output
    assert key not in result.output


def test_finding5_dotenv_is_read_without_interpolation(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "extra_headers")  # trusted on purpose
    (isolated_env / ".env").write_text(
        'ANACONDA_AUTH_EXTRA_HEADERS={"X-Leak": "${AWS_SECRET_ACCESS_KEY}"}\n'
    )
    settings = AnacondaAuthSettings()
    assert settings.extra_headers == {"X-Leak": "${AWS_SECRET_ACCESS_KEY}"}
    assert settings.source_of("extra_headers").value == '{"X-Leak": "${AWS_SECRET_ACCESS_KEY}"}'


def test_finding5_allowed_dotenv_key_file_path_is_taken_literally(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / ".git-credentials").write_text("https://victim:ghp_token@github.com\n")
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "api_key_file")
    (isolated_env / ".env").write_text("ANACONDA_AUTH_API_KEY_FILE=${HOME}/.git-credentials\n")
    assert str(AnacondaAuthSettings().api_key_file) == "${HOME}/.git-credentials"


@pytest.mark.anyio
async def test_finding5_extra_headers_go_only_to_the_apis_own_origins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even set in the environment (the user's own act), extra headers go where the key
    goes: the API's https origin (or http on loopback), never another origin."""
    monkeypatch.setenv("ANACONDA_AUTH_EXTRA_HEADERS", f'{{"X-Team": "{SECRET}"}}')
    with attacker() as api, attacker() as other:
        async with AsyncAuthClient(base_url=api.url, api_key=make_api_key()) as client:
            await client.get("/api/account")
            await client.get(f"{other.url}/elsewhere")  # another origin, plain http
        with BaseClient(base_url=api.url, api_key=make_api_key()) as sync_client:
            sync_client.get("/api/account")
            sync_client.get(f"{other.url}/elsewhere")
        assert [h.get("x-team") for _, _, h in api.seen.requests] == [SECRET, SECRET]
        assert len(other.seen.requests) == 2
        assert all("x-team" not in h for _, _, h in other.seen.requests)


def test_finding5_extra_headers_never_go_over_plain_http_to_a_network_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_EXTRA_HEADERS", f'{{"X-Team": "{SECRET}"}}')
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    with BaseClient(api_key="k", transport=transport) as client:
        client.get("http://anaconda.cloud/api/account")  # the API host, downgraded
        client.get("https://anaconda.cloud/api/account")
    assert [r.headers.get("X-Team") for r in sent] == [None, SECRET]
