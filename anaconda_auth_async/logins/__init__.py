"""Where a login is decided, and everything a login and logout do.

Owns: the one decision (keep, renew, repair, or log in and why), ``login`` and which flow
it runs, an existing login (``logout``, ``is_logged_in``, ``current_token``), login events
and their one renderer, discovery and JWKS, ID-token validation, the access-token-to-API-key
exchange, keys for machines, and what ``status`` reports. The flows that carry a login out
are in `flows`.

Never imports: diagnostics, command_line, testkit, integrations.

Modules, in import order (each imports only the ones after it):

    status_report
    machine_keys
    login
    session
    flow_choice
    presentation
    qr_code
    decision
    events
    key_exchange
    id_token
    provider
"""
