"""The one pagination class of the API: cursor pagination, stable under inserts and fast on big tables.

A view chooses its order with `cursor_ordering` (a tuple of fields, the first one carrying the
cursor position) or, when the client may pick the order, with `get_cursor_ordering(request)`.

`EstimatedCountPaginator` is for the admin's big lists, where an exact COUNT(*) reads the whole table.
"""

import json

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-pk",)

    def get_ordering(self, request: Request, queryset, view) -> tuple[str, ...]:
        if hasattr(view, "get_cursor_ordering"):
            return tuple(view.get_cursor_ordering(request))
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    def paginate_queryset(self, queryset, request: Request, view=None):
        # Cursors are opaque but not signed: a hand-made one may carry a position that does not fit
        # the ordering column. That is a bad cursor (404 like any other), not a server error.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, ValidationError):
            raise NotFound(self.invalid_cursor_message) from None


class EstimatedCountPaginator(Paginator):
    """A Django paginator that trusts PostgreSQL's row estimate when it is large.

    Counting a million rows exactly costs a scan of them on every page view; past `EXACT_BELOW`
    rows the planner's estimate (one EXPLAIN, no scan) is close enough to number the pages.
    Smaller results, and every result on other databases, are counted exactly.
    """

    EXACT_BELOW = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return super().count
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        return estimate if estimate >= self.EXACT_BELOW else super().count
