"""Where ``PYTHON_KEYRING_BACKEND=anaconda_auth_async._keyring.AnacondaKeyring`` finds it.

That value predates the package's folders; users may have it in their environment, so
this path keeps working. The backend lives in `storage.keyring_backend`.
"""

from __future__ import annotations

from .storage.keyring_backend import AnacondaKeyring

__all__ = ["AnacondaKeyring"]
