"""The hub: REST to start and read executions, a live WebSocket channel, the durable store, the event bus."""
