"""A query parameter given twice is refused, unless it is a list (``ids``).

FastAPI keeps the last of repeated values for a single-valued parameter, so
``?tool=ansible_run&tool=kubectl_deploy`` listed only kubectl's calls, answered as if the
client had asked for that alone, and ``?limit=1&limit=500`` gave 500.
"""

from __future__ import annotations

from fastapi import Request

from toolwise.service.errors import ApiError

__all__ = ["REPEATABLE", "single_values"]

REPEATABLE = frozenset({"ids"})
"""Query parameters that are lists: given once per value (``?ids=a&ids=b``)."""


async def single_values(request: Request) -> None:
    """A router dependency: 422 naming the first single-valued parameter given twice."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen and name not in REPEATABLE:
            raise ApiError(
                422,
                "invalid_argument",
                f"{name}: given more than once; give it once",
                field=name,
                location="query",
            )
        seen.add(name)
