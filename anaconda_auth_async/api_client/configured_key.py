"""The API key the settings configure: ``ANACONDA_AUTH_API_KEY`` or a key file.

``ANACONDA_AUTH_API_KEY_FILE`` (or ``ANACONDA_CLOUD_API_KEY_FILE``) names a file that holds
only the key, the Docker and Kubernetes secrets convention. The file is read once per
process (the first time a key is needed), with surrounding whitespace stripped. A file
that is missing, not a regular file, unreadable, empty, holding more than the key, or
readable or writable by other users (on POSIX) is a `ConfigurationError` naming the file.

Precedence: a key given as an argument wins over both; otherwise ``ANACONDA_AUTH_API_KEY``
and a key file from the same kind of source (both in the environment, or both in
``.env``) are an error, since one of them would be silently ignored; between different
sources the higher one wins (environment over ``.env`` over ``~/.anaconda/config.toml``).
"""

from __future__ import annotations

import functools
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..foundation.errors import ConfigurationError

if TYPE_CHECKING:
    from ..settings.fields import AnacondaAuthSettings

__all__ = ["ConfiguredKey", "configured_key", "forget_key_files", "read_key_file"]

MAX_KEY_FILE = 64 * 1024
_RANK = {"environment": 1, "other": 2, "dotenv": 3, "config": 4}

_cache: dict[str, str] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ConfiguredKey:
    """A key from the settings, and where it came from in words (for ``status``).

    `source` is worked out on first use: finding it reads the environment and ``.env``,
    which a client sending the key never needs.
    """

    key: str = field(repr=False)
    describe: Callable[[], str] = field(repr=False, compare=False)

    @functools.cached_property
    def source(self) -> str:
        """``environment variable ANACONDA_AUTH_API_KEY``, ``file <path> (from ...)``, ..."""
        return self.describe()


def read_key_file(path: Path, *, origin: str = "ANACONDA_AUTH_API_KEY_FILE") -> str:
    """The key held by `path`, stripped; read once per process and then remembered.

    `origin` says which setting named the file, for the error messages.
    """
    name = os.fspath(path)
    with _cache_lock:
        cached = _cache.get(name)
        if cached is None:
            cached = _cache[name] = _read(path, origin)
    return cached


def _read(path: Path, origin: str) -> str:
    where = f"The API key file {path} (from {origin})"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigurationError(
            f"{where} does not exist; create it, or correct or unset {_name(origin)}."
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"{where} cannot be read ({exc.strerror or type(exc).__name__}); make it "
            "readable by this user."
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigurationError(f"{where} is not a regular file; it must hold the key.")
        if os.name == "posix" and st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
            raise ConfigurationError(
                f"{where} is readable or writable by other users (mode "
                f"{stat.S_IMODE(st.st_mode):04o}); make it private with 'chmod 600 {path}' "
                "(a Kubernetes secret: defaultMode 0400; Docker: mode 0400)."
            )
        raw = os.read(fd, MAX_KEY_FILE + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"{where} cannot be read ({exc.strerror or type(exc).__name__})."
        ) from None
    finally:
        os.close(fd)
    if len(raw) > MAX_KEY_FILE:
        raise ConfigurationError(f"{where} is too large to hold an API key.")
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigurationError(f"{where} is not text; it must hold only the API key.") from None
    if not key:
        raise ConfigurationError(
            f"{where} is empty; put the API key in it ('anaconda-auth api-key --new' makes one)."
        )
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigurationError(
            f"{where} holds more than one word or line; it must hold only the API key."
        )
    return key


def _name(origin: str) -> str:
    """The variable name in a source description (``environment variable X`` → ``X``)."""
    return origin.removeprefix("environment variable ").split(" in ")[0]


def configured_key(settings: AnacondaAuthSettings) -> ConfiguredKey | None:
    """The key the settings configure and where it comes from; None when there is none.

    Raises `ConfigurationError` for a bad key file, or for a key and a key file set in
    the same kind of source (see the module docstring).
    """
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    path = settings.api_key_file
    if path is None:
        return ConfiguredKey(key, lambda: _where(settings)) if key else None
    file_origin = settings.source_of("api_key_file")
    if key:
        key_origin = settings.source_of("api_key")
        # A value no source gives now (the environment changed) was an argument too.
        key_rank = _RANK.get(key_origin.kind, 0)
        file_rank = _RANK.get(file_origin.kind, 0)
        if key_rank == file_rank:
            raise ConfigurationError(
                f"Both an API key ({key_origin}) and an API key file ({file_origin}) are "
                "set; set only one of them."
            )
        if key_rank < file_rank:
            return ConfiguredKey(key, lambda: _where(settings))
    origin = str(file_origin)
    key = read_key_file(path, origin=origin)
    return ConfiguredKey(key, lambda: f"file {path} (from {origin})")


def _where(settings: AnacondaAuthSettings) -> str:
    source = settings.source_of("api_key")
    return str(source) if source.kind in _RANK else "argument"


def forget_key_files() -> None:
    """Forget the keys read from files (for tests: the next use reads them again)."""
    with _cache_lock:
        _cache.clear()
