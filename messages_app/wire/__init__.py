"""The wire format of the historical PUT: one package, the seed's exact camelCase names.

- ``fields``: strict field types (identifiers, enumerations, date-times, string maps);
- ``serializers``: the request and response shapes, in the seed's names;
- ``requests``: the top level of a body; ``responses``: the response envelope;
- ``rendering``: stored rows back to wire items; ``compiler``: a fast validator compiled
  from the serializers; ``decoding``: JSON decoding by the API's rules.

What other layers use is importable from here (``from messages_app import wire``).
"""

from ..identifiers import is_identifier
from .compiler import Rejected, compile_validator
from .fields import FREE_JSON_MAX_DEPTH, ITEM_MAX_DEPTH, json_depth_exceeds, parse_datetime
from .rendering import to_wire
from .requests import ITEMS_PATH, parse_request
from .responses import RESPONSE_ITEMS, EncodedEnvelope, encode_envelope, item_response, response_envelope
from .serializers import (
    ITEM_SHAPE,
    REQUEST_FIELDS,
    SaveMessageRequestSerializer,
    SaveMessageResponseSerializer,
    SaveMessagesRequestSerializer,
    SaveMessagesResponseSerializer,
)

__all__ = [
    "FREE_JSON_MAX_DEPTH",
    "ITEMS_PATH",
    "ITEM_MAX_DEPTH",
    "ITEM_SHAPE",
    "REQUEST_FIELDS",
    "RESPONSE_ITEMS",
    "EncodedEnvelope",
    "Rejected",
    "SaveMessageRequestSerializer",
    "SaveMessageResponseSerializer",
    "SaveMessagesRequestSerializer",
    "SaveMessagesResponseSerializer",
    "compile_validator",
    "encode_envelope",
    "is_identifier",
    "item_response",
    "json_depth_exceeds",
    "parse_datetime",
    "parse_request",
    "response_envelope",
    "to_wire",
]
