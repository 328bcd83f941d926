"""Full-text search of messages' subject and body: the one module that knows how.

A query is typed as in a search engine (PostgreSQL's ``websearch_to_tsquery`` syntax):
words (all must match), ``"a quoted phrase"``, ``-word`` or ``-"a phrase"`` to exclude,
and ``OR`` between alternatives (``a b OR c`` is ``(a and b) or c``).

On PostgreSQL the search reads the stored generated column ``search_vector`` (migration
0008, the words of subject and body by ``settings.SEARCH_CONFIG``) through its GIN index
``message_search_idx``; words match whole tokens of that configuration (``simple``:
lower-cased words; ``english``: stems too, so *brakes* finds *brake*). The column is not
a model field (SQLite has no ``tsvector``), so this module names it in SQL under the
alias the query gives the message table, also inside subqueries.

Other databases (SQLite, the embedded demo) parse the same syntax and match each word or
phrase as a case-insensitive substring of the subject or body (``icontains``): correct
for the demo's sizes but unindexed, and looser (``car`` also finds *scary*; SQLite folds
the case of ASCII letters only).

The admin's lists of the whole table use ``searched``: one probe of the index first, so a
rare word is read by id rather than by the planner's guess of its frequency.

Highlighting marks the matched words of the rows of one page only: PostgreSQL's
``ts_headline`` (or the same in Python) puts private-use characters around them, the
whole text is then HTML-escaped and the markers become ``<mark>``, so a body holding
``<script>`` shows as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Expression,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Concat, Replace
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .errors import UNSTORABLE_RE
from .models import Conversation, Message

# The longest query the read API accepts (a search box's worth); longer is refused.
MAX_QUERY_LENGTH = 500
# Up to this many matches (the admin paginator counts up to 1,000 too), the admin picks
# them by id after one probe of the index.
PROBE_LIMIT = 1_000
# Around a match, in the text ts_headline builds; private-use characters never typed.
START, STOP = "\ue000", "\ue001"
_HEADLINE_OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=20, MinWords=8"
# Characters of the Python headline before and after the first match.
_BEFORE, _WINDOW = 40, 140


# --- The query syntax ----------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word or a phrase (its words joined by one space), lower-cased, maybe excluded."""

    text: str
    excluded: bool = False


def parse(query: str) -> list[list[Term]]:
    """``query`` as alternatives (OR) of terms that must all match (AND), as
    ``websearch_to_tsquery`` reads it: ``a -b OR "c d"`` is ``[[a, -b], ["c d"]]``.

    Punctuation around a word is dropped (``(#123456)`` is ``123456``); a term left
    without any letter or digit is ignored.
    """
    groups: list[list[Term]] = [[]]
    tokens = _tokens(query)
    for index, (text, excluded, quoted) in enumerate(tokens):
        is_or = not quoted and not excluded and text.lower() == "or"
        if is_or and groups[-1] and index + 1 < len(tokens):
            groups.append([])
            continue
        words = [_strip(word) for word in text.split()]
        normalised = " ".join(word for word in words if word).lower()
        if normalised:
            groups[-1].append(Term(normalised, excluded))
    return [group for group in groups if group]


def _tokens(query: str) -> list[tuple[str, bool, bool]]:
    """(text, excluded, quoted) for every word or quoted phrase of ``query``."""
    tokens = []
    position, length = 0, len(query)
    while position < length:
        if query[position].isspace():
            position += 1
            continue
        excluded = query[position] == "-" and position + 1 < length and not query[position + 1].isspace()
        if excluded:
            position += 1
        if query[position] == '"':
            end = query.find('"', position + 1)
            end = length if end < 0 else end
            tokens.append((query[position + 1 : end], excluded, True))
            position = end + 1
        else:
            end = position
            while end < length and not query[end].isspace():
                end += 1
            tokens.append((query[position:end], excluded, False))
            position = end
    return tokens


def _strip(word: str) -> str:
    return re.sub(r"^[\W_]+|[\W_]+$", "", word)


# --- Filtering -----------------------------------------------------------------------------


