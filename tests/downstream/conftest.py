"""The downstream example's fixtures come from the SDK's opt-in pytest plugin.

A package of its own enables it in its top-level conftest.py with
``pytest_plugins = ["anaconda_auth_async.pytest_plugin"]``; in this repository that line
is in tests/conftest.py (pytest reads pytest_plugins only from a top-level conftest).
"""
