"""The ``anaconda_cloud`` OAuth provider for Panel apps.

Registered through the ``panel.auth`` entry point, so ``panel serve app.py
--oauth-provider anaconda_cloud`` finds it once this package is installed with the
``panel`` extra. The auth domain is `AnacondaAuthSettings.auth_domain`
(``ANACONDA_AUTH_AUTH_DOMAIN`` / ``ANACONDA_CLOUD_AUTH_DOMAIN``), or Panel's
``--oauth-extra-params "{'auth-domain': '...'}"`` as with anaconda-cloud-auth.
"""

from __future__ import annotations

from functools import cached_property

from panel.auth import OAuthLoginHandler
from panel.config import config

from ._config import resolve_settings

__all__ = ["AnacondaCloudLoginHandler"]


class AnacondaCloudLoginHandler(OAuthLoginHandler):  # type: ignore[misc,unused-ignore]
    """Panel login handler for Anaconda's cloud (OAuth 2 authorization code).

    The OAuth client at the provider must be configured with the scopes
    ``offline_access openid email profile``, the redirect URL of the Panel app (by default
    ``http://localhost:5006``), the authorization code grant, response types ID token,
    token and code, JWT access tokens, and client authentication in the HTTP body.
    """

    _access_token_header = "Bearer {}"
    _EXTRA_TOKEN_PARAMS = {"grant_type": "authorization_code"}
    _USER_KEY = "email"
    _OAUTH_REDIRECT_URL = "http://localhost:5006"

    @cached_property
    def _auth_domain(self) -> str:
        extra = config.oauth_extra_params or {}
        domain = extra.get("auth-domain")
        return resolve_settings(None, auth_domain=str(domain) if domain else None).auth_domain

    @property
    def _OAUTH_AUTHORIZE_URL(self) -> str:
        return f"https://{self._auth_domain}/oauth2/auth"

    @property
    def _OAUTH_ACCESS_TOKEN_URL(self) -> str:
        return f"https://{self._auth_domain}/oauth2/token"

    @property
    def _OAUTH_USER_URL(self) -> str:
        return f"https://{self._auth_domain}/oauth2/userinfo"
