"""What the hub is measured against: bare arq, bare Prefect, a bare asyncio chain, a minimal Starlette server."""
