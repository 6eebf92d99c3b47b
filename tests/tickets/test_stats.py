import pytest

from tickets.reporting.stats import mean, percentile_cont


def test_percentile_cont_interpolates_like_postgresql():
    values = [1800, 3600, 7200, 14400]
    assert percentile_cont(values, 0.5) == 5400
    assert percentile_cont(values, 0.9) == pytest.approx(12240)
    assert percentile_cont(values, 0) == 1800
    assert percentile_cont(values, 1) == 14400
    assert percentile_cont([42], 0.9) == 42


def test_empty_lists_have_no_statistics():
    assert percentile_cont([], 0.5) is None
    assert mean([]) is None
    assert mean([1, 2]) == 1.5


def test_a_fraction_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile_cont([1], 90)
