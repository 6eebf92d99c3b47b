"""Similar tickets, the pure part: words, measures, boosts and the reply draft."""

import pytest

from tickets.similar import corpus, scoring


def test_customer_words_drop_the_quoted_history_and_the_signature():
    text = scoring.customer_words(
        "Charged twice",
        "Hello,\n\nMy card was charged twice.\n\n-- \nKim Larsen\nFinance\n\n"
        "On Tue, Support wrote:\n> dashboard",
    )
    assert scoring.query_terms(text) == ["charged", "twice", "card"]


def test_query_terms_skip_stop_words_and_repeats_and_prefer_longer_words():
    assert scoring.query_terms("The invoice and the INVOICE for our refund, thanks", limit=2) == [
        "invoice",
        "refund",
    ]


def test_trigram_similarity_matches_pg_trgm_on_known_pairs():
    # SELECT similarity('word', 'two words') = 0.363636 in PostgreSQL with pg_trgm.
    assert scoring.trigram_similarity("word", "two words") == pytest.approx(4 / 11)
    assert scoring.trigram_similarity("abc", "abc") == 1.0
    assert scoring.trigram_similarity("", "abc") == 0.0


def test_csat_and_recency_boost_the_base_score():
    assert scoring.csat_factor(None) == 1.0
    assert scoring.csat_factor(5) == pytest.approx(1.2)
    assert scoring.csat_factor(1) == pytest.approx(0.8)
    assert scoring.csat_factor(3) == pytest.approx(1.0)
    assert scoring.recency_factor(0) == pytest.approx(1.0)
    assert scoring.recency_factor(scoring.RECENCY_HALF_LIFE_DAYS) == pytest.approx(0.85)
    fresh_and_liked = scoring.score(text_rank=0.5, subject_similarity=0.5, csat=5, age_days=0)
    old_and_disliked = scoring.score(text_rank=0.5, subject_similarity=0.5, csat=1, age_days=720)
    assert fresh_and_liked == pytest.approx(0.9 * 1.2)
    assert old_and_disliked < fresh_and_liked


def test_the_solving_reply_becomes_a_template_then_a_draft_for_the_new_customer():
    old = scoring.DraftValues(
        customer_name="Carla Costa",
        customer_first_name="Carla",
        ticket_reference="HD-1",
        agent_first_name="Ana",
    )
    template = scoring.reply_to_template("Hi Carla, about HD-1: refunded. Carla Costa's banana. Ana", old)
    assert template == (
        "Hi {{ customer.first_name }}, about {{ ticket.reference }}: refunded. "
        "{{ customer.name }}'s banana. {{ agent.first_name }}"
    )


def test_the_corpus_is_deterministic_and_balanced_across_groups():
    first = list(corpus.generate(64, seed=3))
    assert first == list(corpus.generate(64, seed=3))
    assert {ticket.group for ticket in first} == set(corpus.GROUPS)
    assert corpus.precision_at_k([["a", "a", "b", "a", "c"]], ["a"]) == pytest.approx(0.6)


def test_the_candidate_query_takes_the_rarest_terms_that_fit_the_budget():
    shares = {"invoice": 0.2, "charged": 0.004, "twice": 0.01, "refund": 0.05}
    # 1M tickets: charged (4,000) + twice (10,000) fit 20,000; refund would add 50,000.
    assert scoring.candidate_query(shares, 1_000_000, budget=20_000) == "charged | twice"
    # A small table: every term fits.
    assert scoring.candidate_query(shares, 1_000, budget=20_000) == "charged | twice | refund | invoice"


def test_when_no_term_is_rare_enough_the_rarest_are_required_together():
    shares = {"printer": 0.06, "working": 0.08, "hello": 1.0, "please": 0.5}
    # printer alone: 60,000 > 20,000; printer & working: 4,800.
    assert scoring.candidate_query(shares, 1_000_000, budget=20_000) == "printer & working"
    assert scoring.candidate_query({}, 1_000_000) == ""
