"""Other frameworks' login hooks.

Owns: the ``anaconda_cloud`` Panel login handler (registered under ``panel.auth``).

Never imports: command_line, testkit.

Modules, in import order (each imports only the ones after it):

    panel_handler
"""
