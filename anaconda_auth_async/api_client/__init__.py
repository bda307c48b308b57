"""Where a key is sent: the clients and the ``httpx.Auth`` flow under them.

Owns: the key the settings configure (``ANACONDA_AUTH_API_KEY`` or a key file), cached
single-flight key loading, `AnacondaAuth` (attach the key only to allowed origins; 401/403
to clear errors), `AsyncAuthClient` / `BaseClient` and their account helpers, and
``Min-Api-Version``.

Never imports: logins, diagnostics, command_line, testkit, integrations.

Modules, in import order (each imports only the ones after it):

    clients
    client_options
    account
    api_version
    auth
    refusals
    key_loading
    configured_key
    site_context
"""
