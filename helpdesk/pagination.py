"""The one pagination class of the API: cursor pagination, stable under inserts and fast on big tables.

A view chooses its order with `cursor_ordering` (a tuple of fields, the first one carrying the
cursor position) or, when the client may pick the order, with `get_cursor_ordering(request)`.
"""

from django.core.exceptions import ValidationError
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
