"""The factory uvicorn's worker processes import (``mlwb serve --workers N``)."""

from __future__ import annotations

from fastapi import FastAPI

from mlworkbench.config import get_settings
from mlworkbench.errors import ConfigError
from mlworkbench.families import get
from mlworkbench.serving.app import app_factory


def app_from_settings() -> FastAPI:
    """The app for ``MLWB_SERVE_MODEL`` with the routes of ``MLWB_SERVE_FAMILY``."""
    family = get_settings().serve_family
    if not family:
        raise ConfigError("MLWB_SERVE_FAMILY is not set: start the service with `mlwb serve`")
    return app_factory(get(family).served)
