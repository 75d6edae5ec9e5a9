"""The ``hub`` command: ``hub serve``, ``hub worker``, ``hub dev`` (both, plus Redis when none answers),
``hub migrate`` (create or upgrade the database schema)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

import uvicorn

from hub.errors import SchemaOutdated, SettingsError
from hub.local_redis import LocalRedis, redis_answers
from hub.processes import die_with_parent
from hub.redaction import Redactor, install_log_redaction, quiet_chatty_loggers
from hub.settings import Settings
from hub.storage import CURRENT_VERSION, prepare_schema


def _serve(settings: Settings) -> None:
    from hub.app import create_app

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_chatty_loggers()
    install_log_redaction(Redactor(settings.secrets()))
    asyncio.run(prepare_schema(settings))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ws_max_size=1024 * 1024,
        timeout_graceful_shutdown=5,
    )


def _worker() -> None:
    os.execv(sys.executable, [sys.executable, "-m", "jobs"])


def _dev(settings: Settings) -> None:
    """Hub and one worker in one terminal; a private Redis when REDIS_URL is unset and none answers."""
    asyncio.run(prepare_schema(settings, migrate=True))
    private: LocalRedis | None = None
    if "REDIS_URL" not in os.environ and not _url_from_dotenv() and not redis_answers(settings.redis_url):
        private = LocalRedis(directory=settings.data_dir / "redis").start()
        os.environ["REDIS_URL"] = private.url
        print(f"hub dev: no Redis answered; started a private one at {private.url}", flush=True)
        settings = Settings.from_env()
    worker = subprocess.Popen([sys.executable, "-m", "jobs"], preexec_fn=die_with_parent)
    # uvicorn re-raises the SIGTERM it handled once it has shut down; turn it into an exit that runs the
    # clean-up below instead of killing this process on the spot.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _serve(settings)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=settings.grace_seconds + 15)
        except subprocess.TimeoutExpired:
            worker.kill()
        if private is not None:
            private.stop()


def _migrate(settings: Settings) -> None:
    """Safe to run again, and from several machines at once: the migrations take a lock and skip what is done."""
    version = asyncio.run(prepare_schema(settings, migrate=True))
    print(f"hub migrate: the schema of {settings.database_url} is at version {version}", flush=True)


def _watch(settings: Settings, execution_id: str, after: int | None, base_url: str | None) -> None:
    """Prints an execution's events as JSON lines until the hub closes the socket after the last one."""
    from urllib.parse import quote

    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect

    base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/").replace("http", "ws", 1)
    query = f"?after={after}" if after is not None else ""
    with connect(f"{base}/ws/executions/{quote(execution_id)}{query}") as socket:
        try:
            for message in socket:
                print(message, flush=True)
        except ConnectionClosedError as error:
            sys.exit(f"hub watch: the socket closed: {error}")
        if socket.close_code == 4404:
            sys.exit(f"hub watch: {socket.close_reason}")


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _url_from_dotenv() -> bool:
    from dotenv import dotenv_values

    return bool(dotenv_values(".env").get("REDIS_URL")) if os.path.exists(".env") else False


def _vapid_keys() -> None:
    from hub.push import VapidKeys

    keys = VapidKeys.generate()
    print("# Web Push (VAPID) keys for .env; keep the private key secret.")
    print(f"HUB_VAPID_PUBLIC_KEY={keys.public_key}")
    print(f"HUB_VAPID_PRIVATE_KEY={keys.private_key}")


def build_parser() -> argparse.ArgumentParser:
    """The ``hub`` command line; ``deploy/compose.yaml``'s commands are checked against it."""
    parser = argparse.ArgumentParser(prog="hub", description="Real-time workflow execution hub")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP and WebSocket server")
    commands.add_parser("worker", help="run a worker that executes workflows")
    commands.add_parser("dev", help="run the server and one worker (and Redis, when none answers)")
    commands.add_parser("migrate", help=f"create or upgrade the database schema (to version {CURRENT_VERSION})")
    watch = commands.add_parser("watch", help="print an execution's events as JSON lines, live")
    watch.add_argument("execution_id")
    watch.add_argument("--after", type=int, help="start after this seq (default: a snapshot, then what follows)")
    watch.add_argument("--url", help="the hub's base URL (default: http://HUB_HOST:HUB_PORT)")
    commands.add_parser("vapid-keys", help="print a new VAPID key pair for Web Push, as .env lines")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "vapid-keys":
            _vapid_keys()
        elif arguments.command == "worker":
            _worker()
        elif arguments.command == "migrate":
            _migrate(Settings.from_env())
        elif arguments.command == "watch":
            _watch(Settings.from_env(), arguments.execution_id, arguments.after, arguments.url)
        else:
            settings = Settings.from_env()
            _serve(settings) if arguments.command == "serve" else _dev(settings)
    except (SettingsError, SchemaOutdated) as error:
        parser.exit(2, f"hub: {error.message}\n")
