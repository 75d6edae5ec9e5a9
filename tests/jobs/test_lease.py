"""Lease: when a worker may go on without waiting for its writes' fenced commits."""

from __future__ import annotations

import time

from jobs.lease import Lease


def test_a_lease_just_taken_is_certain() -> None:
    assert Lease(30, time.time()).certain


def test_a_lease_with_less_than_a_third_left_is_not_certain() -> None:
    assert not Lease(30, time.time() - 21).certain


def test_a_renewal_makes_the_lease_certain_again() -> None:
    lease = Lease(30, time.time() - 25)
    lease.renewed(time.time())
    assert lease.certain


def test_a_renewal_asked_before_an_earlier_one_does_not_shorten_the_lease() -> None:
    lease = Lease(30, time.time())
    lease.renewed(time.time() - 25)
    assert lease.certain
