"""Moving history in and out through files: the logic behind the management commands.

- ``sources`` and ``reading``: which inputs, and request documents streamed from them;
- ``importing``: documents fed to the ingest service in batches (``import_historical``);
- ``exporting``: stored messages written as import documents (``export_historical``);
- ``reimporting``: rows rebuilt from stored payloads (``reimport_historical``);
- ``progress``: progress bars, problem lines and run summaries;
- ``common``: what they share (unusable input, batch sizes, keyset pages of messages);
- ``demo_data``: generated history for demos and load checks (``generate_demo_data``).
"""
