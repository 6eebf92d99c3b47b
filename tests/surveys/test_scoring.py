"""Score formulas: hand-computed data, and every published example in
tests/data/corpora/expected/survey_metrics_examples.json (including the ones that are wrong at the source)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.scoring import (
    POOR_ANSWERS,
    SCALES,
    ces_mean,
    ces_percent_easy,
    csat_percent,
    is_poor_answer,
    nps,
    response_rate,
    round_half_up,
    score_counts,
)

EXAMPLES_FILE = (
    Path(__file__).resolve().parents[1] / "data" / "corpora" / "expected" / "survey_metrics_examples.json"
)
EXAMPLES = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))


def int_counts(counts: dict[str, int]) -> dict[int, int]:
    """The file's count tables are keyed by strings ("5": 42)."""
    return {int(score): count for score, count in counts.items()}


# --------------------------------------------------------------------------------------------------
# Scales and validation
# --------------------------------------------------------------------------------------------------


def test_the_scales_are_csat_1_to_5_ces_1_to_7_and_nps_0_to_10():
    assert SCALES == {"csat": (1, 5), "ces": (1, 7), "nps": (0, 10)}


def test_poor_answers_are_csat_1_2_ces_1_3_and_nps_0_6():
    assert POOR_ANSWERS == {"csat": (1, 2), "ces": (1, 3), "nps": (0, 6)}
    assert [s for s in range(1, 6) if is_poor_answer("csat", s)] == [1, 2]
    assert [s for s in range(1, 8) if is_poor_answer("ces", s)] == [1, 2, 3]
    assert [s for s in range(0, 11) if is_poor_answer("nps", s)] == [0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("kind", "score"), [("csat", 0), ("csat", 6), ("ces", 0), ("ces", 8), ("nps", -1), ("nps", 11)]
)
def test_a_score_outside_its_scale_is_rejected_everywhere(kind, score):
    with pytest.raises(ValueError, match="outside"):
        is_poor_answer(kind, score)
    with pytest.raises(ValueError, match="outside"):
        score_counts(kind, [score])
    with pytest.raises(ValueError, match="outside"):
        score_counts(kind, {score: 1})


@pytest.mark.parametrize(
    ("function", "bad"),
    [
        (csat_percent, [6]),
        (csat_percent, [0]),
        (nps, [11]),
        (nps, {-1: 2}),
        (ces_mean, [8]),
        (ces_percent_easy, [0]),
    ],
)
def test_each_formula_rejects_scores_outside_its_own_scale(function, bad):
    with pytest.raises(ValueError):
        function(bad)


def test_an_unknown_survey_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown survey kind"):
        is_poor_answer("ces2", 3)
    with pytest.raises(ValueError, match="unknown survey kind"):
        score_counts("CSAT", [3])


@pytest.mark.parametrize("bad", [4.0, "4", None, True])
def test_a_score_that_is_not_an_integer_is_a_type_error(bad):
    with pytest.raises(TypeError):
        csat_percent([bad])
    with pytest.raises(TypeError):
        is_poor_answer("csat", bad)


def test_a_string_of_digits_is_not_taken_for_a_list_of_scores():
    with pytest.raises(TypeError):
        csat_percent("545")


def test_a_negative_or_fractional_count_in_a_mapping_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        csat_percent({5: -1})
    with pytest.raises(TypeError):
        csat_percent({5: 1.5})


def test_scores_and_counts_are_normalised_to_the_same_table():
    assert score_counts("csat", [5, 4, 4, 1]) == {5: 1, 4: 2, 1: 1}
    assert score_counts("csat", {5: 1, 4: 2, 1: 1, 3: 0}) == {5: 1, 4: 2, 1: 1}
    assert score_counts("nps", iter([0, 0, 10])) == {0: 2, 10: 1}


# --------------------------------------------------------------------------------------------------
# Hand-computed data
# --------------------------------------------------------------------------------------------------


def test_csat_counts_only_4_and_5_as_satisfied():
    # 5, 5, 4 satisfied; 3, 2, 1 not: 3 of 6 = 50 %
    assert csat_percent([5, 5, 4, 3, 2, 1]) == 50.0
    # a neutral 3 is not satisfied
    assert csat_percent([3, 3, 3, 4]) == 25.0
    assert csat_percent([5]) == 100.0
    assert csat_percent([1, 2, 3]) == 0.0


