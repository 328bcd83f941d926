"""The one ingest service: every way in (API, import command, admin, re-import) calls
``ingest_messages``.

- ``service``: the entry point and its retry on a unique-constraint race;
- ``prepare``: phase 1, validate and normalise items into plain records (no database);
- ``write``: phase 2, classify and store a batch in bulk under the conversation lock;
- ``rows``: COPY/executemany writers with preallocated ids;
- ``results``: what happened to each item, as the response envelope reports it.
"""

from .results import IngestResult, ItemResult, Outcome
from .service import ingest_messages

__all__ = ["IngestResult", "ItemResult", "Outcome", "ingest_messages"]
