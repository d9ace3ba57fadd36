"""What the challenger would have answered, for shadow scoring: the same passengers, scored
by the challenger's pipeline, as the rows the champion's answer logs."""

from __future__ import annotations

import datetime as dt

import numpy as np

from mlworkbench.serving.classifier.logged import Predicted
from mlworkbench.serving.classifier.passengers import Passengers
from mlworkbench.serving.model_holder import LoadedModel


def predicted(challenger: LoadedModel, request_id: str, source: str,
              passengers: Passengers) -> Predicted:
    """P(survived) per passenger from the challenger (its own features, its own pipeline)."""
    probabilities = challenger.model.predict_proba(passengers.frame())[:, 1].astype(np.float64)
    return Predicted(request_id, dt.datetime.now(dt.UTC), challenger.name, challenger.version,
                     source, passengers, probabilities)
