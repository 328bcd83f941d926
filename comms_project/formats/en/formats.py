"""English formats: unambiguous ISO-like dates, and every time with its zone.

Staff compare admin times with API payloads (UTC, ``Z``) and logs, so "March 28, 2025,
11:34 a.m." without a zone reads as local time; ``2025-03-28 11:34:43 UTC`` cannot be
mistaken. ``T`` is the zone's abbreviation (``TIME_ZONE`` is UTC). Anything not set here
(input formats, month names) comes from Django's English formats.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
