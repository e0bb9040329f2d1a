"""Retry waits: exponential, capped, and never below half their step (equal jitter)."""

from sequoia_core.backoff import retry_countdown


def test_each_wait_lies_in_the_upper_half_of_its_exponential_step():
    for retries in range(12):
        step = min(600.0, 2.0 * 2**retries)
        waits = [retry_countdown(retries, base=2.0, cap=600.0) for _ in range(200)]
        assert all(step / 2 <= wait <= step for wait in waits)


def test_eight_retries_cannot_all_land_inside_a_four_minute_outage():
    shortest_total = sum(min(600.0, 2.0 * 2**n) / 2 for n in range(8))
    assert shortest_total >= 4 * 60 - 1
    assert sum(retry_countdown(n, base=2.0, cap=600.0) for n in range(8)) >= shortest_total
