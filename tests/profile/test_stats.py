"""Latency statistics against independent computations, and the stopping rule on a scripted clock."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from comix.profile.stats import LatencyStats, StoppingRule, measure, measure_interleaved


def test_statistics_match_the_standard_library_and_a_worked_example():
    seconds = [0.010, 0.012, 0.011, 0.030, 0.013, 0.012, 0.011, 0.014]
    stats = LatencyStats.from_samples(seconds, [s / 2 for s in seconds])
    ms = [s * 1e3 for s in seconds]
    assert stats.iterations == 8
    assert stats.mean_ms == pytest.approx(statistics.fmean(ms))
    assert stats.std_ms == pytest.approx(statistics.stdev(ms))
    assert stats.rse == pytest.approx(statistics.stdev(ms) / math.sqrt(8) / statistics.fmean(ms))
    assert (stats.min_ms, stats.max_ms) == pytest.approx((10.0, 30.0))
    # sorted: 10 11 11 12 12 13 14 30; linear interpolation at rank q * (n - 1)
    assert stats.p50_ms == pytest.approx(12.0)
    assert stats.p90_ms == pytest.approx(14 + 0.3 * 16)  # rank 6.3
    assert stats.p99_ms == pytest.approx(14 + 0.93 * 16)  # rank 6.93
    assert (stats.p25_ms, stats.p75_ms) == pytest.approx((11.0, 13.25))
    assert stats.cpu_p50_ms == pytest.approx(6.0) and stats.cpu_mean_ms == pytest.approx(
        stats.mean_ms / 2
    )
    assert "samples_ms" not in stats.as_dict(samples=False)


def test_one_sample_has_no_spread_and_no_sample_is_refused():
    one = LatencyStats.from_samples([0.005])
    assert one.std_ms == 0.0 and math.isinf(one.rse) and math.isnan(one.cpu_p50_ms)
    with pytest.raises(ValueError, match="got none"):
        LatencyStats.from_samples([])


class ScriptedClock:
    """perf_counter stand-in: each ``run()`` advances it by the next scripted duration."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = iter(durations)
        self.calls = 0

    def __call__(self) -> float:
        return self.now

    def run(self) -> None:
        self.now += next(self.durations)
        self.calls += 1


def test_stops_once_the_mean_is_known_to_the_target_precision():
    # 10, 11, 10, 11 ms: mean 10.5, sample std 0.577, rse 0.577 / 2 / 10.5 = 2.75 % (n=4); 1.94 % at n=7
    for target, iterations in ((0.03, 4), (0.02, 7)):
        clock = ScriptedClock(
            [1.0] * 2 + [0.010, 0.011] * 50
        )  # two warm-up calls, then a steady alternation
        rule = StoppingRule(
            warmup=2, min_iterations=4, max_iterations=100, target_rse=target, max_seconds=1e9
        )
        result = measure(clock.run, rule, clock=clock, cpu_clock=clock)
        assert result.stats.iterations == iterations and result.stop_reason.startswith(
            "relative standard error"
        )
    assert result.stats.max_ms == pytest.approx(11.0), "warm-up calls are not timed"


@pytest.mark.parametrize(
    "durations,rule,reason,iterations",
    [
        ([0.01, 0.05] * 100, StoppingRule(0, 2, 6, 1e-6, 1e9), "iteration cap (6)", 6),
        ([0.01, 0.05] * 100, StoppingRule(0, 2, 100, 1e-6, 0.1), "time cap (0.1 s)", 4),
    ],
)
def test_caps_stop_a_noisy_measurement(durations, rule, reason, iterations):
    clock = ScriptedClock(durations)
    result = measure(clock.run, rule, clock=clock, cpu_clock=clock)
    assert result.stop_reason == reason and result.stats.iterations == iterations


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"warmup": -1}, "--warmup: got -1"),
        ({"min_iterations": 5, "max_iterations": 4}, "1 <= min <= max"),
        ({"target_rse": 0}, "--target-rse: got 0"),
        ({"max_seconds": 0}, "--max-seconds: got 0"),
    ],
)
def test_a_bad_rule_is_refused_with_got_and_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StoppingRule(**kwargs)


def test_interleaved_runs_alternate_round_by_round():
    order = []
    runners = {name: (lambda name=name: order.append(name)) for name in ("a", "b", "c")}
    stats = measure_interleaved(runners, rounds=3, warmup=1)
    assert order == ["a", "b", "c"] + ["a", "b", "c"] * 3
    assert set(stats) == {"a", "b", "c"} and all(s.iterations == 3 for s in stats.values())
    assert np.isfinite([s.p50_ms for s in stats.values()]).all()
