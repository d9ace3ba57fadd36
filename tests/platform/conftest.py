"""The platform tests share one real local stack per module (tests/fixtures/stack.py)."""

from __future__ import annotations

from fixtures.stack import free_port_block, stack, stack_environment, stack_home  # noqa: F401
