"""What a setting's value means, read from text or from code.

The validators of `AnacondaAuthSettings` call these: a boolean in any usual spelling,
``ssl_verify``, a proxy (a URL or anaconda-auth's ``proxy_servers``), extra headers, an
API or auth domain, API key scopes, anaconda-auth's ``use_device_flow``. Each raises
`ValueError` saying what is expected, never echoing a value that may be a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..foundation.safe_text import json_object, one_line

__all__ = [
    "BEFORE_VALIDATION",
    "check_extra_header",
    "expand_user",
    "parse_bool",
    "parse_domain",
    "parse_extra_headers",
    "parse_login_flow",
    "parse_proxy",
    "parse_scopes",
    "parse_ssl_verify",
]

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_RESERVED_HEADERS = frozenset({"authorization"})


def expand_user(value: str | os.PathLike[str]) -> Path:
    """`value` as a path, a leading ``~`` or ``~user`` expanded as the shell does.

    Raises `ValueError` when that names no home directory this system knows (``~nobody``,
    or ``~`` without ``HOME``), where pathlib raises `RuntimeError`.
    """
    path = Path(value)
    try:
        return path.expanduser()
    except RuntimeError:
        head = one_line(path.parts[0], 40)
        raise ValueError(
            f"{head} names no home directory this system knows; write the path out in full"
        ) from None


def parse_login_flow(value: Any) -> Any:
    """anaconda-auth's ``use_device_flow``: true is the device flow, false the browser's;
    any other value is left for the field's own check."""
    try:
        return "device" if parse_bool(value) else "browser"
    except ValueError:
        return value


def parse_domain(value: str) -> str:
    """An API or auth domain: a host with an optional port and path, no scheme."""
    # anaconda-cloud-auth 0.6 accepted a path (an OpenID issuer may have one:
    # anaconda.cloud/api/iam) and put the value after https:// as it is; so do we.
    value = value.strip().rstrip("/")
    host = value.split("/", 1)[0]
    if (
        not host
        or "://" in value
        or any(c in value for c in "?#@\\")
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        raise ValueError(
            "expected a host name with an optional port and path, like anaconda.cloud "
            "or anaconda.cloud/api/iam"
        )
    return value


def parse_extra_headers(value: Any) -> Any:
    """Extra headers: a JSON object of strings (or a mapping), each a valid header."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = json_object(value)  # bounded: deep nesting is no RecursionError
        if value is None:
            raise ValueError('expected a JSON object of strings, like {"X-Header": "value"}')
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError('expected a JSON object of strings, like {"X-Header": "value"}')
    for name, text in value.items():
        check_extra_header(name, text)
    return value


def parse_scopes(value: Any) -> Any:
    """API key scopes: separated by commas (or spaces), or a list; duplicates dropped."""
    if value is None:
        return None
    parts = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or not all(isinstance(p, str) for p in parts):
        raise ValueError("expected scopes separated by commas, like cloud:read,cloud:write")
    scopes = tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
    if not scopes:
        raise ValueError("expected at least one scope, like cloud:read (unset it for the defaults)")
    if any(not p.isprintable() or " " in p for p in scopes):
        raise ValueError("a scope may not hold spaces or control characters")
    return scopes


def check_extra_header(name: str, value: str) -> None:
    """Raise `ValueError` unless `name: value` may be sent as an extra header.

    The name must be an HTTP token and the value free of line breaks and NUL (else httpx
    fails at the first request, looking like a network error); ``Authorization`` is the
    SDK's: the API key goes there, and a fixed one would be sent to every host.
    """
    if not _HEADER_NAME.fullmatch(name):
        shown = "".join(c if c.isprintable() else "?" for c in name)[:40]
        raise ValueError(
            f"{shown!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        )
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"the value of header {name} contains a line break or NUL")
    if name.lower() in _RESERVED_HEADERS:
        raise ValueError(
            f"{name} may not be set here: the SDK sends the API key in it; set the key "
            "with ANACONDA_AUTH_API_KEY (or api_key=) instead"
        )


def parse_bool(value: Any) -> bool:
    """Read a boolean in any usual spelling: true/false, 1/0, yes/no, y/n, on/off, t/f."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected a boolean: true or false (or 1/0, yes/no, on/off)")


def parse_ssl_verify(value: Any) -> bool | str:
    """Read ``ssl_verify``: a boolean (in any usual spelling), 'truststore' or a CA bundle."""
    if isinstance(value, bool):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError("expected true, false, 'truststore' or the path of a CA bundle")
    word = value.strip().lower()
    if not word:
        raise ValueError(
            "the value is empty; expected true, false, 'truststore' or a CA bundle path"
        )
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    if word == "truststore":
        return "truststore"
    path = expand_user(value)
    shown = one_line(str(path), 120)  # a value from outside: one printable line
    try:
        if path.is_dir():
            return str(path)  # a CA directory (OpenSSL's c_rehash layout), as ssl's capath
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError):  # a name too long for the system, a NUL in it
        exists = is_file = False
    if not exists:
        raise ValueError(
            f"CA bundle {shown} does not exist; expected true, false, 'truststore' "
            "or the path of a CA bundle file or CA directory"
        )
    if not is_file:
        raise ValueError(f"CA bundle {shown} is neither a file nor a directory")
    return str(path)


def parse_proxy(value: Any) -> Any:
    """A proxy URL; anaconda-auth's ``proxy_servers`` mapping gives its ``https`` entry."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json_object(value)  # bounded: deep nesting is no RecursionError
        if value is None:
            raise ValueError('expected a proxy URL or a JSON object like {"https": URL}')
    if isinstance(value, Mapping):
        chosen = value.get("https") or value.get("all") or value.get("all://")
        if not isinstance(chosen, str) or not chosen:
            raise ValueError(
                "proxy_servers has no https entry, and every request is https: "
                "set the proxy for https (or ANACONDA_AUTH_PROXY to one proxy URL)"
            )
        return chosen
    return value


BEFORE_VALIDATION: Mapping[str, Callable[[Any], Any]] = {
    "login_flow": parse_login_flow,
    "proxy": parse_proxy,
    "extra_headers": parse_extra_headers,
    "api_key_scopes": parse_scopes,
    "ssl_verify": parse_ssl_verify,
    "ephemeral_port": parse_bool,
}
"""The settings whose raw value (text from the environment, a file or an argument) is
read here before pydantic checks its type, and the function that reads each."""
