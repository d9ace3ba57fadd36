"""Fixtures of the container tests (defined in fixtures/compose.py): built images, one stack."""

from fixtures.compose import images, stack  # noqa: F401  (fixtures, registered by import)
