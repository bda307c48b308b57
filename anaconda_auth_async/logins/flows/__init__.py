"""The ways to log in: each takes the provider's metadata and returns a `FlowResult`.

Owns: authorization code + PKCE in a browser with its loopback listener, the device code
(RFC 8628), the deprecated password grant, opening a browser, and the one token request.

Never imports: diagnostics, command_line, testkit, integrations.

Modules, in import order (each imports only the ones after it):

    browser
    loopback_listener
    loopback_request
    device_code
    password
    browser_opener
    token_request
"""
