"""Date and time formats of the project (``FORMAT_MODULE_PATH``), ahead of Django's locale ones."""
