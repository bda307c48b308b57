"""The storage rules shared with anaconda-auth and anaconda-cloud-auth (docs/storage.md)."""

from __future__ import annotations

import datetime as dt

import pytest

import anaconda_auth_async
from anaconda_auth_async import TokenInfo
from anaconda_auth_async._sharing import EntryNames, entry_names, login_entries, newest
from anaconda_auth_async._token import RepoToken
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

DEFAULT = entry_names("id.anaconda.cloud", "anaconda.cloud")


def key(*, iat: float, exp: dt.timedelta = dt.timedelta(hours=1)) -> str:
    return make_api_key(exp=exp, claims={"iat": iat})


def test_default_site_reads_every_anaconda_name_and_writes_both_tools_names() -> None:
    assert DEFAULT.read == ("id.anaconda.cloud", "anaconda.com", "anaconda.cloud")
    assert DEFAULT.write == ("id.anaconda.cloud", "anaconda.com")
    assert DEFAULT.primary == "id.anaconda.cloud"


def test_anaconda_com_site_is_the_same_family() -> None:
    names = entry_names("anaconda.com", "anaconda.com")
    assert names.read == ("anaconda.com", "id.anaconda.cloud", "anaconda.cloud")
    assert names.write == ("anaconda.com", "id.anaconda.cloud")


@pytest.mark.parametrize(
    ("auth", "api", "expected"),
    [
        ("id.example.com", "example.com", ("id.example.com", "example.com")),
        ("example.com", "example.com", ("example.com",)),
        ("auth.example.com", "anaconda.cloud", ("auth.example.com",)),
    ],
)
def test_other_sites_use_their_auth_and_api_domains(
    auth: str, api: str, expected: tuple[str, ...]
) -> None:
    assert entry_names(auth, api) == EntryNames(read=expected, write=expected)


def test_newest_prefers_unexpired_then_latest_iat_then_read_order() -> None:
    old = TokenInfo(domain="id.anaconda.cloud", api_key=key(iat=100))
    new = TokenInfo(domain="anaconda.com", api_key=key(iat=200))
    expired = TokenInfo(domain="anaconda.cloud", api_key=key(iat=300, exp=dt.timedelta(hours=-1)))
    assert newest([old, new, expired]) is new
    assert newest([expired]) is expired
    twin = TokenInfo(domain="anaconda.com", api_key=key(iat=100))
    assert newest([old, twin]) is old
    opaque = TokenInfo(domain="anaconda.com", api_key="not-a-jwt")
    assert newest([opaque, old]) is old
    keyless = TokenInfo(domain="anaconda.com")
    assert newest([keyless, old]) is old
    assert newest([keyless]) is keyless
    assert newest([]) is None


def test_login_entries_keep_each_names_repo_tokens_and_unknown_fields() -> None:
    theirs = TokenInfo(
        domain="anaconda.com",
        api_key=key(iat=1),
        repo_tokens=(RepoToken(token="repo-secret", org_name="acme"),),
        extra={"version": 2, "future": [1]},
    )
    legacy = TokenInfo(domain="anaconda.cloud", api_key=key(iat=0), username="old")
    found = {"anaconda.com": theirs, "anaconda.cloud": legacy}
    entries = login_entries(DEFAULT, found, api_key="NEW", username=None)
    by_name = {e.domain: e for e in entries}
    assert list(by_name) == ["id.anaconda.cloud", "anaconda.com", "anaconda.cloud"]
    assert {e.api_key for e in entries} == {"NEW"}
    assert by_name["anaconda.com"].repo_tokens == theirs.repo_tokens
    assert by_name["anaconda.com"].extra == {"version": 2, "future": [1]}
    # a new name starts from the entry in use (the newest)
    assert by_name["id.anaconda.cloud"].repo_tokens == theirs.repo_tokens
    assert by_name["anaconda.cloud"].username == "old"
    assert all(e.extra["version"] == 2 for e in entries)


@pytest.mark.anyio
async def test_a_key_stored_by_anaconda_auth_is_used_and_logout_removes_every_name() -> None:
    theirs = make_api_key()
    store = MemoryTokenStore(
        {
            "a": TokenInfo(domain="anaconda.com", api_key=theirs, extra={"version": 2}),
            "b": TokenInfo(domain="anaconda.cloud", api_key=make_api_key()),
            "c": TokenInfo(domain="elsewhere.example", api_key=make_api_key()),
        }
    )
    assert await anaconda_auth_async.is_logged_in(store=store)
    assert await anaconda_auth_async.logout(store=store) is True
    assert store.domains == ["elsewhere.example"]
    assert not await anaconda_auth_async.is_logged_in(store=store)
    assert await anaconda_auth_async.logout(store=store) is False


def test_a_key_of_anaconda_s_family_goes_to_either_anaconda_api() -> None:
    from anaconda_auth_async._sharing import same_api

    assert same_api("anaconda.cloud", "anaconda.com")
    assert same_api("api.example.com", "api.example.com")
    assert not same_api("anaconda.cloud", "api.example.com")
    assert not same_api("api.example.com", "anaconda.com")
