"""The one ingest service: every way in (API, import command, admin, re-import) calls
``ingest_messages``.

- ``service``: the entry point and its retry on a unique-constraint race;
- ``prepare``: phase 1, validate and normalise items into plain records (no database);
- ``write``: phase 2, classify and store a batch in bulk under the conversation lock;
- ``resend``: a byte-identical re-send answered from the stored rows, undecoded;
- ``rows``: COPY/executemany writers with preallocated ids;
- ``results``: what happened to each item, as the response envelope reports it.
"""

from .resend import request_digest
from .results import IngestResult, ItemResult, Outcome
from .service import ingest_identical_resend, ingest_messages

__all__ = ["IngestResult", "ItemResult", "Outcome", "ingest_identical_resend", "ingest_messages", "request_digest"]
