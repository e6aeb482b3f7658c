"""Limit/offset pagination for the API, with the offset bounded.

ninja's own LimitOffsetPagination accepts any offset; one beyond the database's integer range
(fuzzers send 10^22) fails inside the database as a 500 instead of a 400.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.conf import settings
from ninja.pagination import LimitOffsetPagination

MAX_OFFSET = 1_000_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(settings.PAGINATION_PER_PAGE, ge=1, le=settings.PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
