"""TransportConfig: one SSL context per distinct settings, shared by every client; CA
bundles, truststore, client certificates, proxies and timeouts."""

from __future__ import annotations

import ssl
import sys
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest
from certificates import self_signed

from anaconda_auth_async import AnacondaAuthSettings, ConfigurationError
from anaconda_auth_async.api_client.clients import AsyncAuthClient, BaseClient
from anaconda_auth_async.network.transport import (
    TransportConfig,
    async_http_client,
    build_ssl_context,
    transport_config,
)


def pool_context(client: httpx.Client | httpx.AsyncClient) -> ssl.SSLContext:
    """The SSL context the client's connection pool will use for every connection."""
    context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


def test_equal_settings_share_one_config_and_context() -> None:
    first = transport_config(AnacondaAuthSettings())
    second = transport_config(AnacondaAuthSettings())
    assert first is second
    assert isinstance(first.verify, ssl.SSLContext)
    assert first.verify.verify_mode == ssl.CERT_REQUIRED
    assert first.verify.check_hostname


def test_different_settings_get_different_configs() -> None:
    base = transport_config(AnacondaAuthSettings())
    slower = transport_config(AnacondaAuthSettings(timeout=99))
    assert slower is not base
    assert slower.timeout == httpx.Timeout(99)
    # the extra headers are not part of the transport: same config
    assert transport_config(AnacondaAuthSettings(extra_headers={"X": "1"})) is base


def test_ssl_cert_file_is_honoured_and_keys_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = transport_config(AnacondaAuthSettings())
    ca, _ = self_signed(tmp_path, "envca", ca=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    config = transport_config(AnacondaAuthSettings())
    assert config is not base
    assert isinstance(config.verify, ssl.SSLContext)
    subjects = [dict(x[0] for x in c["subject"]) for c in config.verify.get_ca_certs()]
    assert {"commonName": "envca"} in subjects


def test_every_client_and_the_login_client_share_the_context() -> None:
    settings = AnacondaAuthSettings()
    shared = transport_config(settings).verify
    with BaseClient(settings=settings) as sync_client:
        assert pool_context(sync_client) is shared
    with BaseClient() as other:  # settings read afresh, equal values
        assert pool_context(other) is shared
    client = AsyncAuthClient()
    assert pool_context(client) is shared
    login_client = async_http_client(settings)
    assert pool_context(login_client) is shared
    assert login_client.headers["User-Agent"].startswith("anaconda-auth-async/")
    assert "Authorization" not in login_client.headers


def test_async_http_client_overrides_win() -> None:
    client = async_http_client(AnacondaAuthSettings(), timeout=3.0, follow_redirects=True)
    assert client.timeout == httpx.Timeout(3.0)
    assert client.follow_redirects


def test_ssl_verify_false_disables_verification() -> None:
    config = transport_config(AnacondaAuthSettings(ssl_verify=False))
    assert isinstance(config.verify, ssl.SSLContext)
    assert config.verify.verify_mode == ssl.CERT_NONE
    assert not config.verify.check_hostname


def test_ca_bundle_path_is_loaded(tmp_path: Path) -> None:
    ca, _ = self_signed(tmp_path, "corpca", ca=True)
    config = transport_config(AnacondaAuthSettings(ssl_verify=str(ca)))
    assert isinstance(config.verify, ssl.SSLContext)
    subjects = [dict(x[0] for x in c["subject"]) for c in config.verify.get_ca_certs()]
    assert subjects == [{"commonName": "corpca"}]


def test_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    bundle = tmp_path / "not-a-bundle.pem"
    bundle.write_text("this is not PEM")
    with pytest.raises(ConfigurationError, match=r"CA bundle .*not-a-bundle\.pem"):
        transport_config(AnacondaAuthSettings(ssl_verify=str(bundle)))


def test_truststore_context() -> None:
    truststore = pytest.importorskip("truststore")
    config = transport_config(AnacondaAuthSettings(ssl_verify="truststore"))
    assert isinstance(config.verify, truststore.SSLContext)


def test_missing_truststore_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "truststore", None)
    with pytest.raises(ConfigurationError, match=r"anaconda-auth-async\[truststore\]"):
        build_ssl_context("truststore")


def test_client_certificate_is_loaded_once_into_the_shared_context(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "me", ca=True)
    settings = AnacondaAuthSettings(client_cert=str(cert), client_cert_key=str(key))
    config = transport_config(settings)
    assert config.cert == (str(cert), str(key))
    assert "cert" not in config.client_kwargs()  # in the context, not handed to httpx
    with BaseClient(settings=settings) as client:
        assert pool_context(client) is config.verify


def test_combined_cert_and_key_file(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "both", ca=True)
    combined = tmp_path / "combined.pem"
    combined.write_bytes(key.read_bytes() + cert.read_bytes())
    config = transport_config(AnacondaAuthSettings(client_cert=str(combined)))
    assert config.cert == str(combined)


def test_encrypted_client_key_fails_without_prompting(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "locked", ca=True, password=b"secret-pass")
    settings = AnacondaAuthSettings(client_cert=str(cert), client_cert_key=str(key))
    with pytest.raises(ConfigurationError, match="unencrypted key") as caught:
        transport_config(settings)
    assert "secret-pass" not in str(caught.value)


def test_key_without_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    _, key = self_signed(tmp_path, "orphan", ca=True)
    with pytest.raises(ConfigurationError, match="client_cert"):
        transport_config(AnacondaAuthSettings(client_cert_key=str(key)))


def test_client_cert_option_does_not_touch_the_shared_context(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "own", ca=True)
    shared = transport_config(AnacondaAuthSettings()).verify
    # httpx 0.28 deprecates cert= (still honoured); older httpx takes it silently.
    deprecated = tuple(int(part) for part in httpx.__version__.split(".")[:2]) >= (0, 28)
    warns = pytest.warns(DeprecationWarning, match="cert") if deprecated else nullcontext()
    with warns, BaseClient(cert=(str(cert), str(key))) as client:
        assert pool_context(client) is not shared


def test_proxy_setting_reaches_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_AUTH_PROXY", "http://127.0.0.1:3128")
    settings = AnacondaAuthSettings()
    assert transport_config(settings).client_kwargs()["proxy"] == "http://127.0.0.1:3128"
    for client in (BaseClient(), AsyncAuthClient(), async_http_client(settings)):
        patterns = {p.pattern: t for p, t in client._mounts.items()}
        assert set(patterns) == {"all://"}
        proxy = patterns["all://"]._pool  # type: ignore[union-attr]
        assert proxy._proxy_url.host == b"127.0.0.1"


def test_environment_proxies_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3129")
    with BaseClient() as client:
        assert "https://" in {p.pattern for p in client._mounts}


def test_client_kwargs_is_a_fresh_dict() -> None:
    config = transport_config(AnacondaAuthSettings())
    kwargs = config.client_kwargs()
    kwargs["timeout"] = None
    assert config.client_kwargs()["timeout"] == httpx.Timeout(30.0)
    assert isinstance(config, TransportConfig)
