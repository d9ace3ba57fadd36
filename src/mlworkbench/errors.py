"""The one exception tree of mlworkbench.

Foreign errors (MLflow, SQLAlchemy, implicit, OS) are translated where they enter,
with ``raise ... from exc``, so callers only ever catch these::

    MlwbError
    ├── ConfigError            bad or contradictory settings
    ├── InvalidParameterError  a hyperparameter or argument outside its allowed values
    ├── DataError              a data set cannot be read or has the wrong shape
    │   ├── NothingAcceptedError  every row of an ingest was rejected (all quarantined)
    │   └── StoreError            the data store cannot be reached or refuses a read/write
    ├── ModelError
    │   ├── NotFittedError     a model used before ``fit``
    │   └── UnknownItemError   an item id the model has never seen
    └── TrackingError          the MLflow tracking store or registry fails
        ├── TrackingUnavailableError  the tracking server cannot be reached
        └── ModelNotFoundError        a model reference that resolves to nothing
    StackError                 the local stack cannot start, stop or answer
    ├── PortInUseError         a port the stack needs is taken
    └── ObjectStoreError       the S3 server refuses or fails a request

Every message says what is wrong and, where there is one, how to fix it: the CLI
prints it as one line and the API returns it as the error body.
"""

from __future__ import annotations


class MlwbError(Exception):
    """Base class of every error mlworkbench raises on purpose."""


class ConfigError(MlwbError):
    """Settings are missing, malformed or contradictory."""


class InvalidParameterError(MlwbError, ValueError):
    """A parameter is outside its allowed values.

    The message always has the same shape: which parameter, of what, what is
    allowed, what was received.
    """

    def __init__(self, name: str, owner: str, allowed: str, received: object) -> None:
        self.name = name
        self.owner = owner
        self.allowed = allowed
        self.received = received
        super().__init__(
            f"parameter {name!r} of {owner} must be {allowed}; received {received!r}"
        )


class DataError(MlwbError):
    """A data set cannot be read, or does not have the expected shape."""


class NothingAcceptedError(DataError):
    """Validation rejected every row of an ingest; the rows are in quarantine."""


class StoreError(DataError):
    """The data store cannot be reached, or refuses a read or a write."""


class ModelError(MlwbError):
    """A model cannot do what was asked of it."""


class NotFittedError(ModelError):
    """A model was used before it was fitted."""


class UnknownItemError(ModelError, KeyError):
    """An item id the model has never seen."""

    def __init__(self, item_id: object) -> None:
        self.item_id = item_id
        super().__init__(f"item {item_id!r} is not in the model's catalogue")

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class TrackingError(MlwbError):
    """The MLflow tracking store or model registry failed."""


class TrackingUnavailableError(TrackingError):
    """The MLflow tracking server cannot be reached."""


class ModelNotFoundError(TrackingError):
    """A model reference resolves to no model."""


class StackError(MlwbError):
    """The local stack (``mlwb up``) cannot start, stop or answer."""


class PortInUseError(StackError):
    """A port a stack service needs is already taken."""

    def __init__(self, port: int, service: str, setting: str) -> None:
        self.port = port
        super().__init__(
            f"port {port} for {service} is already in use; stop what holds it "
            f"or set {setting} to a free port"
        )


class ObjectStoreError(StackError):
    """The S3 server refused or failed a request."""
