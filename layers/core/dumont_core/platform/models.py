"""The base of every domain model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DomainModel(BaseModel):
    """Immutable, and validated by schemas built on first use rather than at import: a function pays
    only for the models the request in hand needs."""

    model_config = ConfigDict(frozen=True, defer_build=True)
