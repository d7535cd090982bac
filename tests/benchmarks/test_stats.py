"""Percentiles, rates from timestamps, ratios and targets."""

from __future__ import annotations

import pytest

from benchmarks import stats


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 11)]
    assert stats.percentile(values, 0) == 1
    assert stats.percentile(values, 100) == 10
    assert stats.percentile(values, 50) == pytest.approx(5.5)
    assert stats.percentile(values, 90) == pytest.approx(9.1)
    assert stats.percentile(list(reversed(values)), 99) == pytest.approx(9.91)
    assert stats.percentile([7.0], 99.9) == 7


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        stats.percentile([1.0], 101)


def test_summary_of_a_thousand() -> None:
    values = [float(v) for v in range(1000)]
    summary = stats.summarize(values)
    assert summary["n"] == 1000
    assert summary["p50"] == pytest.approx(499.5)
    assert summary["p99"] == pytest.approx(989.01)
    assert summary["p99.9"] == pytest.approx(998.001)
    assert summary["max"] == 999
    assert stats.summarize([]) == {"n": 0}


def test_rate_counts_intervals_from_first_to_last_output() -> None:
    # 11 outputs over 2 s: 10 intervals, 5 per second; start-up before the first is not in it.
    rate, span = stats.rate_from_timestamps([1000 + 200 * i for i in range(11)][::-1])
    assert span == pytest.approx(2.0)
    assert rate == pytest.approx(5.0)
    assert stats.rate_from_timestamps([5]) == (0.0, 0.0)
    # All in one millisecond: taken as 1 ms, not a division by zero.
    assert stats.rate_from_timestamps([7, 7, 7])[0] == pytest.approx(2000.0)


def test_rate_leaves_out_the_batch_stamped_with_the_first_output() -> None:
    # A batch of 100 published at t=0 (processed before it), then 100 more over 2 s.
    stamps = [0] * 100 + [20 * i for i in range(1, 101)]
    rate, span = stats.rate_from_timestamps(stamps)
    assert span == pytest.approx(2.0)
    assert rate == pytest.approx(50.0)  # not 199 / 2


def test_ratio() -> None:
    assert stats.ratio(3.0, 4.0) == 0.75
    assert stats.ratio(None, 4.0) is None
    assert stats.ratio(3.0, None) is None
    assert stats.ratio(3.0, 0.0) is None


def test_targets_met_missed_and_unmeasured() -> None:
    assert stats.at_least("a", ">= 5", 5.0, 5.0, "5").met is True
    assert stats.at_least("a", ">= 5", 4.9, 5.0, "4.9").met is False
    assert stats.at_most("b", "<= 100", 100.1, 100.0, "100.1").met is False
    assert stats.at_most("b", "<= 100", None, 100.0, "n/a").met is None
