"""The API's JSON parser: refuses, with the API's own error codes, what DRF's lets through."""

import io
from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from ..errors import LengthRequired, MalformedJSON, RequestTooLarge
from ..wire.decoding import loads


def read_unsized_body(request: Request) -> None:
    """Make a body sent without Content-Length (chunked) readable by the parser, or refuse it.

    Django takes a missing Content-Length as an empty body, and DRF then never calls the
    parser. A server that de-chunks and says where the body ends (``wsgi.input_terminated``,
    as gunicorn does) lets it be read to its end, at most MAX_REQUEST_BYTES + 1 bytes; it
    then stands in for the request's stream with its length declared. Without that promise
    the body's end is unknown: 411. Called by the view once the client is authenticated and
    granted, as a sized body is only read then.
    """
    meta = request.META
    if meta.get("CONTENT_LENGTH") or "HTTP_TRANSFER_ENCODING" not in meta:
        return
    if not meta.get("wsgi.input_terminated"):
        raise LengthRequired("A body without Content-Length cannot be read by this server; send Content-Length.")
    limit = settings.MAX_REQUEST_BYTES
    stream, chunks, size = meta["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestTooLarge(f"The body is larger than the limit of {limit} bytes.")
    body = b"".join(chunks)
    # Django reads the body through this stream; no public API replaces it.
    request._request._stream = io.BytesIO(body)
    meta["CONTENT_LENGTH"] = str(len(body))


def raw_json_body(request: Request) -> bytes | None:
    """The body of a JSON request within the size limit, as received; None for anything the
    parser would refuse on its headers (another media type, a declared size over the limit),
    so that it still answers those. The parser then reads the same bytes again, from memory.
    """
    media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if media_type != StrictJSONParser.media_type:
        return None
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < declared <= settings.MAX_REQUEST_BYTES:
        return None
    return request.body


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
