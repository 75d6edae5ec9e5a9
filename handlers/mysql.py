"""``mysql``: one parameterised query against a MySQL or MariaDB connection named in the settings.

``config.connection`` (default ``default``) picks ``HUB_MYSQL_<NAME>_URL``. ``config.query`` is never a
template: values go in ``config.params``, a list for ``%s`` placeholders or an object for ``%(name)s``
ones, and the driver escapes them. A query with a result set gives ``{rows, columns, rowCount}``; any
other gives ``{affectedRows, lastInsertId}``. Each worker keeps one pool per connection.

Rows are read unbuffered, and at most ``config.maxRows`` of them (default 10,000) are kept: a query that
returns more gives the first ``maxRows`` with ``truncated: true`` and a warning in the log, instead of
holding an unbounded result in the worker's memory and the store.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql

from handlers._records import table
from handlers._validation import optional_integer, optional_string, positive_integer, required_string
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult
from handlers.settings import NodeSettings
from handlers.templating import is_template

RAW_KEYS = frozenset({"query"})
"""The query is sent as written: a template in it would put values into SQL unescaped."""

DEFAULT_CONNECTION = "default"
DEFAULT_MAX_ROWS = 10_000
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_POOL_SIZE = 10
_RECYCLE_SECONDS = 3600


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = [
        *required_string(config, "query"),
        *optional_string(config, "connection"),
        *optional_integer(config, "maxRows", minimum=1),
    ]
    query = config.get("query")
    if isinstance(query, str) and is_template(query):
        problems.append(
            ConfigProblem("query", "query cannot hold templates; put the values in params and use %s placeholders")
        )
    params = config.get("params")
    if params is not None and not isinstance(params, list | Mapping):
        if not (isinstance(params, str) and is_template(params)):
            problems.append(ConfigProblem("params", "params must be a list (for %s) or an object (for %(name)s)"))
    connection = config.get("connection")
    if isinstance(connection, str) and not is_template(connection) and not _NAME.match(connection):
        problems.append(ConfigProblem("connection", "connection must be a name of letters, digits and underscores"))
    return problems


def check_settings(config: Mapping[str, Any], settings: NodeSettings) -> list[ConfigProblem]:
    """The connection must be configured on this hub, when its name is known before the run."""
    name = config.get("connection") or DEFAULT_CONNECTION
    if not isinstance(name, str) or is_template(name) or not _NAME.match(name):
        return []
    if name.lower() in settings.mysql_urls:
        return []
    return [ConfigProblem("connection", _unknown(name, settings))]


def _unknown(name: str, settings: NodeSettings) -> str:
    known = ", ".join(sorted(settings.mysql_urls)) or "none"
    return f"no MySQL connection named {name!r} (set {_variable(name)}); configured: {known}"


def _variable(name: str) -> str:
    return f"HUB_MYSQL_{name.upper()}_URL"


async def run(ctx: NodeContext) -> NodeResult:
    name = str(ctx.config.get("connection") or DEFAULT_CONNECTION)
    url = ctx.settings.mysql_urls.get(name.lower())
    if url is None:
        raise NodeError(_unknown(name, ctx.settings))
    timeout = ctx.settings.mysql_timeout_seconds
    pool = await ctx.resources.get(f"mysql:{name.lower()}", lambda: _open_pool(name, url, timeout))
    query = str(ctx.config["query"])
    params = _params(ctx.config.get("params"))
    max_rows = _max_rows(ctx.config.get("maxRows"))
    try:
        async with (
            asyncio.timeout(timeout),
            pool.acquire() as connection,
            connection.cursor(aiomysql.SSCursor) as cursor,
        ):
            try:
                await cursor.execute(query, params)
            except (TypeError, KeyError, ValueError) as error:
                raise NodeError(
                    f"config.params do not fit the query ({error}): use one plain value per placeholder, %s "
                    "with a list, %(name)s with an object, and %% for a literal %"
                ) from None
            if cursor.description is None:
                output = {"affectedRows": cursor.rowcount, "lastInsertId": cursor.lastrowid or None}
                return NodeResult(True, f"{cursor.rowcount} row(s) affected", output)
            columns = _column_names(cursor.description)
            fetched = await cursor.fetchmany(max_rows + 1)
            rows = [
                {column: _json_safe(value) for column, value in zip(columns, row, strict=True)}
                for row in fetched[:max_rows]
            ]
    except TimeoutError:
        raise NodeError(f"The MySQL query did not finish within {timeout:g} s (HUB_MYSQL_TIMEOUT_SECONDS)") from None
    except aiomysql.MySQLError as error:
        raise NodeError(f"MySQL connection {name!r}: {_describe(error)}") from None
    output = table(rows, columns)
    if len(fetched) > max_rows:
        output["truncated"] = True
        await ctx.log(
            f"The query returned more than {max_rows} rows; only the first {max_rows} are kept. "
            "Add a LIMIT, or raise config.maxRows.",
            "warning",
        )
        return NodeResult(True, f"first {max_rows} row(s) of more", output)
    return NodeResult(True, f"{len(rows)} row(s)", output)


def _max_rows(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_ROWS
    max_rows = positive_integer(value)
    if max_rows is None:
        raise NodeError(f"config.maxRows must render to a positive integer, got {value!r}")
    return max_rows


async def _open_pool(name: str, url: str, connect_seconds: float) -> Any:
    options = _connect_options(name, url)
    try:
        return await aiomysql.create_pool(
            minsize=1,
            maxsize=_POOL_SIZE,
            pool_recycle=_RECYCLE_SECONDS,
            connect_timeout=connect_seconds,
            autocommit=True,
            charset="utf8mb4",
            local_infile=False,
            **options,
        )
    except aiomysql.MySQLError as error:
        raise NodeError(f"Could not connect to MySQL connection {name!r}: {_describe(error)}") from None
    except OSError as error:
        raise NodeError(f"Could not connect to MySQL connection {name!r}: {error.strerror or error}") from None


def _connect_options(name: str, url: str) -> dict[str, Any]:
    """Host, port, user, password and database from ``mysql://user:password@host:port/database``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise NodeError(f"{_variable(name)} must be a mysql:// URL")
    try:
        port = parts.port or 3306
    except ValueError:
        raise NodeError(f"{_variable(name)} has an invalid port") from None
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": unquote(parts.path.lstrip("/")) or None,
    }


