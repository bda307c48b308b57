"""The ``anaconda_cloud`` OAuth provider for Panel apps.

Registered through the ``panel.auth`` entry point, so ``panel serve app.py
--oauth-provider anaconda_cloud`` finds it once this package is installed with the
``panel`` extra. The auth domain is `AnacondaAuthSettings.auth_domain`
(``ANACONDA_AUTH_AUTH_DOMAIN`` / ``ANACONDA_CLOUD_AUTH_DOMAIN``), or Panel's
``--oauth-extra-params "{'auth-domain': '...'}"`` as with anaconda-cloud-auth; the
endpoints come from that provider's OpenID discovery document.

This module may be imported before or after Panel's own ``panel.auth``: the handler class
is defined in a module of its own, which Panel's entry point loads.
"""

from __future__ import annotations

import panel.auth  # noqa: F401 - loads the entry points, and with them the handler

from .foundation.public_names import publish
from .integrations.panel_handler import AnacondaCloudLoginHandler

__all__ = ["AnacondaCloudLoginHandler"]


publish(globals(), module=__name__)  # tracebacks and repr name this public module
