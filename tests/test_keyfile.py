"""A key from a file: ``ANACONDA_AUTH_API_KEY_FILE`` (and the seed-style alias), each bad
case, and its precedence beside ``ANACONDA_AUTH_API_KEY``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_runner import run

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError, TokenInfo
from anaconda_auth_async.api_client.configured_key import configured_key, forget_key_files
from anaconda_auth_async.sync import BaseClient
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

DOMAIN = "id.anaconda.cloud"
VAR = "ANACONDA_AUTH_API_KEY_FILE"


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    forget_key_files()
    yield
    forget_key_files()


def key_file(tmp_path: Path, content: str, mode: int = 0o600, name: str = "api-key") -> Path:
    path = tmp_path / name
    path.write_text(content)
    path.chmod(mode)
    return path


def sent_key(**client_options: object) -> str:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={})

    with BaseClient(transport=httpx.MockTransport(handler), **client_options) as client:  # type: ignore[arg-type]
        client.get("/api/account")
    return seen[0].removeprefix("Bearer ")


def test_the_key_file_is_read_stripped_and_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore
) -> None:
    key = make_api_key(sub="from-file")
    store.save(TokenInfo(domain=DOMAIN, api_key=make_api_key(sub="stored")))
    monkeypatch.setenv(VAR, str(key_file(tmp_path, f"\n  {key}\r\n\n")))
    assert sent_key() == key
    result = run("status")
    assert result.exit_code == 0, result.stderr
    assert f"file {tmp_path / 'api-key'} (from environment variable {VAR})" in result.stdout
    assert key not in result.stdout
    assert run("api-key").stdout == f"{key}\n"


def test_the_seed_style_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_api_key()
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY_FILE", str(key_file(tmp_path, key)))
    found = configured_key(AnacondaAuthSettings())
    assert found is not None
    assert found.key == key
    assert "ANACONDA_CLOUD_API_KEY_FILE" in found.source


def test_the_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_api_key(sub="first")
    path = key_file(tmp_path, first)
    monkeypatch.setenv(VAR, str(path))
    assert sent_key() == first
    path.write_text(make_api_key(sub="second"))
    assert sent_key() == first
    path.unlink()
    assert sent_key() == first  # not even looked at again


def error_for(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(VAR, str(path))
    with pytest.raises(ConfigurationError) as caught:
        configured_key(AnacondaAuthSettings())
    message = str(caught.value)
    assert str(path) in message
    assert f"from environment variable {VAR}" in message
    return message


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(tmp_path / "nope", monkeypatch)
    assert "does not exist" in message
    assert f"unset {VAR}" in message


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_empty_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    assert "is empty" in error_for(key_file(tmp_path, content), monkeypatch)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # unreadable even by root: too many levels of symbolic links
    assert "cannot be read (Too many levels of symbolic links)" in error_for(loop, monkeypatch)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files of any mode")
def test_file_without_read_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(key_file(tmp_path, make_api_key(), mode=0o200), monkeypatch)
    assert "cannot be read (Permission denied)" in message


def test_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "is not a regular file" in error_for(tmp_path, monkeypatch)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o444])
def test_file_readable_or_writable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    message = error_for(key_file(tmp_path, make_api_key(), mode=mode), monkeypatch)
    assert f"readable or writable by other users (mode {mode:04o})" in message
    assert f"chmod 600 {tmp_path / 'api-key'}" in message


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640, 0o440])
def test_private_modes_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    key = make_api_key()
    monkeypatch.setenv(VAR, str(key_file(tmp_path, key, mode=mode)))
    found = configured_key(AnacondaAuthSettings())
    assert found is not None
    assert found.key == key


def test_more_than_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = key_file(tmp_path, f"{make_api_key()}\n{make_api_key(sub='other')}\n")
    message = error_for(path, monkeypatch)
    assert "must hold only the API key" in message
    assert "eyJ" not in message  # never echoes the content


def test_binary_and_huge_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00key")
    binary.chmod(0o600)
    assert "is not text" in error_for(binary, monkeypatch)
    forget_key_files()
    huge = key_file(tmp_path, "k" * 70_000, name="huge")
    assert "too large" in error_for(huge, monkeypatch)


def test_cli_reports_a_bad_key_file_as_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: MemoryTokenStore
) -> None:
    monkeypatch.setenv(VAR, str(tmp_path / "missing"))
    result = run("status")
    assert result.exit_code == 6
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: The API key file {tmp_path / 'missing'} (from environment")


# --- precedence --------------------------------------------------------------------------


def test_key_and_key_file_in_the_environment_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", make_api_key())
    monkeypatch.setenv(VAR, str(key_file(tmp_path, make_api_key())))
    with pytest.raises(ConfigurationError, match="set only one of them"):
        configured_key(AnacondaAuthSettings())


def test_an_argument_key_wins_over_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_api_key(sub="argument")
    monkeypatch.setenv(VAR, str(tmp_path / "missing"))  # not even read
    found = configured_key(AnacondaAuthSettings(api_key=key))
    assert found is not None
    assert found.key == key
    assert found.source == "argument"
    assert sent_key(api_key=key) == key


def test_a_key_file_in_the_environment_wins_over_a_key_in_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_ALLOW_DOTENV", "api_key")  # a .env trusted on purpose
    key = make_api_key(sub="file")
    (Path.cwd() / ".env").write_text(f"ANACONDA_AUTH_API_KEY={make_api_key(sub='dotenv')}\n")
    monkeypatch.setenv(VAR, str(key_file(tmp_path, key)))
    found = configured_key(AnacondaAuthSettings())
    assert found is not None
    assert found.key == key
