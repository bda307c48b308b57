"""How any request is sent: TLS, proxy, client certificate, time limits, and where
a key may go.

Owns: one transport configuration per settings (SSL context, proxy, certificate, timeout),
the one description of a failed request, and the origins a key may be sent to.

Never imports: api_client, logins, diagnostics, command_line, testkit, integrations.

Modules, in import order (each imports only the ones after it):

    origins
    transport
"""
