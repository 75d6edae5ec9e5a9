"""``python -m tests.stack_server``: a hub, one worker and a private Redis for the Node tests of hub-client.js.

Prints one JSON line, ``{"url": ...}``, once the worker is ready, and stops everything when its standard
input closes (the Node test ended or died) or on SIGTERM.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from tests.support import hub_stack


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit)
    directory = Path(tempfile.mkdtemp(prefix="hub-js-"))
    try:
        with hub_stack(directory, engine="native") as stack:
            print(json.dumps({"url": stack.url, "logs": str(directory)}), flush=True)
            sys.stdin.read()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
