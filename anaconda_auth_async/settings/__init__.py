"""What the user configured, and where each value came from.

Owns: `AnacondaAuthSettings` and its sources in order (arguments, environment, ``.env``,
``~/.anaconda/config.toml``, defaults), the ``.env`` guard, ``setting_source``, and the
config.toml presets. Settings are data: reading files is the only I/O here.

Never imports: storage, network, api_client, logins, diagnostics, command_line, testkit,
integrations; httpx, keyring.

Modules, in import order (each imports only the ones after it):

    fields
    unknown_names
    dotenv_guard
    validation_errors
    sources
    config_file
    parsing
"""
