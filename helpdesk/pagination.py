"""The one pagination class of the API: cursor pagination, stable under inserts and fast on big tables.

A view chooses its order with `cursor_ordering` (a tuple of fields, the first one carrying the
cursor position) or, when the client may pick the order, with `get_cursor_ordering(request)`.

`EstimatedCountPaginator` is for the admin's big lists, where an exact COUNT(*) reads the whole table;
`capped_counts` and `CappedCountPaginator` count exactly up to a cap and say "at least" past it.
"""

import json

from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-pk",)

    def get_page_size(self, request: Request) -> int:
        # DRF ignores a malformed `page_size` and caps a large one; the schema states 1..max_page_size,
        # so anything else is a 400 rather than a different page than asked for.
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        text = values[-1]
        if (
            len(values) > 1
            or not (text.isascii() and text.isdigit())
            or not 1 <= int(text) <= self.max_page_size
        ):
            raise ApiValidationError(
                {self.page_size_query_param: [f"Give one whole number from 1 to {self.max_page_size}."]}
            )
        return int(text)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

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


class AtLeast(int):
    """A count that stopped at its cap: there are at least this many. Shown as "1,000+"."""

    def __str__(self) -> str:
        return f"{int(self):,}+"


def capped_counts(querysets: dict[str, QuerySet | tuple[QuerySet, ...]], cap: int) -> dict[str, int]:
    """{name: the exact count of its queryset up to `cap`, else `AtLeast(cap)`}, in one query.

    Each count reads at most `cap + 1` rows whatever the table holds, so a page showing many counts
    costs the same at ten thousand rows and at a million. A name may instead have a tuple of disjoint
    querysets (arms): their counts are added, each arm stopping at `cap + 1` rows through its own index
    where one query with their OR would have had to be planned as a whole."""
    if not querysets:
        return {}
    parts, params = [], []
    for arms in querysets.values():
        limited = []
        for queryset in arms if isinstance(arms, tuple) else (arms,):
            try:
                sql, part_params = queryset.order_by().values("pk")[: cap + 1].query.sql_with_params()
            except EmptyResultSet:  # `.none()`, or a filter that can match nothing
                continue
            limited.append(sql)
            params.extend(part_params)
        if len(limited) > 1:  # SELECT * FROM each: SQLite allows no LIMIT on a bare member of a UNION
            union = " UNION ALL ".join(f"SELECT * FROM ({sql}) AS arm{n}" for n, sql in enumerate(limited))
            parts.append(f"(SELECT COUNT(*) FROM ({union}) AS capped)")
        else:
            parts.append(f"(SELECT COUNT(*) FROM ({limited[0]}) AS capped)" if limited else "0")
    database = next(iter(querysets.values()))
    database = (database[0] if isinstance(database, tuple) else database).db
    with connections[database].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: AtLeast(cap) if count > cap else count for name, count in zip(querysets, row, strict=True)}


class CappedCountPaginator(Paginator):
    """A Django paginator that counts up to `CAP` (or takes a count already known): past it, it offers
    the first `CAP` rows' pages and numbers them "1,000+" and "20+"."""

    CAP = 1_000

    def __init__(self, object_list, per_page, *, count: int | None = None, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        if count is not None:
            self.count = count  # fills the cached property

    @cached_property
    def count(self) -> int:
        return capped_counts({"count": self.object_list}, self.CAP)["count"]

    @cached_property
    def num_pages(self) -> int:
        pages = super().num_pages
        return AtLeast(pages) if isinstance(self.count, AtLeast) else pages
