"""Node types: pure node logic behind a small contract, with no knowledge of the hub, Redis or Prefect."""
