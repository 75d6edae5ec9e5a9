"""``http``: one HTTP request with httpx; the output is ``{status, headers, body}``.

The request goes through the worker's guarded client (``handlers.egress``), its answer is read within
``HUB_HTTP_MAX_RESPONSE_MB`` (``handlers.bodies``), and the timeout bounds the whole call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from handlers._validation import one_of, optional_bool, optional_mapping, optional_number, required_string
from handlers.bodies import ByteCap, read_capped, shown_url
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult
from handlers.egress import url_problem
from handlers.templating import is_template

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = required_string(config, "url")
    url = config.get("url")
    problem = url_problem(url) if not problems and isinstance(url, str) and not is_template(url) else None
    if problem is not None:
        problems.append(ConfigProblem("url", f"url {problem}"))
    method = config.get("method")
    normalised = {**config, "method": method.upper()} if isinstance(method, str) else config
    problems += one_of(normalised, "method", METHODS)
    problems += optional_mapping(config, "headers") + optional_mapping(config, "query")
    problems += optional_bool(config, "failOnError") + optional_number(config, "timeoutSeconds", minimum=0.001)
    return problems


def _decode(response: httpx.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


async def run(ctx: NodeContext) -> NodeResult:
    config = ctx.config
    url = str(config["url"])
    problem = url_problem(url)
    if problem is not None:
        raise NodeError(f"url {problem}, got {url[:100]!r}")
    method = str(config.get("method", "GET")).upper()
    timeout = float(config.get("timeoutSeconds") or ctx.settings.http_timeout_seconds)
    body = config.get("body")
    query = {str(k): v for k, v in (config.get("query") or {}).items()}
    # httpx replaces a URL's own query string with `params`, so merge the two instead.
    target = httpx.URL(url).copy_merge_params(query) if query else httpx.URL(url)
    request: dict[str, Any] = {
        "headers": {str(k): str(v) for k, v in (config.get("headers") or {}).items()},
        "timeout": timeout,
    }
    if isinstance(body, Mapping | list):
        request["json"] = body
    elif body is not None:
        request["content"] = str(body)
    cap = ByteCap(ctx.settings.max_response_mb, "HUB_HTTP_MAX_RESPONSE_MB")
    try:
        async with asyncio.timeout(timeout), ctx.http.stream(method, target, **request) as streamed:
            response = await read_capped(streamed, cap, f"The answer of {method} {shown_url(url)}")
    except (TimeoutError, httpx.TimeoutException):
        raise NodeError(f"{method} {shown_url(url)} timed out after {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise NodeError(f"{method} {shown_url(url)} failed: {error or type(error).__name__}") from None
    output = {"status": response.status_code, "headers": dict(response.headers), "body": _decode(response)}
    if response.is_error and config.get("failOnError", True):
        detail = response.text[:200].strip()
        suffix = f": {detail}" if detail else ""
        raise NodeError(f"{method} {shown_url(url)} answered {response.status_code} {response.reason_phrase}{suffix}")
    return NodeResult(True, f"{method} {shown_url(url)} answered {response.status_code}", output)