def test_csat_is_the_same_for_a_list_and_for_its_counts():
    assert csat_percent({5: 3, 4: 1, 2: 4}) == csat_percent([5, 5, 5, 4, 2, 2, 2, 2]) == 50.0


def test_csat_returns_an_unrounded_float():
    # 2 of 3 satisfied
    assert csat_percent([4, 5, 1]) == pytest.approx(66.666666, abs=1e-5)


def test_nps_is_percent_promoters_minus_percent_detractors():
    # promoters 10, 9, 9 (3); passives 8, 7 (2); detractors 6, 0, 3 (3) of 8 -> (3 - 3) / 8 = 0
    assert nps([10, 9, 9, 8, 7, 6, 0, 3]) == 0.0
    # 2 promoters, 1 passive, 1 detractor of 4 -> 25
    assert nps([9, 10, 7, 6]) == 25.0
    assert nps([10, 10]) == 100.0
    assert nps([0, 6]) == -100.0
    assert nps([7, 8]) == 0.0


def test_nps_counts_a_6_as_a_detractor_and_a_7_as_passive():
    assert nps([6]) == -100.0
    assert nps([7]) == 0.0
    assert nps([9]) == 100.0


def test_ces_mean_is_the_average_answer():
    # (7 + 6 + 5 + 1) / 4 = 4.75
    assert ces_mean([7, 6, 5, 1]) == 4.75
    assert ces_mean({7: 2, 1: 2}) == 4.0


def test_ces_percent_easy_counts_5_6_and_7():
    # 7, 6, 5 easy; 4 neutral; 3, 1 hard: 3 of 6 = 50 %
    assert ces_percent_easy([7, 6, 5, 4, 3, 1]) == 50.0
    assert ces_percent_easy([4]) == 0.0


@pytest.mark.parametrize("function", [csat_percent, nps, ces_mean, ces_percent_easy])
@pytest.mark.parametrize("empty", [[], {}, {5: 0}, iter(())])
def test_no_responses_give_none_not_zero(function, empty):
    # None, not 0: "nobody answered" must not look like "everybody was unhappy"
    assert function(empty) is None


def test_response_rate_is_responses_as_a_percentage_of_surveys_sent():
    assert response_rate(25, 200) == 12.5
    assert response_rate(0, 10) == 0.0
    assert response_rate(10, 10) == 100.0


def test_response_rate_is_none_when_nothing_was_sent():
    assert response_rate(0, 0) is None


@pytest.mark.parametrize(("responded", "sent"), [(11, 10), (-1, 10), (1, -1)])
def test_response_rate_rejects_impossible_counts(responded, sent):
    with pytest.raises(ValueError):
        response_rate(responded, sent)


def test_response_rate_rejects_non_integers():
    with pytest.raises(TypeError):
        response_rate(1.0, 10)


@given(st.lists(st.integers(0, 10), min_size=1))
def test_nps_always_lies_between_minus_100_and_100(scores):
    assert -100 <= nps(scores) <= 100


@given(st.dictionaries(st.integers(1, 5), st.integers(0, 1000)))
def test_csat_of_counts_equals_csat_of_the_expanded_list(counts):
    expanded = [score for score, count in counts.items() for _ in range(count)]
    assert csat_percent(counts) == csat_percent(expanded)


@given(st.lists(st.integers(1, 7), min_size=1))
def test_ces_mean_lies_within_the_scale(scores):
    assert 1 <= ces_mean(scores) <= 7


# --------------------------------------------------------------------------------------------------
# round_half_up
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (2.5, 0, 3.0),  # round(2.5) == 2 (banker's rounding)
        (3.5, 0, 4.0),
        (0.125, 2, 0.13),  # round(0.125, 2) == 0.12
        (69.1588785, 0, 69.0),
        (69.1588785, 2, 69.16),
        (-22.2222, 1, -22.2),
        (-2.5, 0, -3.0),  # halves go away from zero
        (9.5238, 1, 9.5),
        (2.675, 2, 2.68),  # round(2.675, 2) == 2.67 (binary representation)
    ],
)
def test_round_half_up_rounds_halves_away_from_zero_like_published_figures(value, digits, expected):
    assert round_half_up(value, digits) == expected


