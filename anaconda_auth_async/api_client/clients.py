"""`AsyncAuthClient` and `BaseClient`: httpx clients for the Anaconda API, with the API key.

Both take anaconda-cloud-auth's arguments (``base_url``/``base_uri``, ``domain``,
``api_key``, ``user_agent``, ``api_version``, ``ssl_verify``, ``extra_headers``) plus
every httpx client option, which wins over our defaults. Service packages subclass them
and set ``_user_agent`` and ``_api_version``. Both share one `AnacondaAuth` flow and the
process-wide transport config (one SSL context per distinct settings).

The account helpers differ by face: on `AsyncAuthClient` they are coroutine methods
(``await client.account()``, ``await client.name()``), since a property cannot await; on
`BaseClient` they are properties, as in anaconda-cloud-auth.
What the account helpers fetch, and within what limit, is `account`'s.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast

import httpx

from ..foundation.public_names import publish
from ..network.transport import USER_AGENT, build_ssl_context, transport_override
from ..settings.fields import AnacondaAuthSettings
from .account import (
    Limit,
    account_async,
    account_sync,
    avatar_async,
    avatar_sync,
    email_of,
    name_of,
    request_limit,
)
from .api_version import MinApiVersion
from .auth import AnacondaAuth
from .client_options import refuse_unsupported
from .site_context import site_context

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from httpx._types import HeaderTypes
    from typing_extensions import Unpack

    from ..settings.fields import SettingsOverrides
    from ..storage.keyring_store import TokenStore
    from .client_options import AsyncClientOptions, ClientOptions


__all__ = ["AsyncAuthClient", "BaseClient", "client_factory"]


class _Common:
    """What both faces share: construction from our arguments, and the version check."""

    _user_agent: str = USER_AGENT
    _api_version: str | None = None

    settings: AnacondaAuthSettings
    api_version: str | None
    _api_check: MinApiVersion | None

    def _prepare(
        self,
        *,
        base_url: str | None,
        base_uri: str | None,
        domain: str | None,
        api_key: str | None,
        user_agent: str | None,
        api_version: str | None,
        ssl_verify: bool | str | None,
        extra_headers: dict[str, str] | str | None,
        settings: AnacondaAuthSettings | None,
        site: str | None,
        store: TokenStore | None,
        headers: HeaderTypes | None,
        allowed_origins: Iterable[str],
        theirs: SettingsOverrides,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """Set the settings and API version; return the httpx keyword arguments.

        `theirs`: anaconda-auth's client arguments that are settings here (field name ->
        value; None: not given). Its arguments with no equivalent raise `TypeError`.
        """
        refuse_unsupported(type(self).__name__, options)
        if base_url and base_uri:
            raise ValueError("Pass base_url or its old name base_uri, not both.")
        base_url = base_url or base_uri
        if base_url and domain:
            raise ValueError("Pass either domain or base_url, not both.")
        # `domain` is the API domain here (anaconda-cloud-auth's meaning on the clients).
        changes: SettingsOverrides = {
            "site": site,
            "api_domain": domain,
            "ssl_verify": ssl_verify,
            "extra_headers": extra_headers,
        }
        changes.update(theirs)
        context = site_context(settings, store=store, allowed_origins=allowed_origins, **changes)
        settings = context.settings

        merged = httpx.Headers(headers)
        if user_agent is not None or "User-Agent" not in merged:
            merged["User-Agent"] = user_agent or self._user_agent
        if api_version is not None or "Api-Version" not in merged:
            version = api_version or self._api_version
            if version:
                merged["Api-Version"] = version

        kwargs = context.transport.client_kwargs()
        if "cert" in options and "verify" not in options:
            # httpx loads a client cert into the context it is given: not into the shared one.
            kwargs["verify"] = build_ssl_context(settings.ssl_verify)
        override = transport_override()
        if override is not None and "transport" not in options and "mounts" not in options:
            kwargs["transport"] = override  # testing.use_platform
        kwargs["base_url"] = base_url or settings.api_base_url
        kwargs["headers"] = merged
        kwargs["auth"] = AnacondaAuth._for_context(
            context, api_key=api_key, base_url=kwargs["base_url"]
        )
        # Added per request by the auth, and only for the API's own origins (https, or
        # http to a loopback host): never to another origin, never over plain http.
        kwargs["auth"].send_extra_headers(settings.extra_headers, kwargs["base_url"])
        kwargs.update(options)
        self.settings = settings
        self.api_version = merged.get("Api-Version")
        self._api_check = MinApiVersion.for_client(self.api_version)
        return kwargs

    def _limit(self) -> Limit:
        """The account helpers' limit for one request: the client's own ``timeout``."""
        client = cast("httpx.Client | httpx.AsyncClient", self)
        return request_limit(client, self.settings.timeout)

    def __repr__(self) -> str:
        client = cast("httpx.Client | httpx.AsyncClient", self)
        return f"{type(self).__name__}(base_url={str(client.base_url)!r}, auth={client.auth!r})"

    def urljoin(self, url: str) -> str:
        """`url` resolved against the base URL, as a string (as anaconda-cloud-auth did)."""
        return str(cast("httpx.Client | httpx.AsyncClient", self).base_url.join(url))

    @staticmethod
    def _hooks(options: dict[str, Any], hook: Callable[..., object]) -> None:
        hooks = dict(options.get("event_hooks") or {})
        hooks["response"] = [*hooks.get("response", ()), hook]
        options["event_hooks"] = hooks


class AsyncAuthClient(_Common, httpx.AsyncClient):
    """An `httpx.AsyncClient` for the Anaconda API that sends the API key.

    `base_url` defaults to ``https://<api domain>`` (or ``https://<domain>``); `api_key`
    overrides the configured or stored key; `user_agent` and `api_version` (sent as
    ``Api-Version``) default to the class's ``_user_agent`` and ``_api_version``;
    `extra_headers` (a dict or a JSON object) never replaces a header set otherwise;
    `ssl_verify` is a bool, ``"truststore"`` or a CA bundle path. `settings` and `store`
    replace the defaults; `site` names a site of ``~/.anaconda/config.toml`` or a preset
    (``"anaconda.com"``, ``"anaconda.cloud"``). The key is sent only to its own API origin
    (see `AnacondaAuth`); `allowed_origins` adds https origins it may go to.
    anaconda-auth's arguments mean what they meant there: `auth_domain_override` (the
    auth domain), `proxy_servers` (a mapping whose ``https`` entry is the proxy, or a
    proxy URL), `client_cert` and `client_cert_key` (mutual TLS); its ``hash_hostname``
    has no equivalent and raises `TypeError`. Any other keyword is an httpx option and
    wins over ours (the default timeout is ``settings.timeout``); the client's
    ``timeout`` also bounds each whole request of the account helpers, body included.
    Warns once with a `FutureWarning` (shown by default, pointing at the caller's line)
    when the server's ``Min-Api-Version`` is newer than `api_version`.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        base_uri: str | None = None,
        domain: str | None = None,
        api_key: str | None = None,
        user_agent: str | None = None,
        api_version: str | None = None,
        ssl_verify: bool | str | None = None,
        extra_headers: dict[str, str] | str | None = None,
        headers: HeaderTypes | None = None,
        settings: AnacondaAuthSettings | None = None,
        site: str | None = None,
        store: TokenStore | None = None,
        allowed_origins: Iterable[str] = (),
        auth_domain_override: str | None = None,
        proxy_servers: Mapping[str, str] | str | None = None,
        client_cert: str | None = None,
        client_cert_key: str | None = None,
        **options: Unpack[AsyncClientOptions],
    ) -> None:
        kwargs = self._prepare(
            base_url=base_url,
            base_uri=base_uri,
            domain=domain,
            api_key=api_key,
            user_agent=user_agent,
            api_version=api_version,
            ssl_verify=ssl_verify,
            extra_headers=extra_headers,
            settings=settings,
            site=site,
            store=store,
            headers=headers,
            allowed_origins=allowed_origins,
            theirs={
                "auth_domain": auth_domain_override,
                "proxy": proxy_servers,
                "client_cert": client_cert,
                "client_cert_key": client_cert_key,
            },
            options=dict(options),
        )
        if self._api_check is not None:
            check = self._api_check

            async def check_min_api_version(response: httpx.Response) -> None:
                check(response)

            self._hooks(kwargs, check_min_api_version)
        super().__init__(**kwargs)
        self._account: dict[str, Any] | None = None
        self._avatar: bytes | None = None
        self._avatar_fetched = False

    async def account(self) -> dict[str, Any]:
        """The account of the key's owner (``GET /api/account``), fetched once per client."""
        if self._account is None:
            self._account = await account_async(self, self._limit())
        return self._account

    async def email(self) -> str:
        """The account's email address."""
        return email_of(await self.account())

    async def name(self) -> str:
        """The account holder's first and last name, or the email address if there is none."""
        return name_of(await self.account())

    async def avatar(self) -> bytes | None:
        """The Gravatar image (PNG) of the account's email, or None; fetched once."""
        if not self._avatar_fetched:
            self._avatar = await avatar_async(self, await self.email(), self._limit())
            self._avatar_fetched = True
        return self._avatar


