"""The ``anaconda_cloud`` Panel login handler (the class the ``panel.auth`` entry point names).

It lives apart from the public `anaconda_auth_async.panel` module because Panel loads its
``panel.auth`` entry points while ``panel.auth`` itself is still being imported: this module
only needs ``panel.auth.OAuthLoginHandler``, which exists by then, so it can be loaded in
the middle of that import whichever module was imported first.

The endpoints come from the provider's discovery document (loaded with the SDK's transport
settings on the first login request, cached per process), and the token and user-info
requests Panel sends go through a client with the SDK's TLS context (``ssl_verify``, client
certificate), so a private CA works for them as for every other request of the SDK.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from panel.auth import CodeChallengeLoginHandler, OAuthLoginHandler
from panel.config import config

from ._config import AnacondaAuthSettings, resolve_settings

if TYPE_CHECKING:
    from tornado.httpclient import AsyncHTTPClient

    from ._oidc import ProviderMetadata

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
    PKCE (S256). The user is the ID token's ``email``. The OAuth client at the provider
    needs the scopes ``openid email profile offline_access`` and the Panel app's ``/login``
    URL (``--oauth-redirect-uri``) as a redirect URI.
    """

    _access_token_header = "Bearer {}"
    _EXTRA_TOKEN_PARAMS = {"grant_type": "authorization_code"}
    _USER_KEY = "email"
    _OAUTH_REDIRECT_URL = "http://localhost:5006"

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
        from ._oidc import discover  # the HTTP stack only when Panel serves a login
        from ._transport import async_http_client

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

    def get_auth_http_client(self) -> Any:
        """Tornado's client for Panel's token and user-info requests, with the SDK's TLS."""
        from tornado.httpclient import AsyncHTTPClient  # Panel's own: only under Panel
        from tornado.ioloop import IOLoop

        from ._transport import transport_config

        loop = id(IOLoop.current())
        client = self._http.get(loop)
        if client is None:
            verify = transport_config(panel_settings()).verify
            options: dict[str, Any] = (
                {"validate_cert": verify} if isinstance(verify, bool) else {"ssl_options": verify}
            )
            client = AsyncHTTPClient(force_instance=True, defaults=options)
            self._http[loop] = client
        return client