def test_pythons_round_would_have_disagreed_with_published_rounding():
    assert round(2.5) == 2 and round_half_up(2.5) == 3
    assert round(0.125, 2) == 0.12 and round_half_up(0.125, 2) == 0.13


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_round_half_up_refuses_non_finite_values(value):
    with pytest.raises(ValueError):
        round_half_up(value, 1)


# --------------------------------------------------------------------------------------------------
# Published examples (survey_metrics_examples.json)
# --------------------------------------------------------------------------------------------------


def check_delighted_csat(entry):
    counts = int_counts(entry["counts"])
    assert sum(counts.values()) == entry["total"] == 107
    assert counts[4] + counts[5] == entry["satisfied"] == 74
    result = csat_percent(counts)
    assert result == pytest.approx(74 / 107 * 100)
    assert entry["result"] == "69.16 -> 69"
    assert round_half_up(result, 2) == 69.16
    assert round_half_up(result) == 69


def check_intercom_csat(entry):
    counts = int_counts(entry["counts"])
    assert sum(counts.values()) == entry["total"] == 50
    assert entry["result"] == "60%"
    assert csat_percent(counts) == 60.0
    # The page also says "calculate the average score": that alternative definition gives
    # (5*10 + 4*20 + 3*10 + 2*5 + 1*5) / 50 = 3.5 on the 1-5 scale.  We implement top-2-box (60 %),
    # not the average.
    average = sum(score * count for score, count in counts.items()) / sum(counts.values())
    assert average == 3.5
    assert csat_percent(counts) != average


def check_primecalculator_csat(entry):
    satisfied, total = entry["counts"]["satisfied(4-5)"], entry["counts"]["total"]
    # any split of 80 satisfied (4-5) and 20 not (1-3) responses
    counts = {5: 50, 4: satisfied - 50, 3: 10, 1: total - satisfied - 10}
    assert csat_percent(counts) == 80.0
    assert entry["result"].startswith("80%")
    # Their edge case "total 0 -> 0" is a different convention: we return None for no responses.
    assert entry["edge"] == "total 0 -> 0 (their formula)"
    assert csat_percent({}) is None


def check_zendesk_binary_csat(entry):
    # Zendesk's binary good/bad on a 1-5 scale (4-5 good, 1-3 bad, 3 counts as BAD) is exactly our
    # top-2-box definition; unrated surveys are excluded - our formulas only ever see responses.
    assert "3 counts as BAD" in entry["rule"]
    assert csat_percent([3]) == 0.0
    assert csat_percent([4]) == 100.0
    good, bad = [4, 5, 5], [1, 2, 3, 3]
    assert csat_percent(good + bad) == len(good) / (len(good) + len(bad)) * 100
    # Their 1-3 and 1-2 scale variants are not CSAT scales here: our CSAT is always 1-5.


def check_sonassi_csat(entry):
    # 3-point scale (excellent/satisfactory/unsatisfactory) - not our 1-5 scale.  What we share:
    # unrated surveys are excluded from CSAT, and the response rate is reported separately.
    assert "unrated excluded" in entry["rule"]
    responses = [5, 4, 2]
    assert csat_percent(responses) == pytest.approx(200 / 3)
    # 3 responses to 15 surveys sent: the 12 unanswered ones change the response rate, not CSAT
    assert response_rate(len(responses), 15) == 20.0


def check_measuringu_nps(entry):
    counts = entry["counts"]
    # any promoter score (9-10), passive score (7-8) and detractor score (0-6) will do
    result = nps({10: counts["promoters"], 8: counts["passives"], 0: counts["detractors"]})
    assert result == pytest.approx((100 - 80) / 210 * 100)
    assert "(100-80)/210 = 9.5" in entry["result"]
    assert entry["status"] == "verified (9.52)"
    assert round_half_up(result, 1) == 9.5
    assert round_half_up(result, 2) == 9.52


