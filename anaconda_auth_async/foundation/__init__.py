"""The ground floor: what every other part may use, built on the standard library.

Owns: the exception tree, warnings that point at the caller, cleaning text that comes from
outside (servers, files, other programs), guarded numbers, decoding a JWT unverified (the
one decoder), public names' ``__module__``, ssh-style trust checks of files, finding which
process holds a lock or a port, and the one way to run a blocking call off the event loop.

Never imports: every other folder; pydantic, keyring.

Modules, in import order (each imports only the ones after it):

    file_trust
    process_finder
    threads
    jwt
    safe_text
    outside_values
    errors
    warnings
    public_names
"""
