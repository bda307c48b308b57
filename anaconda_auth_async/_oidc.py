"""OpenID Connect: provider discovery, the token response, the JWKS and the ID token.

Discovery and the JWKS are fetched through the ``httpx.AsyncClient`` the caller passes
in (built from the transport settings) and cached per URL for the life of the process.
Parsing the token response and validating the ID token are pure functions. joserfc is
imported only here, and only when keys or tokens are handled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import urlsplit

import anyio
import httpx

from ._exceptions import DiscoveryError, InvalidIDTokenError, LoginDeniedError, LoginError
from ._text import json_object, safe_line
from ._transport import describe_network_error

if TYPE_CHECKING:
    from joserfc.jwk import Key, KeySet

    from ._config import AnacondaAuthSettings

__all__ = [
    "FlowResult",
    "OAuthTokens",
    "ProviderMetadata",
    "UnknownSigningKeyError",
    "clear_caches",
    "discover",
    "fetch_jwks",
    "parse_token_response",
    "post_token_request",
    "validate_id_token",
    "verify_id_token",
]

logger = logging.getLogger(__name__)

_WELL_KNOWN_SUFFIX = "/.well-known/openid-configuration"
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
_ENDPOINTS = (*_REQUIRED, "device_authorization_endpoint")
# Public clients hold no shared secret, so only public-key signatures can be checked.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_HASHES = {"256": "sha256", "384": "sha384", "512": "sha512"}
# Errors that mean "the provider (or the user) said no", as opposed to a protocol problem.
_DENIED = frozenset({"access_denied", "invalid_grant"})

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


@dataclass(frozen=True)
class OAuthTokens:
    """A successful token endpoint response; its repr shows no token."""

    access_token: str = field(repr=False)
    id_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class FlowResult:
    """What a login flow returns: the tokens, and the nonce sent (browser flow only)."""

    tokens: OAuthTokens
    nonce: str | None = field(default=None, repr=False)


class UnknownSigningKeyError(InvalidIDTokenError):
    """The ID token names a signing key that is not in the JWKS (refetch the JWKS once)."""


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
    try:
        with anyio.fail_after(settings.timeout) as scope:
            document = await _get_json(http, url, what="OpenID configuration")
    except TimeoutError:
        if not scope.cancelled_caught:
            raise  # a library's own TimeoutError, not this time limit
        reason = f"no answer within {settings.timeout:g} seconds"
        raise _discovery_error(url, reason) from None
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

    Time-limited by `http`'s timeouts (the transport config sets them from the settings).

    Raises `DiscoveryError` naming the URL when the key set cannot be loaded.
    """
    from joserfc.errors import JoseError
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


async def verify_id_token(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    id_token: str,
    *,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
) -> dict[str, Any]:
    """`validate_id_token` against the cached JWKS, refetching it once on an unknown key."""

    def check(keys: KeySet) -> dict[str, Any]:
        return validate_id_token(
            id_token,
            keys=keys,
            metadata=metadata,
            client_id=client_id,
            nonce=nonce,
            access_token=access_token,
        )

    try:
        return check(await fetch_jwks(http, metadata))
    except UnknownSigningKeyError:
        logger.debug("The ID token names an unknown signing key; fetching the JWKS again")
    return check(await fetch_jwks(http, metadata, refresh=True))


def parse_token_response(status: int, body: bytes | Mapping[str, Any]) -> OAuthTokens:
    """Read a token endpoint response (pure).

    An ``error`` of ``access_denied`` or ``invalid_grant`` (the user or the provider
    refused: a denied consent, an expired or reused code, wrong credentials) raises
    `LoginDeniedError` with the provider's code and description; any other error, a
    non-JSON body or a missing ``access_token`` raises `LoginError` naming the status.
    """
    data = json_object(body) if isinstance(body, (bytes, bytearray)) else body
    if not isinstance(data, Mapping):
        raise LoginError(
            f"The token endpoint answered HTTP {status} with a response that is not JSON; "
            "try again later."
        )
    error = data.get("error")
    if error is not None:
        raise _token_error(status, str(error), data.get("error_description"))
    access_token = data.get("access_token")
    if not (200 <= status < 300) or not isinstance(access_token, str) or not access_token:
        raise LoginError(
            f"The token endpoint answered HTTP {status} without an access token; try again later."
        )
    id_token = data.get("id_token")
    refresh_token = data.get("refresh_token")
    return OAuthTokens(
        access_token=access_token,
        id_token=id_token if isinstance(id_token, str) else None,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        token_type=str(data.get("token_type") or "Bearer"),
        expires_in=_as_int(data.get("expires_in")),
        raw=MappingProxyType(dict(data)),
    )


async def post_token_request(
    http: httpx.AsyncClient, token_endpoint: str, form: str
) -> OAuthTokens:
    """POST an urlencoded `form` (built by authlib) to the token endpoint and parse the answer.

    Time-limited by `http`'s timeouts; raises `LoginError` when the endpoint cannot be
    reached, and as `parse_token_response` for its answer.
    """
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        response = await http.post(token_endpoint, content=form.encode(), headers=headers)
    except httpx.HTTPError as exc:
        raise LoginError(
            f"Could not reach the token endpoint {token_endpoint} ({describe_network_error(exc)}); "
            "check the network connection and try again."
        ) from None
    return parse_token_response(response.status_code, response.content)