class BaseClient(_Common, httpx.Client):
    """An `httpx.Client` for the Anaconda API that sends the API key.

    The blocking twin of `AsyncAuthClient`, with the same arguments, and
    anaconda-cloud-auth's `account`, `name`, `email` and `avatar` properties.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        base_uri: str | None = None,
        domain: str | None = None,
        api_key: str | None = None,
        user_agent: str | None = None,
        api_version: str | None = None,
        ssl_verify: bool | str | None = None,
        extra_headers: dict[str, str] | str | None = None,
        headers: HeaderTypes | None = None,
        settings: AnacondaAuthSettings | None = None,
        site: str | None = None,
        store: TokenStore | None = None,
        allowed_origins: Iterable[str] = (),
        auth_domain_override: str | None = None,
        proxy_servers: Mapping[str, str] | str | None = None,
        client_cert: str | None = None,
        client_cert_key: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        kwargs = self._prepare(
            base_url=base_url,
            base_uri=base_uri,
            domain=domain,
            api_key=api_key,
            user_agent=user_agent,
            api_version=api_version,
            ssl_verify=ssl_verify,
            extra_headers=extra_headers,
            settings=settings,
            site=site,
            store=store,
            headers=headers,
            allowed_origins=allowed_origins,
            theirs={
                "auth_domain": auth_domain_override,
                "proxy": proxy_servers,
                "client_cert": client_cert,
                "client_cert_key": client_cert_key,
            },
            options=dict(options),
        )
        if self._api_check is not None:
            self._hooks(kwargs, self._api_check)
        super().__init__(**kwargs)

    @functools.cached_property
    def account(self) -> dict[str, Any]:
        """The account of the key's owner (``GET /api/account``), fetched once per client."""
        return account_sync(self, self._limit())

    @property
    def email(self) -> str:
        """The account's email address."""
        return email_of(self.account)

    @property
    def name(self) -> str:
        """The account holder's first and last name, or the email address if there is none."""
        return name_of(self.account)

    @functools.cached_property
    def avatar(self) -> bytes | None:
        """The Gravatar image (PNG) of the account's email, or None; fetched once."""
        return avatar_sync(self, self.email, self._limit())


@functools.cache
def _factory_class(user_agent: str | None, api_version: str | None) -> type[BaseClient]:
    attributes: dict[str, Any] = {"__module__": __name__, "__doc__": BaseClient.__doc__}
    if user_agent is not None:
        attributes["_user_agent"] = user_agent
    if api_version is not None:
        attributes["_api_version"] = api_version
    return type("FactoryClient", (BaseClient,), attributes)


def client_factory(user_agent: str | None, api_version: str | None = None) -> BaseClient:
    """A client whose class is a `BaseClient` subclass with these ``_user_agent`` and
    ``_api_version``, as anaconda-cloud-auth's ``client_factory``; ``type(client)()``
    makes more of the same kind."""
    return _factory_class(user_agent, api_version)()


publish(globals())  # tracebacks and repr name anaconda_auth_async, not this module
