"""mlworkbench: a local, production-like MLOps workbench."""

from __future__ import annotations

__version__ = "0.1.0"
