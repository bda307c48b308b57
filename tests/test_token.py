"""TokenInfo: expiry from the key, the seed's JSON form, fields kept across a rewrite,
and garbage that never crashes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anaconda_auth_async.foundation.jwt import jwt_expiry
from anaconda_auth_async.storage.stored_token import RepoToken, TokenInfo
from anaconda_auth_async.testing import make_api_key

DOMAIN = "id.anaconda.cloud"


def _jwt(payload: Any, header: Any = None) -> str:
    def part(value: Any) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part(header or {'alg': 'RS256'})}.{part(payload)}.c2lnbmF0dXJl"


# -- expiry ---------------------------------------------------------------------------


def test_expiry_comes_from_exp() -> None:
    token = TokenInfo(domain=DOMAIN, api_key=_jwt({"sub": "jane", "exp": 2_000_000_000}))
    assert token.expires_at == 2_000_000_000.0
    assert not token.expired or time.time() >= 2_000_000_000


def test_expired_and_unexpired_keys() -> None:
    assert TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=time.time() - 1)).expired
    assert not TokenInfo(domain=DOMAIN, api_key=make_api_key(exp=dt.timedelta(days=1))).expired
    assert TokenInfo(domain=DOMAIN, api_key=_jwt({"exp": 1.5})).expires_at == 1.5


def test_missing_key_is_expired() -> None:
    token = TokenInfo(domain=DOMAIN)
    assert token.expires_at is None
    assert token.expired


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("opaque-api-key", id="not-a-jwt"),
        pytest.param(_jwt({"sub": "jane"}), id="no-exp"),
        pytest.param(_jwt({"exp": "2030-01-01"}), id="exp-a-string"),
        pytest.param(_jwt({"exp": True}), id="exp-a-boolean"),
        pytest.param(_jwt({"exp": None}), id="exp-null"),
        pytest.param(_jwt(b'{"exp": 1e999}'), id="exp-infinite"),
        pytest.param(_jwt(b'{"exp": NaN}'), id="exp-nan"),
        pytest.param(_jwt(b'{"exp": 1' + b"0" * 400 + b"}"), id="exp-too-large"),
        pytest.param(_jwt([1, 2, 3]), id="payload-a-list"),
        pytest.param(_jwt(b"\xff\xfe not json"), id="payload-not-json"),
        pytest.param(_jwt(b"[" * 100_000), id="payload-nested-too-deep"),
        pytest.param("a.b\u00e9\u2603.c", id="payload-not-ascii"),
        pytest.param("a.!!!.c", id="payload-not-base64"),
        pytest.param("a.b.c.d", id="four-parts"),
        pytest.param("", id="empty"),
    ],
)
def test_key_without_a_usable_exp_has_no_expiry_and_is_not_expired(key: str) -> None:
    """Documented in _token.py: unknown expiry is never treated as expired locally."""
    assert jwt_expiry(key) is None
    token = TokenInfo(domain=DOMAIN, api_key=key)
    assert token.expires_at is None
    assert not token.expired


@settings(max_examples=300)
@given(st.text())
def test_any_string_as_a_key_never_crashes(key: str) -> None:
    expiry = jwt_expiry(key)
    assert expiry is None or isinstance(expiry, float)
    TokenInfo(domain=DOMAIN, api_key=key).expired  # noqa: B018


@settings(max_examples=300)
@given(st.one_of(st.text(), st.binary().map(lambda b: base64.b64encode(b).decode())))
def test_any_stored_value_decodes_or_raises_value_error(value: str) -> None:
    try:
        token = TokenInfo.decode(value, domain=DOMAIN)
    except ValueError:
        return
    assert isinstance(token, TokenInfo)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


FIELD_NAMES = st.sampled_from(["api_key", "username", "domain", "token"]) | st.text(max_size=10)
REPO_TOKEN_LIKE = st.lists(
    st.dictionaries(st.sampled_from(["token", "org_name", "other"]), st.text(max_size=5) | JSON),
    max_size=3,
)


@settings(max_examples=400)
@given(st.dictionaries(FIELD_NAMES, JSON, max_size=6), st.none() | REPO_TOKEN_LIKE | JSON)
def test_any_json_object_decodes_or_raises_value_error(data: dict[str, Any], repo: Any) -> None:
    if repo is not None:
        data["repo_tokens"] = repo
    value = base64.b64encode(json.dumps(data).encode()).decode()
    try:
        token = TokenInfo.decode(value, domain=DOMAIN)
    except ValueError:
        return
    # whatever was read is written back: nothing is dropped
    written = token.to_dict()
    kept = {k: v for k, v in data.items() if k != "repo_tokens"}
    if not kept.get("domain"):  # an empty or null domain becomes the entry's username
        kept.pop("domain", None)
        assert written["domain"] == DOMAIN
    assert written.items() >= kept.items()
    raw = data.get("repo_tokens")
    if token.repo_tokens:  # read as repo tokens: each written back with all its fields
        assert isinstance(raw, list)
        assert len(written["repo_tokens"]) == len(raw)
        assert all(w.items() >= r.items() for w, r in zip(written["repo_tokens"], raw, strict=True))
    elif raw is not None:  # not readable as repo tokens: kept verbatim
        assert written["repo_tokens"] == raw


def test_garbage_stored_values_raise_value_error() -> None:
    for value in ("!!!", "WzEsIDJd", base64.b64encode(b"[" * 100_000).decode()):
        with pytest.raises(ValueError):  # noqa: PT011 - the documented contract
            TokenInfo.decode(value)
    for field in ("api_key", "username", "domain"):
        raw = base64.b64encode(json.dumps({field: 12}).encode()).decode()
        with pytest.raises(ValueError, match=field):
            TokenInfo.decode(raw)


# -- the stored form ------------------------------------------------------------------


def test_encode_is_the_seeds_format() -> None:
    token = TokenInfo(
        domain=DOMAIN,
        api_key="key",
        username="jane",
        repo_tokens=(RepoToken(token="t", org_name="acme"),),
    )
    assert base64.b64decode(token.encode()) == (
        b'{"api_key": "key", "username": "jane", "repo_tokens": '
        b'[{"token": "t", "org_name": "acme"}], "domain": "id.anaconda.cloud"}'
    )


def test_decode_uses_the_given_domain_when_the_entry_has_none() -> None:
    value = base64.b64encode(b'{"api_key": "k"}').decode()
    assert TokenInfo.decode(value, domain=DOMAIN).domain == DOMAIN
    assert TokenInfo.decode(value).domain == ""


def test_unreadable_repo_tokens_are_kept_verbatim() -> None:
    odd = [{"token": "t", "org_name": "acme"}, {"no_token": True}, "junk"]
    value = base64.b64encode(json.dumps({"domain": DOMAIN, "repo_tokens": odd}).encode())
    token = TokenInfo.decode(value.decode())
    assert token.repo_tokens == ()
    assert token.to_dict()["repo_tokens"] == odd
    assert list(token.to_dict()) == ["api_key", "username", "repo_tokens", "domain"]


def test_repo_token_fields_are_kept() -> None:
    data = {"domain": DOMAIN, "repo_tokens": [{"token": "t", "org_name": None, "expires": 5}]}
    token = TokenInfo.from_dict(data)
    assert token.repo_tokens[0].extra == {"expires": 5}
    assert token.to_dict()["repo_tokens"] == [{"token": "t", "org_name": None, "expires": 5}]


def test_secrets_stay_out_of_repr() -> None:
    token = TokenInfo(
        domain=DOMAIN,
        api_key="sk-secret-key",
        repo_tokens=(RepoToken(token="repo-secret", org_name="acme"),),
    )
    assert "sk-secret-key" not in repr(token)
    assert "sk-secret-key" not in str(token)
    assert "repo-secret" not in repr(token)
    assert "acme" in repr(token)


KEYS = st.text(max_size=12).filter(
    lambda k: k not in {"api_key", "username", "repo_tokens", "domain"}
)
OPTIONAL_TEXT = st.none() | st.text(max_size=20)


@settings(max_examples=300)
@given(
    domain=st.text(min_size=1, max_size=30),
    api_key=OPTIONAL_TEXT,
    username=OPTIONAL_TEXT,
    repo_tokens=st.lists(
        st.builds(
            RepoToken,
            token=st.text(max_size=20),
            org_name=OPTIONAL_TEXT,
            extra=st.dictionaries(
                KEYS.filter(lambda k: k not in {"token", "org_name"}), JSON, max_size=3
            ),
        ),
        max_size=3,
    ),
    extra=st.dictionaries(KEYS, JSON, max_size=5),
)
def test_encode_decode_round_trips_every_field(
    domain: str,
    api_key: str | None,
    username: str | None,
    repo_tokens: list[RepoToken],
    extra: dict[str, Any],
) -> None:
    token = TokenInfo(
        domain=domain,
        api_key=api_key,
        username=username,
        repo_tokens=tuple(repo_tokens),
        extra=extra,
    )
    again = TokenInfo.decode(token.encode())
    assert again == token
    assert again.extra == extra
    assert [t.extra for t in again.repo_tokens] == [t.extra for t in repo_tokens]
    assert again.to_dict() == token.to_dict()
    assert again.encode() == token.encode()


def test_a_rejection_mark_matches_only_the_key_it_was_made_for() -> None:
    key, other = make_api_key(sub="a"), make_api_key(sub="b")
    marked = TokenInfo(domain="id.example.test", api_key=key, extra={"x": 1}).with_rejection(5.0)
    assert marked.rejected
    assert marked.rejected_at == 5.0
    assert marked.extra["x"] == 1
    assert key not in json.dumps(marked.extra)  # a fingerprint, not the key
    again = TokenInfo.decode(marked.encode())
    assert again.rejected
    # another tool stores a new key and keeps our unknown fields: it is not rejected
    replaced = TokenInfo(domain=marked.domain, api_key=other, extra=marked.extra)
    assert not replaced.rejected
    assert replaced.rejected_at is None


def test_unverified_jwt_gives_header_and_claims_or_none() -> None:
    from anaconda_auth_async.foundation.jwt import unverified_jwt

    key = make_api_key(claims={"sub": "jane"})
    header, claims = unverified_jwt(key) or ({}, {})
    assert header["alg"] == "RS256"
    assert claims["sub"] == "jane"
    payload = key.split(".")[1]
    for bad in ("a.b.c", f"e30.{payload}", f"{payload}.W10.sig", "x", f"e30.{payload}.c.d"):
        assert unverified_jwt(bad) is None, bad  # e30 is {}: a header needs no fields
    assert unverified_jwt(f"e30.{payload}.")  # decoding checks no signature


def test_one_jwt_decoder_in_the_package() -> None:
    # foundation/jwt.py (unverified_jwt) is the only place a JWT's parts are base64url-decoded.
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "anaconda_auth_async"
    decoding = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "urlsafe_b64decode" in path.read_text(encoding="utf-8")
    )
    assert decoding == ["foundation/jwt.py"]
