"""The harness itself, driven with plain httpx: proves the provider, the API emulator and
the scripted browser work before (and independently of) the SDK.

authorize → dev login form → consent → redirect with code → token exchange with PKCE →
ID token (RS256, checked against the JWKS) → JWT access token → API key → account; the
device flow; refresh; the denial path; the emulator's controls and request log.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import socket
import threading
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from conftest import E2E
from e2e_harness import E2EServer, free_port
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

pytestmark = pytest.mark.e2e

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# --------------------------------------------------------------------------------------
# A minimal loopback redirect listener, standing in for the SDK's.


@dataclass
class Callback:
    """Query parameters of the redirects the listener received."""

    params: list[dict[str, str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@contextmanager
def loopback_listener(port: int, *, success_url: str, error_url: str) -> Iterator[Callback]:
    """Serve /auth/oidc on 127.0.0.1:port: record the query, redirect like the SDK does."""
    callback = Callback()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/auth/oidc":
                self.send_error(404)
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            callback.params.append(query)
            callback.arrived.set()
            self.send_response(302)
            self.send_header("Location", error_url if "error" in query else success_url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield callback
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def discovery(server: E2EServer) -> dict[str, Any]:
    with server.client() as http:
        doc: dict[str, Any] = http.get(f"{server.issuer}/.well-known/openid-configuration").json()
    return doc


def authorize_url(
    server: E2EServer, redirect_uri: str, *, challenge: str | None, state: str, nonce: str
) -> str:
    params = {
        "client_id": server.client_id,
        "response_type": "code",
        "scope": "openid email profile offline_access",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{discovery(server)['authorization_endpoint']}?{urlencode(params)}"


def browser_login(
    e2e: E2E, *, mode: str = "approve"
) -> tuple[dict[str, str], str, str, dict[str, Any]]:
    """Authorize through the scripted browser; the callback's query, verifier, nonce, record."""
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/auth/oidc"
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url = authorize_url(e2e.server, redirect_uri, challenge=challenge, state=state, nonce=nonce)
    api = e2e.server.api_origin
    with loopback_listener(
        port, success_url=f"{api}/local-login-success", error_url=f"{api}/local-login-error"
    ) as callback:
        record = e2e.run_browser(url, mode=mode)
    assert record["error"] is None, record
    assert len(callback.params) == 1, record
    query = callback.params[0]
    assert query["state"] == state
    assert query["iss"] == e2e.server.issuer  # RFC 9207
    return query | {"redirect_uri": redirect_uri}, verifier, nonce, record


def exchange_code(server: E2EServer, query: dict[str, str], verifier: str) -> httpx.Response:
    with server.client() as http:
        return http.post(
            discovery(server)["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": query["redirect_uri"],
                "client_id": server.client_id,
                "code_verifier": verifier,
            },
        )


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def provider_keys(server: E2EServer) -> KeySet:
    with server.client() as http:
        keys: KeySet = KeySet.import_key_set(http.get(discovery(server)["jwks_uri"]).json())
    return keys


# --------------------------------------------------------------------------------------
# Discovery and process hygiene.


def test_discovery_names_the_issuer_and_the_features_the_sdk_needs(e2e_server: E2EServer) -> None:
    doc = discovery(e2e_server)
    assert doc["issuer"] == f"https://127.0.0.1:{e2e_server.auth_port}"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["device_authorization_endpoint"].startswith(e2e_server.issuer)
    assert {"authorization_code", "refresh_token", DEVICE_GRANT} <= set(
        doc["grant_types_supported"]
    )
    assert doc["response_types_supported"] == ["code"]


