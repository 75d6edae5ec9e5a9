"""The retry schedule of deliveries."""

from __future__ import annotations

from jobs.deliveries import MAX_DELAY_SECONDS, retry_delay


def test_retries_double_each_time_with_at_most_a_tenth_of_jitter() -> None:
    for attempts, base in ((1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0)):
        assert base <= retry_delay(attempts, 5.0) <= base * 1.1


def test_retries_wait_an_hour_at_most() -> None:
    assert retry_delay(40, 5.0) <= MAX_DELAY_SECONDS * 1.1