def is_indexed(using: str = "default") -> bool:
    """Whether the database searches through the index (PostgreSQL) or by substring."""
    return connections[using].vendor == "postgresql"


class _MessageCondition(Expression):
    """A condition on a column of the message table under the alias the query gives it
    (``messages_app_message``, or ``U0`` once the queryset is a subquery of ``Exists``),
    kept up to date as Django relabels the query, as its own column references are."""

    conditional = True
    output_field = BooleanField()
    column = ""

    def __init__(self, alias: str | None = None) -> None:
        super().__init__()
        self.alias = alias

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> _MessageCondition:
        clone = self.copy()
        if query is not None and clone.alias is None:
            clone.alias = query.get_initial_alias()
        return clone

    def relabeled_clone(self, change_map: dict[str, str]) -> _MessageCondition:
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def get_group_by_cols(self) -> list[Any]:
        return []

    def qualified_column(self, compiler: Any, connection: Any) -> str:
        return f"{compiler.quote_name_unless_alias(self.alias)}.{connection.ops.quote_name(self.column)}"


class WebSearchMatch(_MessageCondition):
    """``<message alias>."search_vector" @@ websearch_to_tsquery(config, q)``."""

    column = "search_vector"

    def __init__(self, query: str, config: str | None = None, alias: str | None = None) -> None:
        super().__init__(alias)
        self.query = query
        self.config = config or settings.SEARCH_CONFIG

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.query!r}, {self.config!r}, alias={self.alias!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column = self.qualified_column(compiler, connection)
        return f"{column} @@ websearch_to_tsquery(%s::regconfig, %s)", [self.config, self.query]


class _IdIn(_MessageCondition):
    """``<message alias>."id" = ANY(ids)``: one array parameter however many ids."""

    column = "id"

    def __init__(self, ids: list[int], alias: str | None = None) -> None:
        super().__init__(alias)
        self.ids = ids

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return f"{self.qualified_column(compiler, connection)} = ANY(%s::bigint[])", [self.ids]


def _substring_condition(groups: list[list[Term]]) -> Q:
    """The parsed query as icontains conditions on subject and body."""
    condition = Q()
    for group in groups:
        both = Q()
        for term in group:
            found = Q(subject__icontains=term.text) | Q(body__icontains=term.text)
            both &= ~found if term.excluded else found
        condition |= both
    return condition


def matching(queryset: QuerySet[Message], query: str) -> QuerySet[Message]:
    """The messages of ``queryset`` that match ``query``; a blank query filters nothing.

    Works inside ``Exists``/``Subquery`` (``OuterRef``) as well as on its own.
    """
    if not query.strip():
        return queryset
    if UNSTORABLE_RE.search(query):
        # No stored text holds a NUL or a lone surrogate (and PostgreSQL takes no NUL).
        return queryset.none()
    if is_indexed(queryset.db):
        return queryset.filter(WebSearchMatch(query))
    groups = parse(query)
    if not groups:
        return queryset.none()
    return queryset.filter(_substring_condition(groups))


def _probe(query: str, using: str, department_ids: frozenset[int] | None) -> list[tuple[int, int]] | None:
    """(id, customer id) of every message matching ``query``, through the GIN index, when
    there are at most ``PROBE_LIMIT`` of them; None when there are more (PostgreSQL).

    The planner has no statistics for a word missing from the column's most common ones
    and guesses 0.5 % of the table: for a word in one message of ten million it would walk
    the time index through every row to fill a page (or to find the first and last date).
    Asking the index first costs a millisecond for such a word; a common word stops the
    probe early (a scan that reads about PROBE_LIMIT / frequency rows), and there the
    planner's estimate, from the statistics, is right.

    ``department_ids`` (``None``: all) limits the probe to the partitions of the departments
    a user sees (the message table is partitioned by department, models/partitioning.py).
    """
    messages = Message.objects.using(using)
    if department_ids is not None:
        messages = messages.filter(department_id__in=sorted(department_ids))
    rows = list(messages.filter(WebSearchMatch(query)).order_by().values_list("id", "customer_id")[: PROBE_LIMIT + 1])
    return rows if len(rows) <= PROBE_LIMIT else None


def searched(
    queryset: QuerySet[Message], query: str, department_ids: frozenset[int] | None = None
) -> QuerySet[Message]:
    """``matching`` for the admin's pages of the whole table: on PostgreSQL the matches
    of a rarer query are picked by id after one probe of the index (``_probe``, within
    ``department_ids``, those ``queryset`` is limited to), so every query of the page
    (rows, capped count, date range) reads them by primary key."""
    if not query.strip() or UNSTORABLE_RE.search(query) or not is_indexed(queryset.db):
        return matching(queryset, query)
    rows = _probe(query, queryset.db, department_ids)
    if rows is None:
        return matching(queryset, query)
    return queryset.filter(_IdIn(sorted(pk for pk, _ in rows)))


def conversations_matching(
    conversations: QuerySet[Conversation], query: str, department_ids: frozenset[int] | None = None
) -> QuerySet[Conversation]:
    """The conversations of ``conversations`` with messages that match ``query``.

    Messages are found by customer (one conversation per customer): the (customer,
    message_at, id) index serves a conversation's messages. On PostgreSQL a rarer query
    finds its conversations from one probe of the index (``_probe``). How many messages
    match is ``match_counts``, asked for the conversations of one page: as an annotation
    here it would also be computed for every row the admin paginator's capped count reads.
    """
    if query.strip() and not UNSTORABLE_RE.search(query) and is_indexed(conversations.db):
        rows = _probe(query, conversations.db, department_ids)
        if rows is not None:
            return conversations.filter(customer_id__in=sorted({customer for _, customer in rows}))
    messages = matching(Message.objects.filter(customer=OuterRef("customer_id")), query)
    return conversations.filter(Exists(messages.order_by()))


def match_counts(conversations: Iterable[Conversation], query: str) -> dict[int, int]:
    """How many messages of each conversation match ``query``, by conversation id (one
    query; conversations without a match are left out).

    The match is a ``FILTER`` of the count, not a ``WHERE``: the page's conversations'
    messages are read through the (customer, time) index and their stored vectors tested.
    As a ``WHERE`` the planner ANDs in the GIN index, which for a common word is a bitmap
    of a million rows (320 ms at 10 M messages, against 10 ms).
    """
    conversations = list(conversations)
    by_customer = {conversation.customer_id: conversation.pk for conversation in conversations}
    if not by_customer or not query.strip() or UNSTORABLE_RE.search(query):
        return {}
    # With their departments: the message table is partitioned by department (models/partitioning.py).
    departments = sorted({conversation.department_id for conversation in conversations})
    messages = Message.objects.filter(department_id__in=departments, customer_id__in=sorted(by_customer))
    if is_indexed(messages.db):
        condition = Q(WebSearchMatch(query))
    else:
        groups = parse(query)
        if not groups:
            return {}
        condition = _substring_condition(groups)
    rows = (
        messages.order_by()
        .values("customer_id")
        .annotate(n=Count("id", filter=condition))
        .values_list("customer_id", "n")
    )
    return {by_customer[customer_id]: n for customer_id, n in rows if n}


# --- Highlighting --------------------------------------------------------------------------


def render(marked: str) -> SafeString:
    """Text with START/STOP markers as safe HTML: everything escaped, markers as <mark>.

    Unpaired markers are paired up, so the HTML is always well formed.
    """
    parts: list[str] = []
    open_mark = False
    for piece in re.split(f"([{START}{STOP}])", marked):
        if piece == START:
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif piece == STOP:
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        else:
            parts.append(escape(piece))
    if open_mark:
        parts.append("</mark>")
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text escaped above)


