"""The API's JSON parser: refuses, with the API's own error codes, what DRF's lets through."""

from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from ..errors import MalformedJSON, RequestTooLarge
from ..wire.decoding import loads


class StrictJSONParser(BaseParser):
    """UTF-8 JSON only, no NaN/Infinity, bounded size and depth.

    The size is checked from Content-Length and again while reading, so an over-size body
    is a 413 in the API's envelope rather than Django's HTML 400 page; a body nested too
    deep for the decoder is a 400, not a RecursionError.
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = settings.MAX_REQUEST_BYTES
        request = (parser_context or {}).get("request")
        if request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise RequestTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(f"The body is larger than the limit of {limit} bytes.")
        try:
            return loads(body)
        except UnicodeDecodeError as exc:
            raise MalformedJSON(f"The body is not valid UTF-8: {exc.reason} at byte {exc.start}.") from exc
        except RecursionError as exc:
            raise MalformedJSON("The body is nested too deeply.") from exc
        except ValueError as exc:
            raise MalformedJSON(f"The body is not valid JSON: {exc}.") from exc
