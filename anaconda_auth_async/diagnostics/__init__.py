"""``anaconda-auth doctor``: one check per thing a login depends on, each with its fix.

Owns: every check of `doctor()`. Each reuses the package's own decision (settings sources,
the key's source, the token file's reading, the transport, the login flow's choice); it
reads and never writes (no login, no store write).

Never imports: command_line, testkit, integrations.

Modules, in import order (each imports only the ones after it):

    run_checks
    settings_check
    key_check
    login_checks
    network_steps
    storage_check
    clock_check
    certificate_issuer
    other_tools
    report
"""