def _document(subject: str | None, body: str | None) -> str:
    text = f"{subject or ''} {body or ''}"
    return text.replace(START, "").replace(STOP, "")


class _Headline(Func):
    """``ts_headline(config, document, websearch_to_tsquery(config, q), options)``."""

    output_field = TextField()

    def __init__(self, document: Any, query: str, config: str) -> None:
        super().__init__(document)
        self.query, self.config = query, config

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        document, params = compiler.compile(self.source_expressions[0])
        sql = f"ts_headline(%s::regconfig, {document}, websearch_to_tsquery(%s::regconfig, %s), %s)"
        return sql, [self.config, *params, self.config, self.query, _HEADLINE_OPTIONS]


def _marked_by_postgresql(messages: list[Message], query: str) -> dict[int, str]:
    text = TextField()
    document: Any = Concat(
        Coalesce("subject", Value(""), output_field=text),
        Value(" "),
        Coalesce("body", Value(""), output_field=text),
        output_field=text,
    )
    for marker in (START, STOP):
        document = Replace(document, Value(marker), Value(""))
    rows = (
        Message.objects.using(messages[0]._state.db or "default")
        .filter(
            department_id__in=sorted({message.department_id for message in messages}),
            pk__in=[message.pk for message in messages],
        )
        .annotate(headline=_Headline(document, query, settings.SEARCH_CONFIG))
        .order_by()
        .values_list("pk", "headline")
    )
    return dict(rows)


