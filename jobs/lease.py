"""What a worker knows of its lease on one execution, without asking the store."""

from __future__ import annotations

import time


class Lease:
    """The lease is held at least until ``held_until`` (wall clock, the store's clock on the same machine).

    The store sets a lease's expiry to its own clock plus the lease when it commits a claim or a renewal, so
    the time read just before asking is a lower bound. Until then no other worker can claim the execution:
    while a good margin remains, this worker may go on without waiting for each write's fenced commit.
    """

    def __init__(self, seconds: float, asked_at: float) -> None:
        self.seconds = seconds
        self.held_until = asked_at + seconds

    def renewed(self, asked_at: float) -> None:
        self.held_until = max(self.held_until, asked_at + self.seconds)

    @property
    def certain(self) -> bool:
        """Held for at least another third of the lease: as long as the keeper takes to renew it once."""
        return time.time() < self.held_until - self.seconds / 3
