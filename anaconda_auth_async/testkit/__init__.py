"""Fakes for other packages' tests, behind the public ``testing`` module.

Owns: `FakePlatform` (provider and API in memory behind one ``httpx.MockTransport``), fake
keys, the seal that keeps a helper away from a real login, and `TokenStoreTests`.

Never imports: command_line, integrations.

Modules, in import order (each imports only the ones after it):

    store_conformance
    seal
    fake_platform
    fake_provider
    fake_api
    fake_keys
"""
