"""`AnacondaKeyring`: the Anaconda token file (`token_file.TokenFile`) as a `keyring` backend.

The SDK itself reads and writes the file through `TokenFile`, which imports nothing from
`keyring`: a program that only uses the file never loads keyring and its dependencies
(about 20 ms, on the daemon thread of a client's first request). This backend is for code
that wants the file through keyring's API (``keyring.set_keyring(AnacondaKeyring())`` or
``PYTHON_KEYRING_BACKEND``), and is the fallback when ``preferred_token_storage = "system"``
finds no usable system keyring. It is not registered with `keyring` (no entry point) and
its priority is below keyring's own "no backend" placeholder, so installing this package
never changes which keyring other programs use (see docs/decisions.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from .token_file import TokenFile

__all__ = ["AnacondaKeyring", "default_keyring_path"]

logger = logging.getLogger(__name__)

# The keyring_path setting's default (a test checks it is the settings class's).
_DEFAULT_PATH = "~/.anaconda/keyring"


def default_keyring_path() -> Path:
    """The keyring file the ``keyring_path`` setting names, from wherever settings come from.

    Asks only for that one setting (`setting_source`), so a bad value of another setting
    does not move the file. Where nothing could set any setting (no ``ANACONDA_*``
    variable, no ``.env`` here, no ``~/.anaconda/config.toml``) the answer is the default
    without asking: `keyring` calls this (through `viable`) in every program that uses it,
    and asking means importing pydantic (about 0.2 s).
    """
    if not _settings_may_be_set():
        return Path(_DEFAULT_PATH).expanduser()
    # On use, not at import: keyring imports this module in every program that uses it.
    from ..settings.dotenv_guard import dotenv_allowed
    from ..settings.fields import AnacondaAuthSettings
    from ..settings.sources import setting_source

    source = setting_source("keyring_path", settings_cls=AnacondaAuthSettings)
    value = source.value
    if source.kind == "dotenv" and "keyring_path" not in dotenv_allowed():
        logger.warning(
            "Ignoring keyring_path from %s: a .env file may not move the key file "
            "(allow it with ANACONDA_AUTH_ALLOW_DOTENV=keyring_path)",
            source.description,
        )
        value = None
    if isinstance(value, str | os.PathLike) and os.fspath(value):
        return Path(value).expanduser()
    field = AnacondaAuthSettings.model_fields["keyring_path"]
    return Path(field.get_default(call_default_factory=True)).expanduser()


def _settings_may_be_set() -> bool:
    """Whether any settings source could hold a value (cheap: no pydantic)."""
    return (
        any(name.upper().startswith("ANACONDA_") for name in os.environ)
        or Path(".env").is_file()
        or Path("~/.anaconda/config.toml").expanduser().is_file()
    )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class AnacondaKeyring(TokenFile, KeyringBackend):
    """Keyring backend storing every entry in one JSON file, in anaconda-cloud-auth's format.

    Built without arguments (as `keyring` does) it uses `default_keyring_path`.
    """

    # Never chosen by keyring on its own (below its "fail" placeholder, 0, and left out of
    # its chainer): only used where asked for, by the SDK or by PYTHON_KEYRING_BACKEND.
    priority = -1

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, lock_timeout: float = 10.0
    ) -> None:
        KeyringBackend.__init__(self)  # type: ignore[no-untyped-call]
        TokenFile.__init__(
            self, path if path is not None else default_keyring_path(), lock_timeout=lock_timeout
        )

    @properties.classproperty
    def name(cls) -> str:
        """Name shown by ``keyring --list-backends``."""
        return "Anaconda file keyring"

    @properties.classproperty
    def viable(cls) -> bool:
        """True when the default file exists and is writable, or could be created.

        Creates nothing: it only looks at the file or its nearest existing directory.
        Never raises: `keyring` asks every backend outside its own error handling, so a
        broken configuration (``config.toml``, an unknown site) would otherwise break
        `keyring` in every program; the backend is then not viable.
        """
        try:
            path = default_keyring_path()
        except Exception as exc:
            logger.debug("Anaconda file keyring not viable: %s", exc)
            return False
        if path.exists():
            return path.is_file() and os.access(path, os.R_OK | os.W_OK)
        parent = _nearest_existing(path.parent)
        return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)

    def delete_password(self, service: str, username: str) -> None:
        """Remove the entry (`TokenFile.delete`); raises `PasswordDeleteError` if there is none."""
        if not self.delete(service, username):
            raise PasswordDeleteError(f"no entry for {username!r} in {service!r}")
