"""``make bench``: the hub's figures, each measured beside its own baseline in the same run."""
