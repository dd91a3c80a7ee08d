"""Pages of a long list, by keyset: ``?limit=N&after=<next of the previous page>``.

A page carries its ``items`` and ``next``: the cursor of the page after it, ``null`` on the
last page. Cursors are the list's own keys (a version number, an audit sequence number), so a
page stays right when rows are added meanwhile, and the database seeks instead of skipping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next: int | None = Field(
        default=None, description="Pass as `after` for the next page; null on the last page."
    )


def page_of(rows: Sequence[T], *, key: Callable[[T], int], limit: int) -> Page[T]:
    """The page of ``rows``, read with ``limit + 1``: one more row means another page."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page[T](items=items, next=key(items[-1]) if more and items else None)
