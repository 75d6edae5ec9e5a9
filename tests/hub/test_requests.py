"""Pure rules of the request layer: JSON depth, the socket cursor, what counts as the hub's own origin."""

from __future__ import annotations

from typing import Any

import pytest

from hub.api._request import nested_deeper_than
from hub.body_limit import Limit
from hub.live import MAX_AFTER, parse_after
from hub.origins import same_origin


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = {"x": value} if level % 2 else [value]
    return value


def test_a_flat_object_is_depth_one() -> None:
    assert not nested_deeper_than({"a": 1, "b": "two"}, 1)
    assert nested_deeper_than({"a": {}}, 1)


def test_depth_counts_arrays_and_objects_alike() -> None:
    assert not nested_deeper_than(_nested(64), 64)
    assert nested_deeper_than(_nested(65), 64)


def test_scalars_have_no_depth() -> None:
    assert not nested_deeper_than("text", 0)


def test_the_deepest_branch_decides_not_the_first() -> None:
    assert nested_deeper_than({"shallow": 1, "deep": [[[[1]]]]}, 4)


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("0", 0), ("17", 17), (str(MAX_AFTER), MAX_AFTER)])
def test_a_socket_cursor_is_ascii_digits_up_to_two_to_the_63_less_one(raw: str | None, expected: int | None) -> None:
    assert parse_after(raw) == expected


@pytest.mark.parametrize("raw", [str(MAX_AFTER + 1), "-1", "²", "١", "", "1" * 5000, "+3"])
def test_any_other_socket_cursor_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_after(raw)


def test_the_hubs_own_origin_is_the_scheme_and_host_the_request_was_sent_to() -> None:
    assert same_origin("http://127.0.0.1:8000", "http", "127.0.0.1:8000")
    assert same_origin("HTTP://Hub.Example", "http", "hub.example")


@pytest.mark.parametrize(
    "origin", ["https://127.0.0.1:8000", "http://127.0.0.1:8001", "http://127.0.0.1", "null", "http://evil.example"]
)
def test_another_scheme_port_or_host_is_another_origin(origin: str) -> None:
    assert not same_origin(origin, "http", "127.0.0.1:8000")


def test_a_body_limit_names_its_setting_and_counts_the_slack() -> None:
    limit = Limit(0.5, "HUB_MAX_BODY_MB", slack_bytes=10)
    assert limit.max_bytes == 512 * 1024 + 10
    assert "0.5 MB" in limit.refusal() and "HUB_MAX_BODY_MB" in limit.refusal()
