"""Full-text search of subject and body (messages_app.textsearch), on both databases:
the search-engine syntax, conversation-level search with match counts, highlighting."""

from typing import Any

import pytest
from django.db.models import Exists, OuterRef

from messages_app import textsearch
from messages_app.models import Conversation, Customer, Message
from messages_app.textsearch import START, STOP, Term
from tests.admin.support import import_items
from tests.builders import minimal_message, with_attrs

pytestmark = pytest.mark.django_db

TEXTS = {
    "s1": ("Brake check", "Your brake pads are worn."),
    "s2": ("Invoice 42", "The invoice for your brake service (#123456)."),
    "s3": ("Appointment", "See you at the appointment on Monday."),
    "s4": ("Tyres", "New pads, then the brake test."),
}


def item(source_uuid: str, subject: str | None, body: str | None, minute: int = 0) -> dict[str, Any]:
    return with_attrs(
        minimal_message(0, sourceUuid=source_uuid, sentOn=f"2024-02-01T12:{minute:02d}:00Z"),
        subject=subject,
        body=body,
    )


@pytest.fixture
def texts(department):
    import_items(
        department,
        "customer-a",
        [item(key, subject, body, minute=n) for n, (key, (subject, body)) in enumerate(TEXTS.items())],
    )
    return department


def found(query: str) -> list[str]:
    return sorted(textsearch.matching(Message.objects.all(), query).values_list("source_uuid", flat=True))


# --- The query syntax ----------------------------------------------------------------------


def test_parse_reads_words_phrases_exclusions_and_alternatives():
    assert textsearch.parse('Brake -invoice OR "Brake  pads" -"old tyres"') == [
        [Term("brake"), Term("invoice", excluded=True)],
        [Term("brake pads"), Term("old tyres", excluded=True)],
    ]


def test_parse_drops_punctuation_around_words_and_terms_without_letters():
    assert textsearch.parse("(#123456) - !!") == [[Term("123456")]]


def test_parse_reads_a_leading_or_trailing_or_as_a_word():
    assert textsearch.parse("or brake or") == [[Term("or"), Term("brake"), Term("or")]]


# --- Matching ------------------------------------------------------------------------------


def test_every_word_must_match(texts):
    assert found("brake pads") == ["s1", "s4"]


def test_a_quoted_phrase_matches_its_words_in_order(texts):
    assert found('"brake pads"') == ["s1"]


def test_a_word_of_the_subject_only_matches(texts):
    assert found("tyres") == ["s4"]


def test_a_minus_excludes_a_word(texts):
    assert found("brake -invoice") == ["s1", "s4"]


def test_or_gives_alternatives(texts):
    assert found("invoice OR appointment") == ["s2", "s3"]


def test_case_and_punctuation_are_ignored(texts):
    assert found("BRAKE") == ["s1", "s2", "s4"]
    assert found("(#123456)") == ["s2"]


def test_a_word_nowhere_matches_nothing(texts):
    assert found("zebra") == []


def test_a_blank_query_filters_nothing(texts):
    assert found("   ") == ["s1", "s2", "s3", "s4"]


def test_a_query_without_any_word_matches_nothing(texts):
    assert found("!! --") == []


@pytest.mark.parametrize("query", ["brake\x00", "brake \ud800"], ids=["nul", "lone-surrogate"])
def test_a_query_with_a_nul_or_lone_surrogate_matches_nothing(texts, query):
    assert found(query) == []


def test_a_message_without_subject_or_body_is_searchable(department):
    import_items(department, "customer-a", [item("bare", None, "brake"), item("empty", None, None)])

    assert found("brake") == ["bare"]
    assert found("-brake") == ["empty"]


def test_matching_works_inside_a_subquery(texts):
    matches = textsearch.matching(Message.objects.filter(customer=OuterRef("pk")), "appointment")

    assert list(Customer.objects.filter(Exists(matches)).values_list("uuid", flat=True)) == ["customer-a"]
    assert not Customer.objects.filter(Exists(textsearch.matching(matches, "zebra"))).exists()


# --- Conversations -------------------------------------------------------------------------


def test_conversations_are_found_with_their_number_of_matching_messages(department):
    import_items(department, "two-matches", [item("a1", "Brake", "brake pads"), item("a2", None, "brake fluid")])
    import_items(department, "one-match", [item("b1", None, "brake"), item("b2", None, "invoice")])
    import_items(department, "no-match", [item("c1", None, "invoice")])

    conversations = list(textsearch.conversations_matching(Conversation.objects.all(), "brake"))
    counts = textsearch.match_counts(Conversation.objects.all(), "brake")

    assert sorted(conversation.customer.uuid for conversation in conversations) == ["one-match", "two-matches"]
    assert {Conversation.objects.get(pk=pk).customer.uuid: n for pk, n in counts.items()} == {
        "one-match": 1,
        "two-matches": 2,
    }


