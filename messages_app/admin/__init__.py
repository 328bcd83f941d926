"""Django admin: staff browse departments, conversations and messages, and correct imports.

Navigation: Department -> its conversations (message count, last activity) -> a
conversation's transcript or message list -> a message (with every part on its page or
one link away) -> back to its conversation. Import batches list every request or command
run, lead to their messages, and can be rolled back.

One module per area (``departments``, ``conversations``, ``messages``, ``batches``,
``callbacks``); what they share is in ``base`` (scoping of staff to their departments),
``filters``, ``inlines``, ``forms``, ``corrections`` and ``paging``. Every class is thin:
the rules live in ``scoping``, ``corrections``, ``rollback`` and ``transcripts``.
Importing this package registers every model admin (Django's autodiscovery imports it)
and sets up the site: its name, "View site" leading to the API docs (the service has no
other site), "—" for an absent value, and no navigation sidebar: every page is a wide
list or a form with tabular parts, and the few models are one click away from Home and
the breadcrumbs.
"""

from django.contrib import admin
from django.urls import reverse_lazy

from . import batches, callbacks, conversations, departments, messages  # noqa: F401  (register the admins)
from .base import EMPTY

admin.site.site_header = admin.site.site_title = "Historical communications"
admin.site.index_title = "Conversations, messages and imports"
admin.site.site_url = reverse_lazy("docs")
admin.site.empty_value_display = EMPTY
admin.site.enable_nav_sidebar = False
