"""Reading survey answers out of e-mailed replies (surveys/reply_parsing.py).

The rules are documented in docs/surveys-scoring.md.  The invariant everywhere: ``ambiguous`` is
true exactly when ``score`` is None, and an ambiguous reply keeps its whole (trimmed) text as comment.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from surveys.reply_parsing import ParsedReply, parse_survey_reply

CSAT = (1, 5)
CES = (1, 7)
NPS = (0, 10)
SCALES = {"csat": CSAT, "ces": CES, "nps": NPS}

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpora" / "email-reply-parser-zapier"

AMBIGUOUS = object()  # expected outcome: no score, ambiguous, comment = the whole text (trimmed)


def case(text: str, scale: tuple[int, int], score, comment: str | None = None, *, id: str | None = None):
    return pytest.param(text, scale, score, comment, id=id or f"{text!r} on {scale[0]}-{scale[1]}")


def check(text: str, scale: tuple[int, int], score, comment: str | None) -> None:
    result = parse_survey_reply(text, *scale)
    if score is AMBIGUOUS:
        assert result == ParsedReply(None, text.strip(), True)
    else:
        assert result == ParsedReply(score, comment, False)


# --------------------------------------------------------------------------------------------------
# The examples from the brief, on each scale
# --------------------------------------------------------------------------------------------------

BRIEF_EXAMPLES = [
    # plain numbers
    case("5", CSAT, 5, ""),
    case("5", CES, 5, ""),
    case("5", NPS, 5, ""),
    case("10 - great job", NPS, 10, "great job"),
    case("10 - great job", CSAT, AMBIGUOUS),  # outside 1-5
    case("10 - great job", CES, AMBIGUOUS),
    # fractions: the denominator must be the top of the scale; we never rescale
    case("9/10", NPS, 9, ""),
    case("9/10", CSAT, AMBIGUOUS),
    case("9/10", CES, AMBIGUOUS),
    case("4 out of 5", CSAT, 4, ""),
    case("4 out of 5", NPS, AMBIGUOUS),
    case("4 out of 5", CES, AMBIGUOUS),
    # labels belong to the score
    case("Score: 7", NPS, 7, ""),
    case("Score: 7", CES, 7, ""),
    case("Score: 7", CSAT, AMBIGUOUS),
    case("I'd say 6", NPS, 6, ""),
    case("I'd say 6", CES, 6, ""),
    case("I'd say 6", CSAT, AMBIGUOUS),
    # joining punctuation goes, the comment stays
    case("8. Thanks!", NPS, 8, "Thanks!"),
    case("8. Thanks!", CSAT, AMBIGUOUS),
    # stars are out of 5 unless the total is explicit
    case("5 stars", CSAT, 5, ""),
    case("5 stars", NPS, AMBIGUOUS),
    case("5 stars", CES, AMBIGUOUS),
    case("★★★★☆", CSAT, 4, ""),
    case("★★★★☆", NPS, AMBIGUOUS),
    # words map onto the scale by position
    case("very satisfied", CSAT, 5, ""),
    case("very satisfied", CES, 7, ""),
    case("very satisfied", NPS, 10, ""),
    case("satisfied", CSAT, 4, ""),
    case("neutral", CSAT, 3, ""),
    case("neutral", CES, 4, ""),
    case("neutral", NPS, 5, ""),
    case("extremely dissatisfied", CSAT, 1, ""),
    case("extremely dissatisfied", NPS, 0, ""),
    case("not satisfied", CSAT, 2, ""),
    case("very easy", CES, 7, ""),
    case("very easy", CSAT, 5, ""),
    case("Very Difficult!!", CES, 1, ""),
    case("Very Difficult!!", CSAT, 1, ""),
    case("Very Difficult!!", NPS, 0, ""),
    # emoji are not scores
    case("👍", CSAT, AMBIGUOUS),
    case("👍", NPS, AMBIGUOUS),
    # the same number twice is fine; the first mention is the score, the rest stays in the comment
    case("5 - yes 5!", CSAT, 5, "yes 5!"),
    case("5 - yes 5!", NPS, 5, "yes 5!"),
]

# --------------------------------------------------------------------------------------------------
# The word vocabulary
# --------------------------------------------------------------------------------------------------

WORDS = [
    # satisfaction lands exactly on the 1-5 CSAT labels
    case("very unsatisfied", CSAT, 1, ""),
    case("very dissatisfied", CSAT, 1, ""),
    case("unsatisfied", CSAT, 2, ""),
    case("dissatisfied", CSAT, 2, ""),
    case("neither satisfied nor dissatisfied", CSAT, 3, ""),
    case("Neither.", CSAT, 3, ""),
    case("satisfied", CSAT, 4, ""),
    case("somewhat satisfied", CSAT, 4, ""),
    case("very satisfied", CSAT, 5, ""),
    case("extremely satisfied", CSAT, 5, ""),
    case("Very very satisfied", CSAT, 5, ""),
    # ease lands exactly on the 1-7 CES labels
    case("very difficult", CES, 1, ""),
    case("difficult", CES, 2, ""),
    case("somewhat difficult", CES, 3, ""),
    case("a bit difficult", CES, 3, ""),
    case("neither easy nor difficult", CES, 4, ""),
    case("somewhat easy", CES, 5, ""),
    case("easy", CES, 6, ""),
    case("very easy", CES, 7, ""),
    case("Extremely easy!", CES, 7, ""),
    case("hard", CES, 2, ""),
    # likelihood lands on the 0-10 NPS scale
    case("extremely likely", NPS, 10, ""),
    case("definitely", NPS, 10, ""),
    case("Definitely!", NPS, 10, ""),
    case("very likely", NPS, 9, ""),
    case("likely", NPS, 7, ""),
    case("unlikely", NPS, 3, ""),
    case("very unlikely", NPS, 1, ""),
    case("not likely at all", NPS, 0, ""),
    case("not at all likely", NPS, 0, ""),
    case("definitely not", NPS, 0, ""),
    # other families on other scales, by position (halves round away from the middle)
    case("satisfied", CES, 6, ""),
    case("satisfied", NPS, 8, ""),
    case("dissatisfied", NPS, 2, ""),
    case("dissatisfied", CES, 2, ""),
    case("easy", CSAT, 4, ""),
    case("difficult", CSAT, 2, ""),
    case("definitely", CSAT, 5, ""),
    # negation never gives the positive word's score
    case("not satisfied", CES, 2, ""),
    case("not satisfied at all", CSAT, 1, ""),
    case("not at all satisfied", CSAT, 1, ""),
    case("wasn't easy", CES, 2, ""),
    case("wasn\u2019t easy", CES, 2, ""),  # curly apostrophe
    case("It wasnt easy", CES, 2, "It wasnt easy"),
    case("not easy at all", CES, 1, ""),
    case("definitely not satisfied", CSAT, 2, ""),
    case("not very easy", CES, AMBIGUOUS),  # "not very easy" could be 3, 4 or 5
    case("not very satisfied", CSAT, AMBIGUOUS),
    case("not-so-easy", CES, AMBIGUOUS),
    case("not difficult", CES, AMBIGUOUS),  # litotes: easy? neutral?
    case("not dissatisfied", CSAT, AMBIGUOUS),
    case("not unlikely", NPS, AMBIGUOUS),
    case("not neutral", CSAT, AMBIGUOUS),
    case("not definitely", NPS, AMBIGUOUS),
    case("I'm not sure but satisfied", CSAT, 4, "I'm not sure but satisfied"),  # "but" ends the negation
    # German, French and Spanish
    case("sehr zufrieden", CSAT, 5, ""),
    case("zufrieden", CSAT, 4, ""),
    case("unzufrieden", CSAT, 2, ""),
    case("nicht zufrieden", CSAT, 2, ""),
    case("überhaupt nicht zufrieden", CSAT, 1, ""),
    case("très satisfait", CSAT, 5, ""),
    case("Très satisfaite !", CSAT, 5, ""),
    case("pas satisfait", CSAT, 2, ""),
    case("muy satisfecho", CSAT, 5, ""),
    case("muy insatisfecho", CSAT, 1, ""),
    case("no estoy satisfecho", CSAT, 2, ""),
    case("très facile", CES, 7, ""),
    case("muy difícil", CES, 1, ""),
    case("sehr einfach", CES, 7, ""),
    # words that are not on any scale label are not scores
    case("Excellent!", CSAT, AMBIGUOUS),
    case("great", NPS, AMBIGUOUS),
    case("Not bad", CSAT, AMBIGUOUS),
    case("Thanks for your help", CSAT, AMBIGUOUS),
    case("neither the agent nor the manager helped", CSAT, AMBIGUOUS),
    case("Five", CSAT, AMBIGUOUS),  # number words are not read
    case("neutral", (1, 4), AMBIGUOUS),  # an even-sized scale has no middle
    # words that disagree with each other
    case("very satisfied with the agent but the product is difficult", CSAT, AMBIGUOUS),
    case("satisfied and easy", CSAT, 4, "satisfied and easy"),  # agree: both 4 on 1-5
]

# --------------------------------------------------------------------------------------------------
# Numbers that are (not) scores
# --------------------------------------------------------------------------------------------------

NUMBERS = [
    # outside the scale
    case("0", CSAT, AMBIGUOUS),
    case("0", NPS, 0, ""),
    case("6", CSAT, AMBIGUOUS),
    case("11", NPS, AMBIGUOUS),
    case("100", NPS, AMBIGUOUS),
    case("-1", NPS, AMBIGUOUS),
    case("+1", NPS, AMBIGUOUS),
    case("Great -5", NPS, AMBIGUOUS),
    case("99999999999999999999999999999999", NPS, AMBIGUOUS),
    # two different numbers
    case("4 5", CSAT, AMBIGUOUS),
    case("4 or 5", CSAT, AMBIGUOUS),
    case("5, 4", CSAT, AMBIGUOUS),
    case("4-5", CSAT, AMBIGUOUS),
    case("1) fast 2) friendly", CSAT, AMBIGUOUS),
    case("5 - my 2 colleagues were great", CSAT, AMBIGUOUS),
    case("9/10 10/10", NPS, AMBIGUOUS),
    case("5 5", NPS, 5, "5"),
    # decimals
    case("4.5", CSAT, AMBIGUOUS),
    case("4,5", CSAT, AMBIGUOUS),
    case("5.0", CSAT, AMBIGUOUS),
    case("4.5/5", CSAT, AMBIGUOUS),
    case("1,000", NPS, AMBIGUOUS),
    # fractions
    case("10/10 would recommend", NPS, 10, "would recommend"),
    case("0/10", NPS, 0, ""),
    case("11/10", NPS, AMBIGUOUS),
    case("9 / 10", NPS, 9, ""),
    case("9 out of 10!", NPS, 9, ""),
    case("5/5", CSAT, 5, ""),
    case("5/5", NPS, AMBIGUOUS),
    case("4 of 5", CSAT, 4, ""),
    case("4 von 5", CSAT, 4, ""),
    case("4 sur 5", CSAT, 4, ""),
    case("0/5", CSAT, AMBIGUOUS),
    case("Rating: 8/10 - quick and friendly", NPS, 8, "quick and friendly"),
    # stars
    case("5 stars", CSAT, 5, ""),
    case("2 stars", CSAT, 2, ""),
    case("5-star service", CSAT, 5, "service"),
    case("5stars", CSAT, 5, ""),
    case("5 Sterne", CSAT, 5, ""),
    case("4/5 stars", CSAT, 4, ""),
    case("4 out of 5 stars", CSAT, 4, ""),
    case("7/10 stars", NPS, 7, ""),
    case("⭐⭐⭐⭐⭐", CSAT, 5, ""),
    case("⭐️⭐️⭐️⭐️", CSAT, 4, ""),
    case("★★★☆☆ could be better", CSAT, 3, "could be better"),
    case("5⭐", CSAT, 5, ""),
    case("5 ★", CSAT, 5, ""),
    case("3 ★★★", CSAT, 3, ""),
    case("4 ★★", CSAT, AMBIGUOUS),
    case("★★★★★★", CSAT, AMBIGUOUS),
    case("☆☆☆☆☆", CSAT, AMBIGUOUS),
    case("I waited 3 hours, 2 stars", CSAT, 2, "I waited 3 hours"),
    case("5 stars!!! the best", CSAT, 5, "the best"),
    # labels
    case("Score:7", NPS, 7, ""),
    case("score=7", NPS, 7, ""),
    case("My score is 8", NPS, 8, ""),
    case("I give you a 9", NPS, 9, ""),
    case("I'd give it a 10!", NPS, 10, ""),
    case("Rating: 5/5", CSAT, 5, ""),
    case("8 points", NPS, 8, ""),
    # wrappers and separators
    case("(5) great", CSAT, 5, "great"),
    case("*5*", CSAT, 5, ""),
    case('"5"', CSAT, 5, ""),
    case("5!!!", CSAT, 5, ""),
    case("10 -- best support ever", NPS, 10, "best support ever"),
    case("10—great", NPS, 10, "great"),
    case("10-great", NPS, 10, "great"),
    case("great job - 10", NPS, 10, "great job"),
    case("The agent was great, 9, thanks", NPS, 9, "The agent was great, thanks"),
    case("5 👍", CSAT, 5, "👍"),
    # other digits
    case("\uff15", CSAT, 5, ""),  # full-width digit five
    case("\u0665", CSAT, 5, ""),  # Arabic-Indic digit five
    # negative scales work too
    case("-2", (-2, 2), -2, ""),
    case("\u22122", (-2, 2), -2, ""),  # minus sign
    case("neutral", (-2, 2), 0, ""),
]

NOT_SCORES = [
    # numbers that clearly are not scores are ignored: alone they leave no score ...
    case("ticket #1234", NPS, AMBIGUOUS),
    case("#5", CSAT, AMBIGUOUS),
    case("HD-1042", NPS, AMBIGUOUS),
    case("COVID-19", NPS, AMBIGUOUS),
    case("v2", NPS, AMBIGUOUS),
    case("12/03/2025", NPS, AMBIGUOUS),
    case("2025-03-12", NPS, AMBIGUOUS),
    case("12.03.2025", NPS, AMBIGUOUS),
    case("10:30", NPS, AMBIGUOUS),
    case("10am", NPS, AMBIGUOUS),
    case("10 am", NPS, AMBIGUOUS),
    case("2 days", NPS, AMBIGUOUS),
    case("3rd", CSAT, AMBIGUOUS),
    case("https://example.com/5", CSAT, AMBIGUOUS),
    case("$50", NPS, AMBIGUOUS),
    case("50%", NPS, AMBIGUOUS),
    case("555-1234", NPS, AMBIGUOUS),
    case("Windows 10", NPS, AMBIGUOUS),
    case("March 3", NPS, AMBIGUOUS),
    case("3 March", NPS, AMBIGUOUS),
    # ... and beside a score they stay in the comment
    case("ticket #1234 - 5", CSAT, 5, "ticket #1234"),
    case("ticket no. 1234 - 5", CSAT, 5, "ticket no. 1234"),
    case("Re: HD-1042 — 4", CSAT, 4, "Re: HD-1042"),
    case("Thanks for the help with ticket 1234, 5 stars", CSAT, 5, "Thanks for the help with ticket 1234"),
    case("5 - resolved within 24 hours", CSAT, 5, "resolved within 24 hours"),
    case("Fixed on 12/03/2025. 5", CSAT, 5, "Fixed on 12/03/2025."),
    case("at 10:30 tomorrow. 7", NPS, 7, "at 10:30 tomorrow."),
    case("1st time, 5", CSAT, 5, "1st time"),
    case("see https://example.com/ticket/5 - 4", CSAT, 4, "see https://example.com/ticket/5"),
    case("mail me at bob5@example.com, 4", CSAT, 4, "mail me at bob5@example.com"),
    case("iOS 17, 9", NPS, 9, "iOS 17"),
    case("24/7 support, 5", CSAT, 5, "24/7 support"),
    case("case number 12 - 5", CSAT, 5, "case number 12"),
    case("50\u20ac", NPS, AMBIGUOUS),
    case("2 business days", NPS, AMBIGUOUS),
    case("1-5 scale: 4", CSAT, 4, "1-5 scale"),
    case("100% satisfied", CSAT, 4, "100% satisfied"),
    case("on a scale of 1 to 10 I'd say 8", NPS, 8, "on a scale of 1 to 10"),
    case("8 on a scale from 0 to 10", NPS, 8, "on a scale from 0 to 10"),
]

WORDS_AND_NUMBERS = [
    # a number and words agree when they are at most a quarter of the scale apart
    case("5 - very satisfied", CSAT, 5, "very satisfied"),
    case("4 - very satisfied", CSAT, 4, "very satisfied"),
    case("10 - very satisfied", NPS, 10, "very satisfied"),
    case("9 - very easy process", NPS, 9, "very easy process"),
    case("1 - very dissatisfied", CSAT, 1, "very dissatisfied"),
    case("6 - easy", CES, 6, "easy"),
    # ... and disagree beyond that
    case("5 - very unsatisfied", CSAT, AMBIGUOUS),
    case("1 - very satisfied", CSAT, AMBIGUOUS),
    case("3 - very satisfied", CSAT, AMBIGUOUS),
    case("10 - not satisfied", NPS, AMBIGUOUS),
    case("7 - very difficult", CES, AMBIGUOUS),
    case("7 - neutral", CES, AMBIGUOUS),
    case("6 - not very easy", CES, AMBIGUOUS),  # an unclear phrase makes the reply unclear
]

# --------------------------------------------------------------------------------------------------
# Replies as they arrive from mail clients (after quote stripping)
# --------------------------------------------------------------------------------------------------

MAIL_CLIENTS = [
    case("5\n\nSent from my iPhone", CSAT, 5, "", id="iPhone footer"),
    case("5\r\n\r\nSent from my iPhone", CSAT, 5, "", id="iPhone footer with CRLF"),
    case("9\n\nSent from my Samsung Galaxy smartphone.", NPS, 9, "", id="Android footer"),
    case("4\n\nGet Outlook for iOS", CSAT, 4, "", id="Outlook mobile footer"),
    case("4\n\nGet Outlook for Android", CSAT, 4, "", id="Outlook Android footer"),
    case("3\n\nSent from Mail for Windows", CSAT, 3, "", id="Windows Mail footer"),
    case("10\n\nSent from Yahoo Mail for iPhone", NPS, 10, "", id="Yahoo footer"),
    case("9\n\nVon meinem iPhone gesendet", NPS, 9, "", id="German iPhone footer"),
    case("3\nEnvoyé de mon iPhone", CSAT, 3, "", id="French iPhone footer"),
    case("5\n\nEnviado desde mi iPhone", CSAT, 5, "", id="Spanish iPhone footer"),
    case("Sent from my iPhone 15\n\n5", CSAT, 5, "", id="device model number is not a score"),
    case(
        "5\n\nThe agent was very helpful.\n\nSent from my iPhone",
        CSAT,
        5,
        "The agent was very helpful.",
        id="score, comment and footer",
    ),
    case(
        "4\nThe agent was quick.\nThanks, Anna",
        CSAT,
        4,
        "The agent was quick.\nThanks, Anna",
        id="score on the first line, multi-line comment",
    ),
    case("Quick fix, thanks.\n\n5", CSAT, 5, "Quick fix, thanks.", id="score on the last line"),
    case(
        "Great job\n10\nThanks again",
        NPS,
        10,
        "Great job\nThanks again",
        id="score on a middle line keeps the line break",
    ),
    case(
        "Satisfied.\n\nThe technician fixed it in 2 days.",
        CSAT,
        4,
        "The technician fixed it in 2 days.",
        id="words on the first line",
    ),
    case(
        "Very satisfied, thanks for the quick fix",
        CSAT,
        5,
        "thanks for the quick fix",
        id="words then comment",
    ),
    case(
        "Thanks! Very satisfied. Bye",
        CSAT,
        5,
        "Thanks! Very satisfied. Bye",
        id="words inside a sentence stay in the comment",
    ),
    case(
        "5\n-- \nJohn Smith\nAcme Inc.\nTel: +1 (555) 123-4567",
        CSAT,
        5,
        "",
        id="signature after the delimiter is dropped",
    ),
    case(
        "5\n\nJohn Smith\nTel: +1 (555) 123-4567",
        CSAT,
        5,
        "John Smith\nTel: +1 (555) 123-4567",
        id="phone number in an undelimited signature is not a score",
    ),
    case(
        "5\n\nOn Tue, Mar 4, 2025 at 10:30 AM Support <support@example.com> wrote:\n> How satisfied are you?",
        CSAT,
        5,
        "",
        id="leftover quote header and quoted lines are dropped",
    ),
    case(
        "7\n\nAm 04.03.2025 um 10:30 schrieb Support <support@example.com>:\n> Wie zufrieden?",
        NPS,
        7,
        "",
        id="German quote header",
    ),
    case(
        "8\n________________________________\nFrom: Support\nSent: Tuesday\nHow likely is it: 0-10",
        NPS,
        8,
        "",
        id="Outlook separator line",
    ),
    case("5\n\nSent with Proton Mail secure email.", CSAT, 5, "", id="Proton Mail footer"),
    case("5\n-----Original Message-----\nFrom: Support\n3", CSAT, 5, "", id="original message marker"),
    case(
        "5\nEl mar, 4 mar 2025 a las 10:30, Support escribi\u00f3:",
        CSAT,
        5,
        "",
        id="Spanish quote header",
    ),
    case("Sent from my iPhone", CSAT, AMBIGUOUS, id="only a footer"),
    case(
        "Sent from my desk, is much easier then my mobile phone.\n5",
        CSAT,
        5,
        "Sent from my desk, is much easier then my mobile phone.",
        id="a sentence starting with 'Sent from my' is not a footer",
    ),
    case("\n\n  5  \n\n", CSAT, 5, "", id="surrounding blank lines"),
]

EMPTY = [
    case("", CSAT, AMBIGUOUS, id="empty"),
    case("   \n\t ", CSAT, AMBIGUOUS, id="whitespace"),
]


@pytest.mark.parametrize(("text", "scale", "score", "comment"), BRIEF_EXAMPLES)
def test_the_examples_of_the_brief_are_read_per_scale(text, scale, score, comment):
    check(text, scale, score, comment)


@pytest.mark.parametrize(("text", "scale", "score", "comment"), WORDS)
def test_scale_words_map_onto_the_scale_by_position(text, scale, score, comment):
    check(text, scale, score, comment)


@pytest.mark.parametrize(("text", "scale", "score", "comment"), NUMBERS)
def test_numbers_are_scores_only_when_unambiguous(text, scale, score, comment):
    check(text, scale, score, comment)


@pytest.mark.parametrize(("text", "scale", "score", "comment"), NOT_SCORES)
def test_numbers_that_are_clearly_not_scores_are_ignored(text, scale, score, comment):
    check(text, scale, score, comment)


@pytest.mark.parametrize(("text", "scale", "score", "comment"), WORDS_AND_NUMBERS)
def test_a_number_and_words_that_disagree_make_the_reply_ambiguous(text, scale, score, comment):
    check(text, scale, score, comment)


@pytest.mark.parametrize(("text", "scale", "score", "comment"), MAIL_CLIENTS)
def test_replies_from_mail_clients_lose_their_noise(text, scale, score, comment):
    check(text, scale, score, comment)


@pytest.mark.parametrize(("text", "scale", "score", "comment"), EMPTY)
def test_an_empty_reply_has_nothing_to_record(text, scale, score, comment):
    assert parse_survey_reply(text, *scale) == ParsedReply(None, "", True)


@pytest.mark.parametrize(
    ("fixture", "first_line"),
    [
        ("email_iPhone.txt", "5"),
        ("email_BlackBerry.txt", "5"),
        ("email_multi_word_sent_from_my_mobile_device.txt", "5"),
    ],
)
def test_device_footers_in_the_public_corpus_are_not_part_of_the_comment(fixture, first_line):
    body = (CORPUS / fixture).read_text(encoding="utf-8")
    result = parse_survey_reply(f"{first_line}\n{body}", *CSAT)
    assert result == ParsedReply(5, "Here is another email", False)


def test_the_pathological_reply_in_the_public_corpus_is_read_quickly():
    body = (CORPUS / "pathological.txt").read_text(encoding="utf-8")
    started = time.perf_counter()
    result = parse_survey_reply(body, *NPS)
    assert time.perf_counter() - started < 1
    assert result == ParsedReply(None, body.strip(), True)


def test_a_sent_from_my_sentence_in_the_public_corpus_is_kept():
    body = (CORPUS / "email_sent_from_my_not_signature.txt").read_text(encoding="utf-8")
    result = parse_survey_reply(f"5\n{body}", *CSAT)
    assert result.score == 5
    assert result.comment == body.strip()


# --------------------------------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------------------------------


def test_parsed_reply_is_a_frozen_dataclass_with_score_comment_and_ambiguous():
    result = parse_survey_reply("5", *CSAT)
    assert dataclasses.is_dataclass(result)
    assert [field.name for field in dataclasses.fields(result)] == ["score", "comment", "ambiguous"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("scale_min", "scale_max"),
    [(5, 1), (3, 3), (1.0, 5), (1, 5.0), ("1", "5"), (None, 5), (True, 5), (0, True)],
)
def test_an_invalid_scale_is_a_value_error(scale_min, scale_max):
    with pytest.raises(ValueError):
        parse_survey_reply("5", scale_min, scale_max)


@pytest.mark.parametrize("text", [None, 5, b"5"])
def test_text_that_is_not_a_string_is_a_type_error(text):
    with pytest.raises(TypeError):
        parse_survey_reply(text, *CSAT)


def test_the_module_does_not_need_django():
    import subprocess
    import sys

    code = (
        "import sys; import surveys.reply_parsing, surveys.scoring; "
        "sys.exit(any(name == 'django' or name.startswith('django.') for name in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

scales = st.tuples(st.integers(-1000, 1000), st.integers(1, 1000)).map(lambda t: (t[0], t[0] + t[1]))


@given(data=st.data(), scale=scales)
@example(data=None, scale=CSAT).via("the CSAT scale")
def test_any_integer_in_the_scale_is_read_back_exactly(data, scale):
    low, high = scale
    values = range(low, high + 1) if data is None else [data.draw(st.integers(low, high))]
    for n in values:
        assert parse_survey_reply(str(n), low, high) == ParsedReply(n, "", False)


@pytest.mark.parametrize("kind", SCALES)
def test_every_integer_of_the_three_survey_scales_is_read_back_exactly(kind):
    low, high = SCALES[kind]
    for n in range(low, high + 1):
        assert parse_survey_reply(str(n), low, high) == ParsedReply(n, "", False)
        assert parse_survey_reply(f" {n}\n", low, high) == ParsedReply(n, "", False)


@given(scale=scales, offset=st.integers(1, 10**6), below=st.booleans())
def test_any_integer_outside_the_scale_is_ambiguous(scale, offset, below):
    low, high = scale
    n = low - offset if below else high + offset
    assert parse_survey_reply(str(n), low, high) == ParsedReply(None, str(n), True)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(), scale=scales)
def test_arbitrary_text_never_raises_and_ambiguous_means_no_score(text, scale):
    result = parse_survey_reply(text, *scale)
    assert isinstance(result, ParsedReply)
    assert result.ambiguous == (result.score is None)
    if result.ambiguous:
        assert result.comment == text.strip()
    else:
        assert scale[0] <= result.score <= scale[1]
        assert result.comment == result.comment.strip()


reply_like = st.lists(
    st.sampled_from(
        [
            "5",
            "10",
            "-",
            ":",
            "/",
            "9/10",
            "out of",
            "stars",
            "★",
            "☆",
            "not",
            "very",
            "satisfied",
            "easy",
            "difficult",
            "neither",
            "nor",
            "definitely",
            "at all",
            "\n",
            "Sent from my iPhone",
            "-- ",
            "ticket #12",
            "12/03/2025",
            "4.5",
            "Score:",
            "I'd say",
            "👍",
            "http://x.io/5",
            " ",
            ",",
            ".",
            "!",
        ]
    ),
    max_size=12,
).map(" ".join)


@given(text=reply_like, kind=st.sampled_from(sorted(SCALES)))
def test_reply_like_text_never_raises_and_scores_stay_in_the_scale(text, kind):
    low, high = SCALES[kind]
    result = parse_survey_reply(text, low, high)
    assert result.ambiguous == (result.score is None)
    if result.score is not None:
        assert low <= result.score <= high


@given(n=st.integers(1, 5), comment=st.sampled_from(["Thanks!", "great job", "The agent was quick.\nThanks"]))
def test_a_score_then_a_comment_gives_that_score_and_that_comment(n, comment):
    for joiner in (" - ", ": ", ". ", ", ", "\n", "\n\n"):
        assert parse_survey_reply(f"{n}{joiner}{comment}", *CSAT) == ParsedReply(n, comment, False)


# --------------------------------------------------------------------------------------------------
# Hostile input: linear time, no catastrophic backtracking
# --------------------------------------------------------------------------------------------------

SIZE = 100_000
HOSTILE = {
    "digits": "1" * SIZE,
    "spaced digits": "5 " * (SIZE // 2),
    "fraction chain": "1/" * (SIZE // 2),
    "decimal chain": "9." * (SIZE // 2),
    "identifier chain": "a-1-" * (SIZE // 4),
    "negations": "not " * (SIZE // 4) + "satisfied",
    "modifiers": "very " * (SIZE // 5) + "easy",
    "neithers": "neither " * (SIZE // 8),
    "stars": "★" * SIZE,
    "spaced stars": "★ " * (SIZE // 2),
    "url schemes": "http://" * (SIZE // 7),
    "at signs": "@." * (SIZE // 2),
    "newlines": "\n" * SIZE,
    "footer starts": ("Sent from my " * 20 + "\n") * (SIZE // 261),
    "quote headers": ("On " + "x" * 240 + "\n") * (SIZE // 244),
    "labels": ("score " * 9 + "5\n") * (SIZE // 56),
    "out of": "4 out of " * (SIZE // 9),
    "phone lines": "+1 (555) 123-4567\n" * (SIZE // 18),
    "scale mentions": "scale of 1 to 10 " * (SIZE // 17),
    "huge number": "9" * 5000 + "/" + "9" * 5000,
    "mixed": ("5 - very satisfied 12/03 #1 ★☆ not easy http://a.b 4.5 " * 2000)[:SIZE],
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_of_100_kb_is_parsed_quickly(text):
    started = time.perf_counter()
    result = parse_survey_reply(text, *NPS)
    elapsed = time.perf_counter() - started
    assert result.ambiguous == (result.score is None)
    # linear code does any of these in well under a second; quadratic code takes minutes
    assert elapsed < 5, f"{elapsed:.2f}s"


def test_a_100_kb_comment_after_the_score_is_kept_whole():
    comment = "x" * SIZE
    assert parse_survey_reply(f"9 - {comment}", *NPS) == ParsedReply(9, comment, False)
