"""The ``anaconda-auth`` command: options, rendering what the library reports,
exit codes. It decides nothing the library decides.

Owns: the terminal's login progress, waiting indicator and prompts; the exit-code policy.
The click commands themselves are in the public ``cli`` module.

Never imports: testkit, integrations.

Modules, in import order (each imports only the ones after it):

    terminal
    exit_codes
"""
