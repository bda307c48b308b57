"""ID-token validation (OpenID Connect Core 3.1.3.7): signature, claims, nonce, at_hash.

`validate_id_token` is pure: a token, the provider's keys and what to expect in, the
claims out, or `InvalidIDTokenError` saying which check failed. `verify_id_token` runs it
against the provider's cached JWKS and refetches the JWKS once when the token names a key
it does not hold (key rotation). joserfc is imported only when a token is handled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from ..foundation.errors import InvalidIDTokenError
from ..foundation.jwt import unverified_jwt
from .provider import ProviderMetadata, fetch_jwks

if TYPE_CHECKING:
    import httpx
    from joserfc.jwk import Key, KeySet

__all__ = ["ID_TOKEN_LEEWAY", "UnknownSigningKeyError", "validate_id_token", "verify_id_token"]

logger = logging.getLogger(__name__)

ID_TOKEN_LEEWAY = 60
"""Seconds of clock difference the ``exp`` and ``nbf`` checks allow (``doctor`` warns near it)."""

# Public clients hold no shared secret, so only public-key signatures can be checked.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_HASHES = {"256": "sha256", "384": "sha384", "512": "sha512"}


class UnknownSigningKeyError(InvalidIDTokenError):
    """The ID token names a signing key that is not in the JWKS (refetch the JWKS once)."""


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


def validate_id_token(
    id_token: str,
    *,
    keys: KeySet,
    metadata: ProviderMetadata,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
    leeway: int = ID_TOKEN_LEEWAY,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the ID token's signature and claims (pure) and return its claims.

    Signature by a key of `keys` with an algorithm the provider advertises (public-key
    algorithms only, never ``none``); ``iss``; ``aud`` (and ``azp``); ``exp`` with
    `leeway` seconds; ``iat``; ``nonce`` when given; ``at_hash`` when present. Raises
    `InvalidIDTokenError` saying which check failed (`UnknownSigningKeyError` for a key
    that is not in `keys`).
    """
    from joserfc import jwt  # joserfc only when an ID token is checked
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
    decoded = unverified_jwt(token) if isinstance(token, str) else None
    if decoded is None:
        raise _invalid("it is not a signed JSON Web Token")
    return decoded[0]


def _at_hash(access_token: str, alg: str) -> str:
    """Left half of the hash of the access token (OIDC Core 3.1.3.6), base64url."""
    name = "sha512" if alg.startswith("Ed") else _HASHES.get(alg[-3:], "sha256")
    digest = hashlib.new(name, access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode("ascii").rstrip("=")


def _message(check: str, advice: str = "log in again, and report it if this persists") -> str:
    return f"The ID token from the provider failed validation: {check}; {advice}."


def _invalid(check: str, *, advice: str | None = None) -> InvalidIDTokenError:
    return InvalidIDTokenError(_message(check, advice) if advice else _message(check))


def _same(value: object, expected: str) -> bool:
    """Constant-time comparison of a claim with the value we expect."""
    return isinstance(value, str) and hmac.compare_digest(value.encode(), expected.encode())


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
