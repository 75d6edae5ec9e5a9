"""Load generators, each run as its own process (``python -m bench.clients.<role> <json arguments>``)."""
