"""Where a key is read and written.

Owns: `TokenInfo`, the names one site's key is stored under, the `TokenStore` interface
(three primitives, everything else built on them once), the hardened token file, the
keyring backends, and logout's site policy carried out through the store it is given.

Never imports: network, api_client, logins, diagnostics, command_line, testkit, integrations; httpx.

Modules, in import order (each imports only the ones after it):

    site_cleanup
    keyring_store
    token_store
    site_rules
    entry_names
    keyring_backend
    token_file
    token_file_writes
    stored_token
"""
