"""The eight scenarios of issue 6, each measured beside its baseline."""
