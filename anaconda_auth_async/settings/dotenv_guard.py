"""The ``.env`` guard: a ``.env`` file may not weaken security without a deliberate allow.

`GUARDED` names the settings it covers; `dotenv_allowed` reads the allow list
(``ANACONDA_AUTH_ALLOW_DOTENV`` from the real environment, and ``allow_dotenv=``);
`refuse_weakening_dotenv` raises the one `ConfigurationError` naming the file, the setting,
the risk and the fix. Why: docs/decisions.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from ..foundation.errors import ConfigurationError
from .sources import setting_source

__all__ = [
    "ALLOW_DOTENV_ENV",
    "GUARDED",
    "dotenv_allowed",
    "refuse_weakening_dotenv",
    "weakens",
]

GUARDED = (
    "api_domain",
    "auth_domain",
    "ssl_verify",
    "proxy",
    "keyring_path",
    "login_success_url",
    "login_error_url",
    "api_key",
    "api_key_file",
    "extra_headers",
    "client_cert",
    "client_cert_key",
)
"""Settings a ``.env`` file may not change without a deliberate allow: they weaken TLS,
move the key, the login or the key file to another place, or choose the credentials sent."""

ALLOW_DOTENV_ENV = "ANACONDA_AUTH_ALLOW_DOTENV"


def dotenv_allowed(argument: Iterable[str] = ()) -> frozenset[str]:
    """The guarded settings a ``.env`` may set: ``ANACONDA_AUTH_ALLOW_DOTENV`` (read from
    the real environment only) and `argument`; ``all`` allows every one."""
    names = {n.strip() for n in os.environ.get(ALLOW_DOTENV_ENV, "").split(",")}
    names |= {str(n).strip() for n in argument}
    names.discard("")
    return frozenset(GUARDED) if "all" in names else frozenset(names)


def weakens(field: str, value: Any, settings_cls: type[BaseSettings]) -> bool:
    """Whether `value` of the guarded `field` differs from the safe default."""
    if field == "ssl_verify":
        return value is not True and value != "truststore"
    info = settings_cls.model_fields[field]
    default = info.get_default(call_default_factory=True)
    if isinstance(default, Path) and value is not None:
        return Path(value).expanduser() != default.expanduser()
    return bool(value != default)


def refuse_weakening_dotenv(
    settings: BaseSettings,
    init: Mapping[str, Any],
    *,
    allow: Iterable[str],
    arguments: Iterable[str],
) -> None:
    """Raise `ConfigurationError` when a ``.env`` file sets a guarded setting unallowed.

    `init` holds the keyword arguments `settings` was built from; `arguments` names the
    settings given as arguments (never refused); `allow` is the ``allow_dotenv`` argument.
    """
    settings_cls = type(settings)
    if not _dotenv_present(settings_cls):
        return  # the common case costs one stat
    allowed = dotenv_allowed(allow)
    given = frozenset(arguments)
    for field in GUARDED:
        if field in given or field in allowed:
            continue
        if not weakens(field, getattr(settings, field), settings_cls):
            continue
        source = setting_source(field, init=init, settings_cls=settings_cls)
        if source.kind == "dotenv":
            raise ConfigurationError(
                f"Refusing the setting {field} from {source.description}: a .env file may "
                f"not change {field}, since it could {_RISK[field]}. If you trust that file, "
                f"allow it with the environment variable {ALLOW_DOTENV_ENV}={field}, or set "
                "the value in the environment or as an argument instead.",
                settings=(field,),
            )


_RISK = {
    "api_domain": "send your API key to another host",
    "auth_domain": "send your login to another host",
    "ssl_verify": "turn off or replace TLS certificate checks",
    "proxy": "route your requests through another host",
    "keyring_path": "write your API key to another file",
    "login_success_url": "send your browser to another site after a login",
    "login_error_url": "send your browser to another site after a login",
    "api_key": "switch you silently to another account",
    "api_key_file": "send the contents of any of your files to the API as a key",
    "extra_headers": "send your secrets to the API in a header",
    "client_cert": "choose the certificate you identify yourself with",
    "client_cert_key": "choose the certificate you identify yourself with",
}


def _dotenv_present(settings_cls: type[BaseSettings]) -> bool:
    files = settings_cls.model_config.get("env_file")
    paths = [files] if isinstance(files, str | os.PathLike) else list(files or ())
    return any(Path(p).expanduser().is_file() for p in paths)
