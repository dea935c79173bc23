"""The companion module's legacy-field cleanup, page by page (used by `check` and `cleanup-legacy`)."""

from __future__ import annotations

import itertools

from loader.convex.gateway import ConvexGateway

CLEAR_FUNCTION = "migration:clearLegacyFields"
COUNT_FUNCTION = "migration:countLegacyFields"
LEGACY_TABLES = ("cases", "userProfiles")
BATCH = 100


def _pages(gateway: ConvexGateway, function: str, table: str, mutation: bool, max_pages: int | None = None):
    """Call a companion page function from `cursor: null` until `isDone` (or `max_pages`)."""
    cursor = None
    for _ in itertools.count() if max_pages is None else range(max_pages):
        args = {"table": table, "cursor": cursor, "numItems": BATCH}
        page = (gateway.mutation(function, args, idempotent=True) if mutation
                else gateway.query(function, args))
        yield page
        if page["isDone"]:
            return
        cursor = page["continueCursor"]


def clear_legacy_fields(gateway: ConvexGateway, table: str, on_page=None) -> int:
    """Clear one table page by page; a re-run (or a retried page) clears nothing twice."""
    cleared = 0
    for page in _pages(gateway, CLEAR_FUNCTION, table, mutation=True):
        cleared += int(page["cleared"])  # JSON numbers are float64
        if on_page is not None:
            on_page(page)
    return cleared


def remaining_legacy_fields(gateway: ConvexGateway, table: str, max_pages: int | None = None) -> int:
    """Documents of `table` that still carry legacy fields (in the first `max_pages` pages)."""
    return sum(int(page["remaining"]) for page in _pages(gateway, COUNT_FUNCTION, table, mutation=False,
                                                         max_pages=max_pages))
