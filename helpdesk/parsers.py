"""Request parsers of the API: hostile bodies answer 400, never 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, but deeply nested JSON (Python's decoder raises RecursionError) is a ParseError.

    DRF catches only ValueError, so `[[[[...]]]]` a few thousand levels deep became a 500, even on the
    unauthenticated token endpoint.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error
