"""Django admin: staff browse departments, conversations and messages, and correct imports.

Navigation: Department -> its conversations (message count, last activity) -> a
conversation's transcript or message list -> a message (with every part on its page or
one link away) -> back to its conversation. Import batches list every request or command
run, lead to their messages, and can be rolled back.

One module per area (``departments``, ``conversations``, ``messages``, ``batches``,
``callbacks``); what they share is in ``base`` (scoping of staff to their departments),
``filters``, ``inlines``, ``forms``, ``corrections`` and ``paging``. Every class is thin:
the rules live in ``scoping``, ``corrections``, ``rollback`` and ``transcripts``.
Importing this package registers every model admin (Django's autodiscovery imports it).
"""

from . import batches, callbacks, conversations, departments, messages  # noqa: F401  (register the admins)