def validate_id_token(
    id_token: str,
    *,
    keys: KeySet,
    metadata: ProviderMetadata,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
    leeway: int = 60,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the ID token's signature and claims (pure) and return its claims.

    Signature by a key of `keys` with an algorithm the provider advertises (public-key
    algorithms only, never ``none``); ``iss``; ``aud`` (and ``azp``); ``exp`` with
    `leeway` seconds; ``iat``; ``nonce`` when given; ``at_hash`` when present. Raises
    `InvalidIDTokenError` saying which check failed (`UnknownSigningKeyError` for a key
    that is not in `keys`).
    """
    from joserfc import jwt
    from joserfc.errors import JoseError

    header = _unverified_header(id_token)
    alg = header.get("alg")
    allowed = [a for a in metadata.id_token_signing_alg_values_supported if a[:2] in _KEY_TYPES]
    if not isinstance(alg, str) or alg not in allowed:
        raise _invalid(f"it is signed with {alg!r}, not one of {', '.join(allowed) or 'none'}")
    claims: dict[str, Any] | None = None
    for key in _candidate_keys(keys, header.get("kid"), _KEY_TYPES[alg[:2]]):
        try:
            claims = dict(jwt.decode(id_token, key, algorithms=[alg]).claims)
            break
        except (JoseError, ValueError):
            continue
    if claims is None:
        raise _invalid("its signature does not verify with the provider's keys")
    _check_claims(claims, metadata.issuer, client_id, leeway, time.time() if now is None else now)
    if nonce is not None and not _same(claims.get("nonce"), nonce):
        raise _invalid("its nonce is not the one sent with this login")
    at_hash = claims.get("at_hash")
    if at_hash is not None and access_token is not None:  # noqa: SIM102
        if not _same(at_hash, _at_hash(access_token, alg)):
            raise _invalid("its at_hash does not match the access token")
    return claims


def _check_claims(
    claims: Mapping[str, Any], issuer: str, client_id: str, leeway: int, now: float
) -> None:
    if claims.get("iss") != issuer:
        raise _invalid(f"its issuer {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise _invalid(f"its audience does not include the client id {client_id!r}")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise _invalid(f"its authorized party (azp) is not the client id {client_id!r}")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not _is_number(exp):
        raise _invalid("it has no valid expiry (exp)")
    if now > exp + leeway:
        raise _invalid("it has expired", advice="check that this computer's clock is right")
    if not _is_number(iat):
        raise _invalid("it has no valid issue time (iat)")
    if nbf is not None and (not _is_number(nbf) or now + leeway < nbf):
        raise _invalid("it is not valid yet (nbf)", advice="check this computer's clock")


def _candidate_keys(keys: KeySet, kid: object, key_type: str) -> list[Key]:
    """Signing keys that may have made the signature: the one named `kid`, else by type."""
    usable = [k for k in keys if k.key_type == key_type and k.get("use") in (None, "sig")]
    if kid is not None:
        usable = [k for k in usable if k.kid == kid]
    if not usable:
        raise UnknownSigningKeyError(_message("it is signed with a key not in the provider's JWKS"))
    return usable


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError, AttributeError):
        header = None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise _invalid("it is not a signed JSON Web Token")
    return header


def _at_hash(access_token: str, alg: str) -> str:
    """Left half of the hash of the access token (OIDC Core 3.1.3.6), base64url."""
    name = "sha512" if alg.startswith("Ed") else _HASHES.get(alg[-3:], "sha256")
    digest = hashlib.new(name, access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode("ascii").rstrip("=")


def _message(check: str, advice: str = "log in again, and report it if this persists") -> str:
    return f"The ID token from the provider failed validation: {check}; {advice}."


def _invalid(check: str, *, advice: str | None = None) -> InvalidIDTokenError:
    return InvalidIDTokenError(_message(check, advice) if advice else _message(check))


def _token_error(status: int, error: str, description: object) -> LoginError:
    detail = safe_line(error)
    if isinstance(description, str) and description.strip():
        detail = f"{detail}: {safe_line(description)}"
    if error in _DENIED:
        return LoginDeniedError(
            f"The provider refused the login ({detail}); run the login again.",
            error=error,
            description=description if isinstance(description, str) else None,
        )
    return LoginError(
        f"The token endpoint answered HTTP {status} with an error ({detail}); "
        "run the login again, and check ANACONDA_AUTH_CLIENT_ID if it persists."
    )


async def _get_json(http: httpx.AsyncClient, url: str, *, what: str) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise _discovery_error(url, describe_network_error(exc), what=what) from None
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


def _same(value: object, expected: str) -> bool:
    """Constant-time comparison of a claim with the value we expect."""
    return isinstance(value, str) and hmac.compare_digest(value.encode(), expected.encode())


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