def test_servers_listen_on_loopback_only_with_the_run_ca(e2e_server: E2EServer) -> None:
    assert e2e_server.process.poll() is None
    for port in (e2e_server.auth_port, e2e_server.api_port):
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    # Default trust does not know this run's CA.
    with (
        httpx.Client(timeout=5) as http,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        http.get(f"{e2e_server.issuer}/.well-known/openid-configuration")


# --------------------------------------------------------------------------------------
# Authorization code + PKCE through the scripted browser.


def test_browser_login_code_exchange_id_token_and_api_key(e2e: E2E) -> None:
    server = e2e.server
    query, verifier, nonce, record = browser_login(e2e)
    assert record["actions"] == ["login as ada", "grant consent"]
    assert record["final_url"] == f"{server.api_origin}/local-login-success"
    assert record["final_title"] == "Login successful"

    response = exchange_code(server, query, verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]

    keys = provider_keys(server)
    id_token = jwt.decode(tokens["id_token"], keys)
    assert id_token.header["alg"] == "RS256"
    claims = id_token.claims
    assert claims["iss"] == server.issuer
    assert claims["aud"] == server.client_id
    assert claims["nonce"] == nonce
    # oidc-provider puts at_hash only in ID tokens from the authorization endpoint (hybrid
    # flows); OIDC Core 3.1.3.6 makes it optional here, so the SDK must accept its absence.
    assert "at_hash" not in claims
    assert claims["sub"] == "ada"
    assert claims["email"] == "ada@example.com"
    assert claims["exp"] > time.time()

    access = jwt.decode(tokens["access_token"], keys)
    assert access.header["typ"] == "at+jwt"
    assert access.claims["iss"] == server.issuer
    assert access.claims["aud"] == f"{server.api_origin}/"
    assert access.claims["exp"] - access.claims["iat"] == server.access_token_ttl
    assert tokens["expires_in"] <= server.access_token_ttl

    with server.client() as http:
        created = http.post(
            f"{server.api_origin}/api/iam/api-keys",
            json={"scopes": ["cloud:read", "cloud:write"], "tags": ["e2e-smoke"]},
            headers={"Authorization": f"Bearer {tokens['access_token']}", "User-Agent": "smoke/1"},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert set(body) == {"api_key", "expires_at", "id"}
        key_claims = unverified_claims(body["api_key"])
        assert 360 * 86400 < key_claims["exp"] - time.time() < 366 * 86400

        account = http.get(
            f"{server.api_origin}/api/account",
            headers={"Authorization": f"Bearer {body['api_key']}", "Api-Version": "2024.01.01"},
        )
    assert account.status_code == 200
    assert account.json()["user"] == {
        "id": account.json()["user"]["id"],
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    log = server.requests()
    paths = [(e["method"], e["path"]) for e in log]
    assert ("POST", "/api/iam/api-keys") in paths
    assert ("GET", "/api/account") in paths
    account_entry = next(e for e in log if e["path"] == "/api/account")
    assert account_entry["headers"]["api-version"] == "2024.01.01"
    assert server.keys()[-1]["tags"] == ["e2e-smoke"]


def test_code_exchange_needs_the_right_pkce_verifier(e2e: E2E) -> None:
    query, _verifier, _nonce, _record = browser_login(e2e)
    response = exchange_code(e2e.server, query, pkce_pair()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_authorize_without_pkce_is_refused(e2e: E2E) -> None:
    url = authorize_url(e2e.server, e2e.redirect_uri, challenge=None, state="s", nonce="n")
    with e2e.server.client() as http:
        response = http.get(url)
    # The error goes back to the (valid) redirect URI.
    assert response.status_code in (302, 303)
    params = parse_qs(urlsplit(response.headers["location"]).query)
    assert params["error"] == ["invalid_request"]
    assert "PKCE" in params["error_description"][0]


def test_any_loopback_port_is_accepted_but_not_another_host(e2e: E2E) -> None:
    _verifier, challenge = pkce_pair()
    with e2e.server.client() as http:
        for port in (free_port(), free_port()):
            ok = http.get(
                authorize_url(
                    e2e.server,
                    f"http://127.0.0.1:{port}/auth/oidc",
                    challenge=challenge,
                    state="s",
                    nonce="n",
                )
            )
            assert ok.status_code == 303, ok.text
            assert "/interaction/" in ok.headers["location"]
        bad = http.get(
            authorize_url(
                e2e.server,
                "http://evil.example:8000/auth/oidc",
                challenge=challenge,
                state="s",
                nonce="n",
            )
        )
    assert bad.status_code == 400
    assert "redirect_uri" in bad.text


def test_denied_consent_redirects_with_access_denied(e2e: E2E) -> None:
    query, _verifier, _nonce, record = browser_login(e2e, mode="deny")
    assert query["error"] == "access_denied"
    assert "code" not in query
    assert record["actions"] == ["login as ada", "deny consent"]
    assert record["final_url"] == f"{e2e.server.api_origin}/local-login-error"


def test_refresh_token_grant(e2e: E2E) -> None:
    query, verifier, _nonce, _record = browser_login(e2e)
    tokens = exchange_code(e2e.server, query, verifier).json()
    with e2e.server.client() as http:
        response = http.post(
            discovery(e2e.server)["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": e2e.server.client_id,
            },
        )
    assert response.status_code == 200, response.text
    assert response.json()["access_token"] != tokens["access_token"]


# --------------------------------------------------------------------------------------
# Device authorization grant.


def start_device_flow(server: E2EServer) -> dict[str, Any]:
    with server.client() as http:
        response = http.post(
            discovery(server)["device_authorization_endpoint"],
            data={"client_id": server.client_id, "scope": "openid email profile offline_access"},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def device_token(server: E2EServer, device_code: str) -> dict[str, Any]:
    with server.client() as http:
        response = http.post(
            discovery(server)["token_endpoint"],
            data={
                "grant_type": DEVICE_GRANT,
                "device_code": device_code,
                "client_id": server.client_id,
            },
        )
    body: dict[str, Any] = response.json()
    assert (response.status_code == 200) == ("access_token" in body), body
    return body


def poll_device_token(server: E2EServer, device_code: str, *, interval: float) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = device_token(server, device_code)
        if body.get("error") != "authorization_pending":
            return body
        time.sleep(interval)
    raise AssertionError("the device code was not approved in 30 s")


def test_device_flow_with_the_user_code_typed_in(e2e: E2E) -> None:
    started = start_device_flow(e2e.server)
    assert started["interval"] == 1
    assert started["verification_uri"].startswith(e2e.server.issuer)
    pending = device_token(e2e.server, started["device_code"])
    assert pending["error"] == "authorization_pending"

    record = e2e.run_browser(
        started["verification_uri"], mode="device", user_code=started["user_code"]
    )
    assert record["error"] is None, record
    assert record["actions"][:2] == ["enter the user code", "confirm the device"]
    assert "login as ada" in record["actions"]
    assert record["final_title"] == "Sign-in Success"

    tokens = poll_device_token(e2e.server, started["device_code"], interval=started["interval"])
    assert "access_token" in tokens, tokens
    claims = jwt.decode(tokens["id_token"], provider_keys(e2e.server)).claims
    assert claims["sub"] == "ada"
    assert claims["aud"] == e2e.server.client_id


def test_device_flow_with_the_complete_uri_and_abort(e2e: E2E) -> None:
    started = start_device_flow(e2e.server)
    record = e2e.run_browser(started["verification_uri_complete"], mode="device-deny")
    assert record["error"] is None, record
    assert record["actions"] == ["submit the auto-submitting form", "abort the device login"]
    tokens = poll_device_token(e2e.server, started["device_code"], interval=started["interval"])
    assert tokens["error"] == "access_denied"


# --------------------------------------------------------------------------------------
# The API emulator's checks and controls.


def test_api_key_exchange_rejects_what_the_provider_did_not_sign(e2e: E2E) -> None:
    forged = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt"},
        {
            "iss": e2e.server.issuer,
            "aud": f"{e2e.server.api_origin}/",
            "sub": "ada",
            "exp": int(time.time()) + 60,
        },
        ECKey.generate_key("P-256"),
    )
    with e2e.server.client() as http:
        for headers in (
            {},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": f"Bearer {forged}"},
        ):
            response = http.post(
                f"{e2e.server.api_origin}/api/iam/api-keys", json={}, headers=headers
            )
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "auth_required"


def test_account_rejects_missing_unknown_revoked_and_expired_keys(e2e: E2E) -> None:
    server = e2e.server
    good = server.mint_key(sub="grace")["api_key"]
    revoked = server.mint_key()["api_key"]
    server.revoke(revoked)
    expired = server.mint_key(expires_in=-3600)["api_key"]
    url = f"{server.api_origin}/api/account"
    with server.client() as http:
        assert (
            http.get(url, headers={"Authorization": f"Bearer {good}"}).json()["user"]["first_name"]
            == "Grace"
        )
        for headers in (
            {},
            {"Authorization": "Bearer unknown"},
            {"Authorization": f"Bearer {revoked}"},
            {"Authorization": f"Bearer {expired}"},
        ):
            response = http.get(url, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "auth_required"


def test_request_log_records_headers_and_min_api_version_control(e2e: E2E) -> None:
    server = e2e.server
    server.set_min_api_version("2025.01.01")
    try:
        with server.client() as http:
            response = http.get(
                f"{server.api_origin}/api/account",
                headers={"User-Agent": "probe/9", "X-Extra": "yes"},
            )
        assert response.headers["min-api-version"] == "2025.01.01"
    finally:
        server.set_min_api_version(None)
    (entry,) = server.requests()
    assert entry["headers"]["user-agent"] == "probe/9"
    assert entry["headers"]["x-extra"] == "yes"
    server.clear_requests()
    assert server.requests() == []


def test_login_pages_exist(e2e: E2E) -> None:
    with e2e.server.client() as http:
        ok = http.get(f"{e2e.server.api_origin}/local-login-success")
        bad = http.get(f"{e2e.server.api_origin}/local-login-error")
    assert ok.status_code == bad.status_code == 200
    assert "Login successful" in ok.text
    assert "Login failed" in bad.text


# --------------------------------------------------------------------------------------
# The scripted browser through Python's webbrowser module and BROWSER.


def test_webbrowser_open_runs_the_scripted_browser_in_the_background(e2e: E2E) -> None:
    port = int(urlsplit(e2e.redirect_uri).port or 0)
    _verifier, challenge = pkce_pair()
    url = authorize_url(e2e.server, e2e.redirect_uri, challenge=challenge, state="st", nonce="n")
    api = e2e.server.api_origin
    with loopback_listener(
        port, success_url=f"{api}/local-login-success", error_url=f"{api}/local-login-error"
    ) as callback:
        assert webbrowser.open(url) is True  # returns once the browser is launched
        assert callback.arrived.wait(30), e2e.wait_for_browser()
        (record,) = e2e.wait_for_browser()
    assert record["error"] is None, record
    assert record["final_title"] == "Login successful"
    assert callback.params[0]["state"] == "st"
