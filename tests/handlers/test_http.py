"""The http node through a guarded client: loopback is refused unless allowed, answers are capped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from handlers.contract import NodeError
from handlers.egress import parse_allow
from handlers.settings import NodeSettings
from tests.fakes import HostileService
from tests.handlers.harness import node_runner
from tests.support import ServiceServer


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with ServiceServer(HostileService(bomb_mb=20).app) as server:
        yield server.url


async def test_a_loopback_server_is_refused_without_the_allow_list(hostile: str) -> None:
    async with node_runner(NodeSettings()) as runner:
        with pytest.raises(NodeError, match="loopback address.*HUB_EGRESS_ALLOW"):
            await runner.run("http", {"url": f"{hostile}/ok"})


async def test_a_loopback_server_on_an_allowed_port_answers(hostile: str) -> None:
    port = hostile.rsplit(":", 1)[1]
    async with node_runner(NodeSettings(egress_allow=parse_allow(f"127.0.0.1:{port}"))) as runner:
        result = await runner.run("http", {"url": f"{hostile}/ok"})
    assert result.output_data["body"] == {"ok": True}


async def test_a_compressed_answer_within_the_cap_is_decompressed(hostile: str) -> None:
    settings = NodeSettings(egress_allow=parse_allow("127.0.0.0/8"), max_response_mb=25)
    async with node_runner(settings) as runner:
        result = await runner.run("http", {"url": f"{hostile}/bomb"})
    assert len(result.output_data["body"]) == 20 * 1024 * 1024


async def test_a_compressed_answer_past_the_cap_fails_the_node(hostile: str) -> None:
    settings = NodeSettings(egress_allow=parse_allow("127.0.0.0/8"), max_response_mb=1)
    async with node_runner(settings) as runner:
        with pytest.raises(NodeError, match=r"larger than the limit of 1 MB \(HUB_HTTP_MAX_RESPONSE_MB\)"):
            await runner.run("http", {"url": f"{hostile}/bomb"})
