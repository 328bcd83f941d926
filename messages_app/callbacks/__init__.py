"""Callbacks (DESIGN.md §3.3): the results of a batch POSTed to the client after it commits.

- ``policy``: which URLs and addresses are acceptable (SSRF checks);
- ``planning``: resolving a batch's callback URLs and scheduling their deliveries, in the
  import's transaction;
- ``delivery``: one signed POST attempt, in the worker (``messages_app.tasks``).
"""
