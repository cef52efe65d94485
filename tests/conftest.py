"""Shared pytest fixtures.

The Salesforce emulator's fixtures (``sf_emulator``, ``sf_client``) are
registered here so every test under ``tests/`` can use them.
"""

from tests.sf_emulator.fixtures import sf_client, sf_emulator  # noqa: F401
