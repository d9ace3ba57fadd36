"""The drift options `mlwb simulate` and `mlwb data fill` share (shares of a batch's rows)."""

from __future__ import annotations

from typing import Annotated

import typer

PopularityShift = Annotated[float, typer.Option(help="Share of rows sent to boosted items.")]
NewUsers = Annotated[float, typer.Option(help="Share of rows from brand-new users.")]
RatingNoise = Annotated[float, typer.Option(help="Share of rows with a shifted rating.")]
SchemaViolations = Annotated[float, typer.Option(help="Share of rows broken on purpose.")]