def _term_pattern(groups: list[list[Term]]) -> re.Pattern[str] | None:
    texts = sorted({term.text for group in groups for term in group if not term.excluded}, key=len, reverse=True)
    if not texts:
        return None
    return re.compile("|".join(r"\s+".join(re.escape(word) for word in text.split()) for text in texts), re.IGNORECASE)


def marked_text(subject: str | None, body: str | None, query: str) -> str:
    """The Python headline: a window of subject and body around the first match, each
    match between START and STOP (the substring rule of ``matching`` on SQLite)."""
    text = " ".join(_document(subject, body).split())
    pattern = _term_pattern(parse(query))
    first = pattern.search(text) if pattern else None
    start = 0
    if first is not None and first.start() > _BEFORE:
        space = text.find(" ", first.start() - _BEFORE)
        start = space + 1 if 0 <= space < first.start() else first.start()
    end = start + _WINDOW
    if first is not None:
        end = max(end, first.end())
    window = text[start:end]
    if pattern is not None:
        window = pattern.sub(lambda match: f"{START}{match.group(0)}{STOP}", window)
    return f"{'…' if start else ''}{window}{'…' if end < len(text) else ''}"


def highlights(messages: Iterable[Message], query: str) -> dict[int, SafeString]:
    """Safe HTML of each message's matched words in context, by message id: one query
    for the rows given (a page), none on SQLite."""
    messages = list(messages)
    if not messages or not query.strip() or UNSTORABLE_RE.search(query):
        return {}
    if is_indexed(messages[0]._state.db or "default"):
        marked = _marked_by_postgresql(messages, query)
    else:
        marked = {message.pk: marked_text(message.subject, message.body, query) for message in messages}
    return {pk: render(text) for pk, text in marked.items()}


# --- The column ----------------------------------------------------------------------------

_CONFIG_RE = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?")


def rebuild_statements(config: str) -> list[str]:
    """The statements that give ``search_vector`` and its index the configuration
    ``config`` (migration 0008's column and index, dropped first), then its statistics."""
    if not _CONFIG_RE.fullmatch(config):
        raise ValueError(f"Not a text-search configuration name: {config!r}")
    return [
        "DROP INDEX IF EXISTS message_search_idx",
        "ALTER TABLE messages_app_message DROP COLUMN IF EXISTS search_vector",
        "ALTER TABLE messages_app_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"(to_tsvector('{config}'::regconfig, coalesce(subject, '') || ' ' || coalesce(body, ''))) STORED",
        "CREATE INDEX message_search_idx ON messages_app_message USING gin (search_vector)",
        # The planner's statistics of the new column: without them every word looks rare.
        "ANALYZE messages_app_message (search_vector)",
    ]


def rebuild_column(config: str, using: str = "default") -> list[str]:
    """Recompute every message's ``search_vector`` with ``config`` in one transaction (the
    table is locked, and rewritten, meanwhile); the statements run. PostgreSQL only."""
    statements = rebuild_statements(config)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT %s::regconfig", [config])
        # ALTER TABLE refuses to run while deferred foreign-key checks of earlier writes in
        # the same transaction are pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in statements:
            cursor.execute(statement)
    return statements
