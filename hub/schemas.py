"""Shapes shared by every domain's schemas: times shown in the firm's zone, list pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from hub.timeutil import in_firm_zone

T = TypeVar("T")


def _show(value: datetime | None) -> str | None:
    shown = in_firm_zone(value)
    return None if shown is None else shown.isoformat()


#: An aware instant, written out in ISO 8601 in the firm's time zone.
Instant = Annotated[datetime, PlainSerializer(_show, return_type=str | None)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListPage(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None
