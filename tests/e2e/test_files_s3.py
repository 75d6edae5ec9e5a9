"""The real hub and a worker with HUB_FILES_URL=s3://…, against moto's S3 server: uploads land in the bucket,
and a worker with a data dir of its own reads them, never touching the hub's disk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.backends import S3Server
from tests.documents import csv_bytes
from tests.support import HubClient, HubStack, hub_stack, linear

PEOPLE = csv_bytes([["name", "city"], ["Ada", "London"], ["Grace", "New York"]])


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture(scope="module")
def worker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("s3-worker")


@pytest.fixture(scope="module")
def s3_stack(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server, bucket: str, worker_dir: Path
) -> Iterator[HubStack]:
    """A hub whose files are in S3, and one worker whose HUB_DATA_DIR is not the hub's."""
    with hub_stack(tmp_path_factory.mktemp("s3-hub"), workers=0, **s3_server.env(bucket)) as stack:
        stack.start_worker(HUB_DATA_DIR=str(worker_dir))
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def s3_client(s3_stack: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(s3_stack)
    yield client
    await client.close()


async def _upload(client: HubClient, name: str, content: bytes, organization_id: str) -> dict[str, str]:
    response = await client.http.post(
        "/api/files", files={"file": (name, content)}, data={"organizationId": organization_id}
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_an_upload_lands_in_the_bucket_under_the_prefix_and_nothing_stays_on_the_hubs_disk(
    s3_client: HubClient, s3_server: S3Server, bucket: str
) -> None:
    body = await _upload(s3_client, "people.csv", PEOPLE, "acme")
    stored = s3_server.client().get_object(Bucket=bucket, Key=f"uploads/acme/{body['fileId']}")
    assert stored["Body"].read() == PEOPLE
    assert not (s3_client.stack.directory / "files").exists()
    assert list((s3_client.stack.directory / "incoming").iterdir()) == []


async def test_a_run_reads_the_upload_from_the_bucket_in_a_worker_with_its_own_data_dir(
    s3_client: HubClient, worker_dir: Path
) -> None:
    body = await _upload(s3_client, "people.csv", PEOPLE, "acme")
    workflow = linear(("read", "excelInput", {"fileId": body["fileId"]}), workflow_id="s3-read")
    done = await s3_client.wait_for(await s3_client.execute(workflow, organizationId="acme"))
    assert done["status"] == "completed", done
    assert done["finalOutput"]["read"]["rows"] == [
        {"name": "Ada", "city": "London"},
        {"name": "Grace", "city": "New York"},
    ]
    assert list((worker_dir / "spool").iterdir()) == []


async def test_another_organizations_upload_in_the_bucket_fails_the_node_as_not_found(s3_client: HubClient) -> None:
    body = await _upload(s3_client, "people.csv", PEOPLE, "owner")
    workflow = linear(("read", "excelInput", {"fileId": body["fileId"]}), workflow_id="s3-foreign")
    done = await s3_client.wait_for(await s3_client.execute(workflow, organizationId="intruder"))
    assert done["status"] == "failed"
    assert f"No file '{body['fileId']}' was uploaded for organization 'intruder'" in done["error"]


async def test_an_object_deleted_from_the_bucket_fails_the_node_saying_its_content_is_missing(
    s3_client: HubClient, s3_server: S3Server, bucket: str
) -> None:
    body = await _upload(s3_client, "people.csv", PEOPLE, "acme")
    s3_server.client().delete_object(Bucket=bucket, Key=f"uploads/acme/{body['fileId']}")
    workflow = linear(("read", "excelInput", {"fileId": body["fileId"]}), workflow_id="s3-missing")
    done = await s3_client.wait_for(await s3_client.execute(workflow, organizationId="acme"))
    assert done["status"] == "failed"
    assert f"The content of file '{body['fileId']}' (people.csv) is missing from the file store" in done["error"]


async def test_an_upload_to_a_bucket_that_does_not_exist_is_503_naming_the_store(
    tmp_path: Path, s3_server: S3Server
) -> None:
    with hub_stack(tmp_path, workers=0, **s3_server.env("hub-test-no-such-bucket")) as stack:
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
            response = await http.post("/api/files", files={"file": ("a.csv", b"a\n1\n")})
    assert response.status_code == 503
    assert "s3://hub-test-no-such-bucket/uploads/" in response.json()["error"]
    assert S3Server.secret_access_key not in response.text
    assert list((tmp_path / "incoming").iterdir()) == []
