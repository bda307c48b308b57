"""The ``anaconda_cloud`` Panel login handler (the class the ``panel.auth`` entry point names).

The endpoints come from the provider's discovery document (loaded with the SDK's transport
settings on the first login request, cached per process), and the token and user-info
requests Panel sends go through a client with the SDK's TLS context (``ssl_verify``, client
certificate), so a private CA works for them as for every other request of the SDK. Why a
module apart from `anaconda_auth_async.panel`: docs/decisions.md, "The Panel handler lives
in a module of its own".
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from panel.auth import CodeChallengeLoginHandler, OAuthLoginHandler
from panel.config import config
from tornado.web import HTTPError

from ..settings.fields import AnacondaAuthSettings, resolve_settings

if TYPE_CHECKING:
    from tornado.httpclient import AsyncHTTPClient

    from ..logins.provider import ProviderMetadata

__all__ = ["AnacondaCloudLoginHandler"]

logger = logging.getLogger(__name__)


def panel_settings() -> AnacondaAuthSettings:
    """The settings, with Panel's ``--oauth-extra-params "{'auth-domain': ...}"`` applied."""
    extra = config.oauth_extra_params or {}
    domain = extra.get("auth-domain")
    return resolve_settings(None, auth_domain=str(domain) if domain else None)


class AnacondaCloudLoginHandler(CodeChallengeLoginHandler):  # type: ignore[misc,unused-ignore]
    """Panel login handler for Anaconda's cloud (OpenID Connect authorization code).

    With ``--oauth-secret`` it logs in as a confidential client (the secret in the token
    request, as anaconda-cloud-auth's handler did); without one, as a public client with
    PKCE (S256). The user is the ID token's ``email``, taken only from an ID token that
    the SDK's own validator accepts (as for a login: its signature by a key of the
    provider's JWKS, ``iss``, ``aud``, ``exp``, and the ``nonce`` this handler sent), and
    only when the provider says the address is verified (``email_verified``); anything else
    answers 401. The OAuth client at the provider
    needs the scopes ``openid email profile offline_access`` and the Panel app's ``/login``
    URL (``--oauth-redirect-uri``) as a redirect URI.
    """

    _access_token_header = "Bearer {}"
    _EXTRA_TOKEN_PARAMS = {"grant_type": "authorization_code"}
    _USER_KEY = "email"
    _OAUTH_REDIRECT_URL = "http://localhost:5006"
    _NONCE_COOKIE = "anaconda-oauth-nonce"  # the nonce sent with a login, for its ID token

    _metadata: ProviderMetadata | None = None
    _http: dict[int, AsyncHTTPClient] = {}

    async def get(self) -> None:
        """Load the provider's endpoints, then run Panel's login step for this request."""
        await self._discover()
        if config.oauth_secret:
            await OAuthLoginHandler.get(self)  # type: ignore[no-untyped-call]
        else:
            await super().get()  # type: ignore[no-untyped-call]

    async def _discover(self) -> ProviderMetadata:
        from ..logins.provider import discover  # the HTTP stack only when Panel serves a login
        from ..network.transport import async_http_client

        settings = panel_settings()
        async with async_http_client(settings) as http:
            metadata = await discover(http, settings)  # cached per URL after the first
        self._metadata = metadata
        return metadata

    def _endpoint(self, name: str) -> str:
        metadata = self._metadata
        if metadata is None:
            raise RuntimeError("the provider's endpoints are read in get(); none loaded yet")
        value = metadata.raw.get(name)
        return value if isinstance(value, str) else ""

    @property
    def _OAUTH_AUTHORIZE_URL(self) -> str:
        return self._endpoint("authorization_endpoint")

    @property
    def _OAUTH_ACCESS_TOKEN_URL(self) -> str:
        return self._endpoint("token_endpoint")

    @property
    def _OAUTH_USER_URL(self) -> str:
        return self._endpoint("userinfo_endpoint")

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Tornado's redirect; the one to the provider's login page carries a fresh
        ``nonce`` (kept in a secure cookie), checked later in the ID token."""
        endpoint = self._endpoint("authorization_endpoint") if self._metadata else ""
        if endpoint and url.startswith(f"{endpoint}?"):
            nonce = secrets.token_urlsafe(24)
            self.set_secure_cookie(
                self._NONCE_COOKIE, nonce, httponly=True, path=config.cookie_path
            )
            url = f"{url}&{urlencode({'nonce': nonce})}"
        super().redirect(url, permanent, status)

    async def verify_token_response(self, body: bytes, form: str = "") -> None:
        """Check the ID token of the provider's token answer before Panel reads the user
        from it; raise tornado's ``HTTPError(401)`` saying why when it does not pass.

        A refresh (``grant_type=refresh_token`` in `form`) is not checked: Panel does not
        read the user from its answer.
        """
        from ..foundation.errors import InvalidIDTokenError
        from ..foundation.safe_text import json_object
        from ..logins.id_token import verify_id_token  # joserfc only when Panel logs someone in
        from ..network.transport import async_http_client

        if parse_qs(form).get("grant_type") == ["refresh_token"]:
            return
        data = json_object(body) or {}
        id_token, access_token = data.get("id_token"), data.get("access_token")
        if not isinstance(id_token, str) or not id_token:
            raise HTTPError(401, "The provider sent no ID token, so the user is not known.")
        cookie = self.get_secure_cookie(self._NONCE_COOKIE)
        if not cookie:
            raise HTTPError(401, "This login was not started here (no nonce); start it again.")
        self.clear_cookie(self._NONCE_COOKIE, path=config.cookie_path)
        settings = panel_settings()
        metadata = self._metadata or await self._discover()
        try:
            async with async_http_client(settings) as http:
                claims = await verify_id_token(
                    http,
                    metadata,
                    id_token,
                    client_id=str(config.oauth_key or settings.client_id),
                    nonce=cookie.decode("ascii", "replace"),
                    access_token=access_token if isinstance(access_token, str) else None,
                )
        except InvalidIDTokenError as exc:
            raise HTTPError(401, str(exc)) from None
        user_key = config.oauth_jwt_user or self._USER_KEY
        if user_key == "email" and claims.get("email_verified") is not True:
            raise HTTPError(
                401,
                "The provider has not verified this account's email address, so it "
                "cannot identify the user; verify it at the provider and log in again.",
            )

    def get_auth_http_client(self) -> Any:
        """Tornado's client for Panel's token and user-info requests, with the SDK's TLS."""
        from tornado.httpclient import AsyncHTTPClient  # Panel's own: only under Panel
        from tornado.ioloop import IOLoop

        from ..network.transport import transport_config

        loop = id(IOLoop.current())
        client = self._http.get(loop)
        if client is None:
            verify = transport_config(panel_settings()).verify
            options: dict[str, Any] = (
                {"validate_cert": verify} if isinstance(verify, bool) else {"ssl_options": verify}
            )
            client = AsyncHTTPClient(force_instance=True, defaults=options)
            self._http[loop] = client
        return _VerifyingClient(client, self)


class _VerifyingClient:
    """Panel's HTTP client for one login request: the token endpoint's answer is checked
    (`AnacondaCloudLoginHandler.verify_token_response`) before Panel reads a user from it."""

    def __init__(self, client: AsyncHTTPClient, handler: AnacondaCloudLoginHandler) -> None:
        self._client = client
        self._handler = handler

    async def fetch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Tornado's ``fetch``; a token answer is verified before it is returned."""
        response = await self._client.fetch(request, *args, **kwargs)
        url = getattr(request, "url", request)
        if url == self._handler._OAUTH_ACCESS_TOKEN_URL and response.code == 200:
            body = getattr(request, "body", b"") or b""
            form = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            await self._handler.verify_token_response(response.body, form)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