def check_gist_doctest_nps(entry):
    assert entry["scores"] == list(range(11))
    result = nps(entry["scores"])
    # promoters 9, 10; passives 7, 8; detractors 0-6 (7 of them): (2 - 7) / 11
    assert result == pytest.approx((2 - 7) / 11 * 100)
    assert entry["result"].startswith("-45.45")
    assert round_half_up(result, 2) == -45.45


def check_rdrr_nps(entry):
    # "NA" is an unanswered survey: dropped before scoring (our functions take integers only)
    answered = [score for score in entry["scores"] if score != "NA"]
    assert answered == [1, 8, 8, 10, 5, 9]
    # promoters 10, 9; passives 8, 8; detractors 1, 5: (2 - 2) / 6
    assert nps(answered) == 0.0
    assert entry["result"].startswith("0 ")
    with pytest.raises(TypeError):
        nps(entry["scores"])


def check_npm_nps(entry):
    result = nps(entry["scores"])
    # promoters 9, 10, 10; passive 7; detractors 1, 5, 5, 6, 3: (3 - 5) / 9
    assert result == pytest.approx((3 - 5) / 9 * 100)
    assert entry["result"].startswith("-22.2")
    assert round_half_up(result, 1) == -22.2


def check_percentages_nps(entry):
    shares = entry["percentages"]
    result = nps({10: shares["promoters"], 7: shares["passives"], 0: shares["detractors"]})
    assert result == 10.0
    assert entry["result"] == "+10"


def check_nicereply_nps_boundary(entry):
    # SOURCE ERROR / boundary trap: the page says "lower than 6 are detractors", which leaves a 6 in
    # no group.  Standard NPS (ours) counts 0-6 as detractors.
    assert "lower than 6" in entry["rule_as_published"]
    scores = [6, 9, 10]
    ours = nps(scores)
    # ours: 2 promoters, 1 detractor of 3
    assert ours == pytest.approx((2 - 1) / 3 * 100)
    # the page's literal wording: 2 promoters, 0 detractors of 3 -> 66.67, which is wrong
    nicereply_literal = (2 - 0) / 3 * 100
    assert ours != pytest.approx(nicereply_literal)
    assert is_poor_answer("nps", 6)


def check_one_to_ten_nps_variant(entry):
    # A 1-10 variant (detractors 1-6): its answers are a subset of our 0-10 scale and score the same;
    # our scale additionally accepts 0 (also a detractor).
    assert "1-10" in entry["rule"]
    one_to_ten = [1, 6, 7, 9, 10]
    assert nps(one_to_ten) == pytest.approx((2 - 2) / 5 * 100)
    assert nps([0]) == -100.0


def check_cys_ces_7_point(entry):
    counts = int_counts(entry["counts"])
    assert sum(counts.values()) == entry["total"] == 1000
    assert sum(score * count for score, count in counts.items()) == entry["sum"] == 4080
    result = ces_mean(counts)
    assert result == pytest.approx(4.08)
    assert entry["result"] == "average 4.08"
    assert round_half_up(result, 2) == 4.08
    # hand-computed: 160 + 180 + 120 = 460 of 1000 answered 5-7
    assert ces_percent_easy(counts) == 46.0


def check_cys_ces_5_point_source_error(entry):
    # SOURCE ERROR: the page claims 1000 responses, sum 2820, average 2.82; its own counts add up to
    # 1010 responses and a sum of 3020.  (The example is on a 1-5 scale; every answer 1-5 is also
    # valid on our 1-7 CES scale, and the mean is the same arithmetic.)
    counts = int_counts(entry["counts"])
    published_average = 2.82
    assert "average 2.82" in entry["published"]
    assert sum(counts.values()) == 190 + 240 + 110 + 330 + 140 == 1010
    assert sum(s * c for s, c in counts.items()) == 190 + 2 * 240 + 3 * 110 + 4 * 330 + 5 * 140 == 3020
    result = ces_mean(counts)
    assert result == pytest.approx(3020 / 1010)
    assert round_half_up(result, 2) == 2.99
    assert round_half_up(result, 2) != published_average


