"""``python -m anaconda_auth_async``: the ``anaconda-auth`` command line."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main(prog_name="python -m anaconda_auth_async")