def test_match_counts_of_a_page_cost_one_query(department, django_assert_num_queries):
    for n in range(3):
        import_items(department, f"customer-{n}", [item(f"m{n}", None, "brake")])
    page = list(Conversation.objects.all())

    with django_assert_num_queries(1):
        counts = textsearch.match_counts(page, "brake")

    assert sorted(counts.values()) == [1, 1, 1]


def test_conversation_search_keeps_the_given_conversations_only(department):
    import_items(department, "kept", [item("a1", None, "brake")])
    import_items(department, "left-out", [item("b1", None, "brake")])

    conversations = textsearch.conversations_matching(
        Conversation.objects.filter(customer__uuid="kept"), "brake"
    ).values_list("customer__uuid", flat=True)

    assert list(conversations) == ["kept"]


# --- Highlighting --------------------------------------------------------------------------


def headline(query: str, source_uuid: str = "s1") -> str:
    message = Message.objects.get(source_uuid=source_uuid)
    return textsearch.highlights([message], query)[message.pk]


def test_matched_words_are_marked(texts):
    text = headline("pads")

    assert "<mark>pads</mark>" in text
    assert "Brake check" in text


def test_highlighted_text_is_escaped(department):
    # ts_headline leaves HTML tags out of its excerpt; whatever it keeps is escaped.
    import_items(department, "customer-a", [item("x", "<b>Hi</b>", "brake <script>alert(1)</script> & 1 <2 >3")])

    text = headline("brake", "x")

    bare = text.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare
    assert "&amp;" in text
    assert "&lt;2 &gt;3" in text
    assert "<mark>brake</mark>" in text


def test_marker_characters_in_a_body_never_unbalance_the_html(department):
    import_items(department, "customer-a", [item("x", None, f"{STOP}{START}brake {START}x")])

    text = headline("brake", "x")

    assert text.count("<mark>") == text.count("</mark>") == 1


def test_highlights_cost_one_query_on_postgresql_and_none_elsewhere(texts, django_assert_num_queries):
    page = list(Message.objects.all())

    with django_assert_num_queries(1 if textsearch.is_indexed() else 0):
        marked = textsearch.highlights(page, "brake")

    assert set(marked) == {message.pk for message in page}


def test_render_pairs_unpaired_markers():
    assert textsearch.render(f"a{START}<b{START}c{STOP}{STOP}d{START}e") == "a<mark>&lt;bc</mark>d<mark>e</mark>"


def test_the_python_headline_is_a_window_around_the_first_match():
    body = " ".join(["word"] * 100) + " brake pads " + " ".join(["more"] * 100)

    text = textsearch.marked_text(None, body, '"brake pads"')

    assert text.startswith("…") and text.endswith("…")
    assert f"{START}brake pads{STOP}" in text
    assert len(text) < 300


# --- The admin's form: a probe of the index first (PostgreSQL) ------------------------------


@pytest.mark.parametrize("limit", [1, 10_000], ids=["more-than-the-probe", "within-the-probe"])
def test_searched_finds_what_matching_finds(texts, monkeypatch, limit):
    monkeypatch.setattr(textsearch, "PROBE_LIMIT", limit)
    scoped = Message.objects.exclude(source_uuid="s4")

    for query in ("brake", "brake -invoice", '"brake pads"', "zebra"):
        searched = sorted(textsearch.searched(scoped, query).values_list("source_uuid", flat=True))
        assert searched == sorted(textsearch.matching(scoped, query).values_list("source_uuid", flat=True)), query


@pytest.mark.parametrize("limit", [1, 10_000], ids=["more-than-the-probe", "within-the-probe"])
def test_conversation_search_is_the_same_either_side_of_the_probe(department, monkeypatch, limit):
    monkeypatch.setattr(textsearch, "PROBE_LIMIT", limit)
    import_items(department, "kept", [item("a1", None, "brake"), item("a2", None, "brake fluid")])
    import_items(department, "other", [item("b1", None, "brake")])
    import_items(department, "none", [item("c1", None, "invoice")])

    found = textsearch.conversations_matching(Conversation.objects.exclude(customer__uuid="other"), "brake")

    assert list(found.values_list("customer__uuid", flat=True)) == ["kept"]