def check_calculator_academy_ces(entry):
    # Marked "verified" in the file, but the arithmetic is wrong at the source: 4 + 5 + 6 + 7 + 7 is 29,
    # not 24, so the mean is 29 / 5 = 5.8, not 4.8.  We assert the correct number and that it differs.
    assert entry["scores"] == [4, 5, 6, 7, 7]
    assert entry["result"] == "24/5 = 4.8"
    result = ces_mean(entry["scores"])
    assert result == 5.8
    assert result != 4.8
    assert sum(entry["scores"]) == 29


def check_gitlab_ces_definition(entry):
    # 1-3 high effort (negative), 4 neutral, 5-7 low effort: our poor answers are 1-3 and our
    # "easy" share counts 5-7; 4 is neither.
    assert "1-3 high effort" in entry["rule"]
    assert [s for s in range(1, 8) if is_poor_answer("ces", s)] == [1, 2, 3]
    assert ces_percent_easy([5, 6, 7]) == 100.0
    assert ces_percent_easy([4]) == 0.0
    assert not is_poor_answer("ces", 4)


def check_cys_widget_definition(entry):
    # 5-point buckets and a "CES index" (% low effort - % high effort) are an alternative we do not
    # implement; on our 7-point scale the equivalent ingredients are ces_percent_easy (5-7) and the
    # share of poor answers (1-3).
    assert "CES index" in entry["rule"]
    scores = [7, 6, 4, 2]
    easy = ces_percent_easy(scores)
    hard = sum(is_poor_answer("ces", s) for s in scores) / len(scores) * 100
    assert (easy, hard) == (50.0, 25.0)


#: (a fragment of the entry's "src" that identifies it, the check for it)
CHECKS: list[tuple[str, Callable[[dict], None]]] = [
    ("help.delighted.com", check_delighted_csat),
    ("intercom.help", check_intercom_csat),
    ("theprimecalculator.com", check_primecalculator_csat),
    ("Zendesk CSAT", check_zendesk_binary_csat),
    ("sonassi.com", check_sonassi_csat),
    ("MeasuringU", check_measuringu_nps),
    ("same gist doctest", check_gist_doctest_nps),
    ("IUHhelpers", check_rdrr_nps),
    ("npm net-promoter-score", check_npm_nps),
    ("jovial-how-to-compilation", check_percentages_nps),
    ("nicereply.com", check_nicereply_nps_boundary),
    ("RobotGyal/Net-Promoter-Score", check_one_to_ten_nps_variant),
    ("3000095529-customer-effort-score-7-point", check_cys_ces_7_point),
    ("3000095528-customer-effort-score-5-point", check_cys_ces_5_point_source_error),
    ("calculator.academy", check_calculator_academy_ces),
    ("GitLab handbook", check_gitlab_ces_definition),
    ("cys.group widgets", check_cys_widget_definition),
]

#: entries whose published number is wrong: the check shows ours differs and is the correct arithmetic
SOURCE_ERRORS = {
    check_cys_ces_5_point_source_error,
    check_nicereply_nps_boundary,
    # not flagged in the file (it says "verified"), but 4 + 5 + 6 + 7 + 7 = 29, not 24
    check_calculator_academy_ces,
}


def check_for(entry: dict) -> Callable[[dict], None]:
    matching = [check for fragment, check in CHECKS if fragment in entry["src"]]
    assert len(matching) == 1, f"{entry['src']!r} matches {len(matching)} checks"
    return matching[0]


ENTRIES = [(kind, entry) for kind in ("CSAT", "NPS", "CES") for entry in EXAMPLES[kind]]


def test_every_published_example_in_the_file_has_exactly_one_check():
    used = [check_for(entry) for _, entry in ENTRIES]
    assert sorted(check.__name__ for check in used) == sorted(check.__name__ for _, check in CHECKS)


def test_every_example_the_file_flags_as_a_source_error_is_checked_as_one():
    flagged = {check_for(entry) for _, entry in ENTRIES if "SOURCE ERROR" in entry["status"]}
    assert flagged
    assert flagged <= SOURCE_ERRORS


@pytest.mark.parametrize(
    ("kind", "entry"), ENTRIES, ids=[f"{kind}:{entry['src'][:60]}" for kind, entry in ENTRIES]
)
def test_the_published_example_holds_with_our_definitions(kind, entry):
    check_for(entry)(entry)
