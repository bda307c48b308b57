"""The ``anaconda-auth`` command: options, rendering what the library reports,
exit codes. It decides nothing the library decides.

Owns: the commands (one module per command or pair of commands), what they share (the
group that maps a failure to its exit code, the shared options, settings from the options),
the terminal's login progress, waiting indicator and prompts; the exit-code policy. The
public ``cli`` module holds only the group (`cli`) and `main`.

Never imports: testkit, integrations.

Modules, in import order (each imports only the ones after it):

    doctor_command
    status_command
    key_commands
    login_commands
    app
    terminal
    exit_codes
"""
