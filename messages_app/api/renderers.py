"""The API's JSON renderer: DRF's, which sends an ingest answer as the bytes already encoded."""

from typing import Any

from rest_framework.renderers import JSONRenderer

from ..wire import EncodedEnvelope


class EnvelopeRenderer(JSONRenderer):
    """DRF's JSON renderer, except that an ``EncodedEnvelope`` is sent as it was encoded for
    the import batch (the same bytes DRF would write), unless the client asked for an indent."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, EncodedEnvelope) and not self.get_indent(accepted_media_type or "", renderer_context or {}):
            return data.encoded
        return super().render(data, accepted_media_type, renderer_context)