def _params(params: Any) -> list[Any] | dict[str, Any] | None:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {str(key): value for key, value in params.items()}
    if isinstance(params, list):
        return params
    raise NodeError(f"config.params must render to a list or an object, got {type(params).__name__}")


def _column_names(description: Any) -> list[str]:
    """Column labels in order; a repeated label (two tables' ``id``) gets ``_2``, ``_3`` so no value is lost."""
    names: list[str] = []
    for column in description:
        name, number = str(column[0]), 2
        while name in names:
            name, number = f"{column[0]}_{number}", number + 1
        names.append(name)
    return names


def _json_safe(value: Any) -> Any:
    """A driver value as JSON: times as ISO 8601, DECIMAL as a number, binary as text or base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(str(item) for item in value)
    return str(value)


def _duration(value: timedelta) -> str:
    """A TIME column (the driver gives a timedelta) as MySQL writes it: ``-838:59:59`` to ``838:59:59``."""
    sign = "-" if value < timedelta(0) else ""
    total = abs(value)
    hours, rest = divmod(total.days * 86_400 + total.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = f".{total.microseconds:06d}" if total.microseconds else ""
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


def _describe(error: aiomysql.MySQLError) -> str:
    """``(1045, "Access denied …")`` as ``error 1045: Access denied …``; the driver never puts the password in."""
    if len(error.args) >= 2 and isinstance(error.args[0], int):
        return f"error {error.args[0]}: {error.args[1]}"
    return str(error) or type(error).__name__
