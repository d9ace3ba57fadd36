"""The recommender's request bodies (validated) and response shapes (for the OpenAPI text;
responses are pre-serialised, see :mod:`mlworkbench.serving.recommender.render`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlworkbench.models.recommender import MAX_K
from mlworkbench.serving.schemas import INT64_MAX, INT64_MIN, ModelRef

Id = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
K = Annotated[int, Field(strict=True, ge=1, le=MAX_K, description=f"items per user, 1..{MAX_K}")]
Source = Literal["live", "precomputed"]


class RecommendationRequest(BaseModel):
    """Either ``users`` (known or not) or ``items`` (the history of a new visitor)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"users": [42, 7], "k": 10, "exclude_seen": True}, {"items": [260, 1196]}]})

    users: list[Id] | None = Field(
        default=None, min_length=1,
        description="user ids; at most MLWB_MAX_BATCH_USERS (default 10,000) per request, "
                    "more gets 413; unknown users get popular items with fallback 'popular'",
    )
    items: list[Id] | None = Field(
        default=None, min_length=1,
        description="item ids a visitor just interacted with; answered from factors folded in "
                    "on the fly (ALS least squares; other engines: mean of the items' factors)",
    )
    k: K = 10
    exclude_seen: bool = Field(default=True, strict=True,
                               description="leave out items the user already rated")

    @model_validator(mode="after")
    def _one_of(self) -> RecommendationRequest:
        if (self.users is None) == (self.items is None):
            raise ValueError("give exactly one of 'users' (known users) or 'items' (a history)")
        return self


class ItemRef(BaseModel):
    id: int
    title: str


class Item(ItemRef):
    score: float


class UserRecommendations(BaseModel):
    user: int | None = Field(description="null for a visitor known by history only")
    fallback: str | None = Field(description="'popular' when the model could not personalise")
    items: list[Item]
    history: list[int] | None = Field(default=None, description="history items the model knows")
    ignored_items: list[int] | None = Field(default=None,
                                            description="history items unknown to the model")


class RecommendationResponse(BaseModel):
    request_id: str
    model: ModelRef
    source: Literal["live", "precomputed", "history"]
    k: int
    recommendations: list[UserRecommendations]


class SimilarItemsResponse(BaseModel):
    request_id: str
    model: ModelRef
    item: ItemRef
    k: int
    similar: list[Item]


