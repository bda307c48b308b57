"""The storage rules shared with anaconda-auth and anaconda-cloud-auth (docs/storage.md)."""

from __future__ import annotations

import datetime as dt

import pytest

import anaconda_auth_async
from anaconda_auth_async import TokenInfo
from anaconda_auth_async.storage.entry_names import (
    EntryNames,
    entry_names,
    logged_out_elsewhere,
    login_entries,
    newest,
)
from anaconda_auth_async.storage.stored_token import RepoToken
from anaconda_auth_async.testing import MemoryTokenStore, make_api_key

DEFAULT = entry_names("id.anaconda.cloud", "anaconda.cloud")


def key(*, iat: float, exp: dt.timedelta = dt.timedelta(hours=1)) -> str:
    return make_api_key(exp=exp, claims={"iat": iat})


def test_default_site_reads_every_anaconda_name_and_writes_only_the_seeds() -> None:
    assert DEFAULT.read == ("id.anaconda.cloud", "anaconda.com", "anaconda.cloud")
    assert DEFAULT.write == ("id.anaconda.cloud",)
    assert DEFAULT.clear == ("anaconda.com", "anaconda.cloud")
    assert DEFAULT.primary == "id.anaconda.cloud"
    assert DEFAULT.family


def test_anaconda_com_site_is_the_same_family() -> None:
    names = entry_names("anaconda.com", "anaconda.com")
    assert names.read == ("anaconda.com", "id.anaconda.cloud", "anaconda.cloud")
    assert names.write == ("id.anaconda.cloud",)
    assert names.clear == ("anaconda.com", "anaconda.cloud")


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


def test_a_login_writes_one_anaconda_name_and_empties_the_others_keeping_repo_tokens() -> None:
    theirs = TokenInfo(
        domain="anaconda.com",
        api_key=key(iat=1),
        repo_tokens=(RepoToken(token="repo-secret", org_name="acme"),),
        extra={"version": 2},
    )
    seeds = TokenInfo(
        domain="id.anaconda.cloud",
        api_key=key(iat=0),
        username="old",
        repo_tokens=(RepoToken(token="seed-secret", org_name="acme"),),
        extra={"future": [1]},
    )
    legacy = TokenInfo(
        domain="anaconda.cloud",
        api_key=key(iat=0),
        repo_tokens=(RepoToken(token="other", org_name="beta"),),
    )
    found = {"anaconda.com": theirs, "id.anaconda.cloud": seeds, "anaconda.cloud": legacy}
    write = login_entries(DEFAULT, found, api_key="NEW", username=None, api_domain="anaconda.cloud")
    assert write.delete == ("anaconda.com", "anaconda.cloud")
    (entry,) = write.entries
    assert (entry.domain, entry.api_key, entry.username) == ("id.anaconda.cloud", "NEW", "old")
    # its own repo token wins for acme; the emptied names' others are carried over
    assert entry.repo_tokens == (seeds.repo_tokens[0], legacy.repo_tokens[0])
    assert entry.extra == {
        "future": [1],
        "version": 2,
        "api_domain": "anaconda.cloud",
        "stored_under": ["id.anaconda.cloud"],
    }


def test_a_login_with_nothing_stored_deletes_nothing() -> None:
    write = login_entries(DEFAULT, {}, api_key="NEW", username="alice")
    assert write.delete == ()
    assert [e.domain for e in write.entries] == ["id.anaconda.cloud"]


def test_another_providers_site_records_both_names_in_its_auth_domains_entry() -> None:
    names = entry_names("id.example.com", "example.com")
    write = login_entries(names, {}, api_key="NEW", username="alice", extra={"scopes": ["a"]})
    first, second = write.entries
    assert (first.domain, second.domain) == ("id.example.com", "example.com")
    assert first.extra["stored_under"] == ["id.example.com", "example.com"]
    assert "stored_under" not in second.extra
    assert first.extra["scopes"] == second.extra["scopes"] == ["a"]


def test_an_entry_whose_companion_name_is_gone_was_logged_out_elsewhere() -> None:
    names = entry_names("id.example.com", "example.com")
    ours = login_entries(names, {}, api_key=key(iat=1), username=None).entries
    both = {e.domain: e for e in ours}
    assert logged_out_elsewhere(names, both) == ()
    # anaconda-auth's logout deletes its `domain` (example.com): ours is logged out too
    assert logged_out_elsewhere(names, {"id.example.com": both["id.example.com"]}) == (
        "id.example.com",
    )
    # anaconda-auth logged in again there: a newer login, not a logout
    again = TokenInfo(domain="example.com", api_key=key(iat=2))
    found = {"id.example.com": both["id.example.com"], "example.com": again}
    assert logged_out_elsewhere(names, found) == ()


def test_only_our_own_old_two_name_logins_count_as_logged_out_when_one_name_goes() -> None:
    old_ours = TokenInfo(
        domain="id.anaconda.cloud",
        api_key=key(iat=1),
        extra={"version": 2, "api_domain": "anaconda.cloud"},
    )
    assert logged_out_elsewhere(DEFAULT, {"id.anaconda.cloud": old_ours}) == ("id.anaconda.cloud",)
    with_theirs = {"id.anaconda.cloud": old_ours, "anaconda.com": TokenInfo(domain="anaconda.com")}
    assert logged_out_elsewhere(DEFAULT, with_theirs) == ()
    seeds = TokenInfo(domain="id.anaconda.cloud", api_key=key(iat=1))  # anaconda-cloud-auth's
    assert logged_out_elsewhere(DEFAULT, {"id.anaconda.cloud": seeds}) == ()
    test_kit = TokenInfo(  # what FakePlatform.logged_in stores: no version field
        domain="id.anaconda.cloud", api_key=key(iat=1), extra={"api_domain": "anaconda.cloud"}
    )
    assert logged_out_elsewhere(DEFAULT, {"id.anaconda.cloud": test_kit}) == ()
    new_ours = login_entries(DEFAULT, {}, api_key=key(iat=1), username=None).entries[0]
    assert logged_out_elsewhere(DEFAULT, {"id.anaconda.cloud": new_ours}) == ()


@pytest.mark.anyio
async def test_a_logout_by_another_tool_is_a_logout_here_and_removes_our_entry() -> None:
    store = MemoryTokenStore()
    settings = anaconda_auth_async.AnacondaAuthSettings(
        auth_domain="id.example.com", api_domain="example.com"
    )
    names = entry_names("id.example.com", "example.com")
    await store.asave_login(names, api_key=make_api_key(), username="alice")
    assert store.domains == ["example.com", "id.example.com"]
    assert await anaconda_auth_async.is_logged_in(settings=settings, store=store)
    store.delete("example.com")  # what `anaconda auth logout` does at that site
    assert not await anaconda_auth_async.is_logged_in(settings=settings, store=store)
    assert store.domains == []


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
    from anaconda_auth_async.storage.entry_names import same_api

    assert same_api("anaconda.cloud", "anaconda.com")
    assert same_api("api.example.com", "api.example.com")
    assert not same_api("anaconda.cloud", "api.example.com")
    assert not same_api("api.example.com", "anaconda.com")
