"""Security round 2, finding 2: ``config.toml`` is trusted like the keyring file.

The review's attack: with ``HOME`` in a shared sticky directory, another user planted
``~/.anaconda/config.toml`` naming their server as ``api_domain`` with ``ssl_verify =
false``, and the victim's ``ANACONDA_AUTH_API_KEY`` arrived there. The file (and its
directory, and a link to it) now pass the ssh-style checks of the keyring file, or the
command stops with one sentence naming the file, before any request.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from attackers import attacker
from click.testing import CliRunner

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError
from anaconda_auth_async.cli import cli
from anaconda_auth_async.testing import make_api_key

NOBODY = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown"
)


def plant(home: Path, host: str, *, mode: int = 0o600) -> Path:
    directory = home / ".anaconda"
    directory.mkdir(exist_ok=True)
    path = directory / "config.toml"
    path.write_text(f'[plugin.auth]\napi_domain = "{host}"\nssl_verify = false\n')
    path.chmod(mode)
    return path


@needs_root
def test_finding2_config_planted_by_another_user_never_receives_the_key(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = make_api_key()
    monkeypatch.setenv("ANACONDA_AUTH_API_KEY", key)
    isolated_env.chmod(0o1777)  # HOME in a shared sticky directory
    with attacker(tls=tmp_path / "tls") as evil:
        path = plant(isolated_env, evil.host)
        os.chown(path.parent, NOBODY, NOBODY)
        os.chown(path, NOBODY, NOBODY)
        result = CliRunner().invoke(cli, ["whoami"])
        assert evil.seen.requests == []
    assert result.exit_code == 6, result.output  # a configuration error
    assert f"Refusing the settings file {path}" in result.output
    assert "owned by another user (uid 65534)" in result.output
    assert key not in result.output
    assert "Traceback" not in result.output


@needs_root
def test_finding2_config_in_a_directory_of_another_user_is_refused(isolated_env: Path) -> None:
    path = plant(isolated_env, "evil.example")
    os.chown(path.parent, NOBODY, NOBODY)  # the file is ours, the directory is not
    with pytest.raises(ConfigurationError, match=r"its directory .* is owned by another user"):
        AnacondaAuthSettings()


def test_finding2_config_writable_by_others_is_refused(isolated_env: Path) -> None:
    path = plant(isolated_env, "evil.example", mode=0o666)
    with pytest.raises(ConfigurationError) as caught:
        AnacondaAuthSettings()
    message = str(caught.value)
    assert str(path) in message
    assert "writable by other users (mode 0666)" in message
    assert f"chmod 600 {path}" in message


def test_finding2_config_in_a_directory_anyone_may_write_is_refused(isolated_env: Path) -> None:
    path = plant(isolated_env, "evil.example")
    path.parent.chmod(0o777)  # no sticky bit: anyone may replace the file
    with pytest.raises(ConfigurationError, match="writable by every user"):
        AnacondaAuthSettings()


def test_a_private_config_and_a_linked_one_are_read(isolated_env: Path, tmp_path: Path) -> None:
    path = plant(isolated_env, "api.example.com")
    assert AnacondaAuthSettings().api_domain == "api.example.com"
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir(mode=0o700)
    target = dotfiles / "config.toml"
    path.rename(target)
    path.symlink_to(target)  # a dotfile manager's link
    assert AnacondaAuthSettings().api_domain == "api.example.com"
    target.chmod(0o666)
    with pytest.raises(ConfigurationError, match=f"which leads to {target}"):
        AnacondaAuthSettings()
