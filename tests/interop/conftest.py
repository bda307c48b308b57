"""Interop tests run only under ``nox -s interop``, which makes the other packages' venvs.

The session installs anaconda-auth 0.15.3 and anaconda-cloud-auth 0.6.0 from PyPI, each
into its own virtual environment (anaconda-auth ships an ``anaconda_cloud_auth`` shim, so
the two cannot share one), and names their interpreters in ``INTEROP_PYTHON_ANACONDA_AUTH``
and ``INTEROP_PYTHON_ANACONDA_CLOUD_AUTH``. Without them, nothing here is collected, so
``pytest tests`` stays fast.
"""

from __future__ import annotations

import os

collect_ignore_glob: list[str] = []
if not (
    os.environ.get("INTEROP_PYTHON_ANACONDA_AUTH")
    and os.environ.get("INTEROP_PYTHON_ANACONDA_CLOUD_AUTH")
):
    collect_ignore_glob = ["test_*.py"]
