"""The provider's published documents: its OpenID configuration and its signing keys.

Both are fetched through the ``httpx.AsyncClient`` the caller passes in (built from the
transport settings) and cached per URL for the life of the process. Validating the
configuration is pure (`ProviderMetadata.from_document`). ID-token validation is in
`id_token`, the token endpoint in `flows.token_request`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ..foundation.errors import DiscoveryError
from ..foundation.safe_text import json_object
from ..network.transport import describe_network_error

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

    from ..settings.fields import AnacondaAuthSettings

__all__ = [
    "ProviderMetadata",
    "clear_caches",
    "discover",
    "expected_issuer",
    "fetch_jwks",
]

logger = logging.getLogger(__name__)

_WELL_KNOWN_SUFFIX = "/.well-known/openid-configuration"
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
_ENDPOINTS = (*_REQUIRED, "device_authorization_endpoint")

_discovery_cache: dict[str, ProviderMetadata] = {}
_jwks_cache: dict[str, KeySet] = {}


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's OpenID configuration this SDK uses, validated."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    device_authorization_endpoint: str | None
    id_token_signing_alg_values_supported: tuple[str, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_document(cls, url: str, document: object, *, issuer: str) -> ProviderMetadata:
        """Validate an OpenID configuration document fetched from `url`, expecting `issuer`.

        Raises `DiscoveryError` naming `url` and the first problem found.
        """
        if not isinstance(document, dict):
            raise _discovery_error(url, "the response is not a JSON object")
        missing = [name for name in _REQUIRED if not document.get(name)]
        if missing:
            raise _discovery_error(url, f"the required field {', '.join(missing)} is missing")
        for name in _ENDPOINTS:
            value = document.get(name)
            if value is not None and not _is_https_url(value):
                raise _discovery_error(url, f"{name} is not an https URL")
        if document["issuer"].rstrip("/") != issuer.rstrip("/"):
            raise _discovery_error(
                url, f"its issuer {document['issuer']!r} is not the expected {issuer!r}"
            )
        algs = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        if not isinstance(algs, list) or not all(isinstance(a, str) for a in algs):
            raise _discovery_error(url, "id_token_signing_alg_values_supported is not a list")
        return cls(
            issuer=document["issuer"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            device_authorization_endpoint=document.get("device_authorization_endpoint"),
            id_token_signing_alg_values_supported=tuple(algs),
            raw=MappingProxyType(dict(document)),
        )


def clear_caches() -> None:
    """Forget every cached OpenID configuration and JWKS (for tests and long-lived apps)."""
    _discovery_cache.clear()
    _jwks_cache.clear()


def expected_issuer(well_known_url: str) -> str:
    """The issuer a configuration at `well_known_url` must name (OIDC Discovery 4.3)."""
    if well_known_url.endswith(_WELL_KNOWN_SUFFIX):
        return well_known_url[: -len(_WELL_KNOWN_SUFFIX)]
    parts = urlsplit(well_known_url)
    return f"{parts.scheme}://{parts.netloc}"


async def discover(http: httpx.AsyncClient, settings: AnacondaAuthSettings) -> ProviderMetadata:
    """Load and validate the provider's OpenID configuration; cached per URL per process.

    Raises `DiscoveryError` naming the URL when it is unreachable or malformed.
    """
    url = settings.well_known_url
    cached = _discovery_cache.get(url)
    if cached is not None:
        return cached
    # The client bounds the request, body included, by the timeout setting.
    document = await _get_json(http, url, what="OpenID configuration")
    metadata = ProviderMetadata.from_document(url, document, issuer=expected_issuer(url))
    _discovery_cache[url] = metadata
    logger.debug("Loaded the OpenID configuration of %s", metadata.issuer)
    return metadata


async def fetch_jwks(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    *,
    refresh: bool = False,
) -> KeySet:
    """The provider's signing keys, cached per ``jwks_uri``; `refresh` fetches them again.

    Time-limited by `http` (`async_http_client` bounds each request by the timeout setting).

    Raises `DiscoveryError` naming the URL when the key set cannot be loaded.
    """
    from joserfc.errors import JoseError  # joserfc only when signing keys are loaded
    from joserfc.jwk import KeySet

    url = metadata.jwks_uri
    cached = _jwks_cache.get(url)
    if cached is not None and not refresh:
        return cached
    document = await _get_json(http, url, what="signing keys (JWKS)")
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _discovery_error(url, "the response is not a JSON Web Key Set", what="JWKS")
    if not document["keys"]:  # joserfc < 1.1 accepts an empty set; nothing could be verified
        raise _discovery_error(url, "it contains no keys", what="JWKS")
    try:
        keys = KeySet.import_key_set({"keys": document["keys"]})
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        reason = f"its keys could not be read ({type(exc).__name__})"
        raise _discovery_error(url, reason, what="JWKS") from None
    _jwks_cache[url] = keys
    return keys  # type: ignore[no-any-return]  # joserfc's import_key_set returns Self


async def _get_json(http: httpx.AsyncClient, url: str, *, what: str) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        # chained: the CLI classifies a time-out (DeadlineExceeded) by the cause
        raise _discovery_error(url, describe_network_error(exc), what=what) from exc
    if response.status_code != 200:
        raise _discovery_error(url, f"HTTP {response.status_code}", what=what)
    document = json_object(response.content)
    if document is None:
        raise _discovery_error(url, "the response is not a JSON object", what=what)
    return document


def _discovery_error(
    url: str, reason: str, *, what: str = "OpenID configuration"
) -> DiscoveryError:
    return DiscoveryError(
        f"Could not load the {what} from {url} ({reason}); check the network connection, "
        "the proxy and SSL settings, and ANACONDA_AUTH_AUTH_DOMAIN."
    )


def _is_https_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.netloc)
