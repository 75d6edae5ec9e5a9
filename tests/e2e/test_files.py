"""File uploads through the real hub: streamed to disk, size-limited, named safely, checked by content."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.documents import PNG_BYTES, csv_bytes, pdf_bytes, xlsx_bytes
from tests.support import HubStack, hub_stack

LIMIT_MB = 0.25
LIMIT_BYTES = int(LIMIT_MB * 1024 * 1024)


@pytest.fixture(scope="module")
def upload_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    """A hub with a small upload limit; uploads need no worker."""
    with hub_stack(tmp_path_factory.mktemp("uploads"), workers=0, HUB_MAX_UPLOAD_MB=str(LIMIT_MB)) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def http(upload_hub: HubStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=upload_hub.url, timeout=60) as client:
        yield client


def _stored(stack: HubStack) -> list[Path]:
    """Every file the hub keeps under its files folder, partial uploads included."""
    root = stack.directory / "files"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def _upload(http: httpx.AsyncClient, name: str, content: bytes, **fields: str) -> httpx.Response:
    return await http.post("/api/files", files={"file": (name, content)}, data=fields)


def _problems(response: httpx.Response) -> list[str]:
    return [problem["path"] for problem in response.json()["problems"]]


async def test_an_upload_answers_its_metadata_and_lands_under_the_data_dir(
    http: httpx.AsyncClient, upload_hub: HubStack
) -> None:
    content = csv_bytes([["name", "city"], ["Ada", "London"]])
    response = await _upload(http, "people.csv", content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert {key: body[key] for key in ("name", "size", "contentType", "organizationId")} == {
        "name": "people.csv",
        "size": len(content),
        "contentType": "text/csv",
        "organizationId": None,
    }
    assert body["createdAt"].endswith("Z")
    assert (upload_hub.directory / "files" / "_" / body["fileId"]).read_bytes() == content
    fetched = await http.get(f"/api/files/{body['fileId']}")
    assert fetched.status_code == 200 and fetched.json() == body


async def test_an_organizations_file_is_kept_in_its_own_folder(http: httpx.AsyncClient, upload_hub: HubStack) -> None:
    response = await _upload(http, "report.pdf", pdf_bytes(["Q3"]), organizationId="acme")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["organizationId"], body["contentType"]) == ("acme", "application/pdf")
    assert (upload_hub.directory / "files" / "acme" / body["fileId"]).is_file()
    assert (await http.get(f"/api/files/{body['fileId']}", params={"organizationId": "acme"})).status_code == 200
    assert (await http.get(f"/api/files/{body['fileId']}", params={"organizationId": "globex"})).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "book.xlsx",
            xlsx_bytes({"S": [["a"], [1]]}),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("pixel.png", PNG_BYTES, "image/png"),
        ("data.json", b'{"ok": true}', "application/json"),
        ("notes.txt", b"hello", "text/plain"),
    ],
)
async def test_accepted_types_are_stored_with_the_type_their_content_shows(
    http: httpx.AsyncClient, name: str, content: bytes, content_type: str
) -> None:
    response = await _upload(http, name, content)
    assert (response.status_code, response.json()["contentType"]) == (201, content_type)


async def test_an_unknown_file_id_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/files/does-not-exist")
    assert response.status_code == 404 and "does-not-exist" in response.json()["error"]


async def test_an_upload_over_the_limit_is_413_and_keeps_nothing(http: httpx.AsyncClient, upload_hub: HubStack) -> None:
    before = _stored(upload_hub)
    response = await _upload(http, "big.csv", b"x" * (LIMIT_BYTES * 3))
    assert response.status_code == 413
    assert f"{LIMIT_MB:g} MB" in response.json()["error"]
    assert _stored(upload_hub) == before


async def test_a_streamed_upload_is_cut_off_at_the_limit_and_keeps_nothing(
    http: httpx.AsyncClient, upload_hub: HubStack
) -> None:
    """Without Content-Length the hub counts the bytes as they arrive."""
    boundary = "hub-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'.encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(LIMIT_BYTES // 8192 + 8):
            yield b"y" * 8192
        yield f"\r\n--{boundary}--\r\n".encode()

    before = _stored(upload_hub)
    response = await http.post(
        "/api/files", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413
    assert _stored(upload_hub) == before


async def test_a_file_just_under_the_limit_is_accepted(http: httpx.AsyncClient) -> None:
    response = await _upload(http, "edge.txt", b"z" * LIMIT_BYTES)
    assert response.status_code == 201 and response.json()["size"] == LIMIT_BYTES


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "reports/q3.csv", "C:\\Users\\ada\\q3.csv", "..csv"])
async def test_a_name_with_a_path_is_refused_naming_file(
    http: httpx.AsyncClient, upload_hub: HubStack, name: str
) -> None:
    before = _stored(upload_hub)
    response = await _upload(http, name, b"a,b\n1,2\n")
    assert response.status_code == 422, response.text
    assert _problems(response) == ["file"] and "path" in response.json()["problems"][0]["message"]
    assert _stored(upload_hub) == before


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("sales.xlsx", b"name,amount\nAda,1\n", "is not an Excel workbook"),
        ("invoice.pdf", b"<html>Invoice</html>", "is not a PDF document"),
        ("data.csv", bytes(range(256)) * 4, "is not UTF-8 text"),
        ("tool.exe", b"MZ\x90\x00", ".exe files are not accepted"),
    ],
)
async def test_content_that_is_not_what_the_name_says_is_refused(
    http: httpx.AsyncClient, upload_hub: HubStack, name: str, content: bytes, says: str
) -> None:
    before = _stored(upload_hub)
    response = await _upload(http, name, content)
    assert response.status_code == 422, response.text
    assert _problems(response) == ["file"] and says in response.json()["problems"][0]["message"]
    assert _stored(upload_hub) == before


async def test_a_file_under_another_field_name_is_refused_naming_that_field(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/files", files={"document": ("a.csv", b"a\n")})
    assert response.status_code == 422 and _problems(response) == ["document"]


async def test_a_form_without_a_file_is_refused_naming_file(http: httpx.AsyncClient) -> None:
    body = b'--x\r\nContent-Disposition: form-data; name="organizationId"\r\n\r\nacme\r\n--x--\r\n'
    response = await http.post("/api/files", content=body, headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 422 and _problems(response) == ["file"]


async def test_a_bad_organization_id_is_refused_and_nothing_kept(http: httpx.AsyncClient, upload_hub: HubStack) -> None:
    before = _stored(upload_hub)
    response = await _upload(http, "a.csv", b"a\n1\n", organizationId="../other")
    assert response.status_code == 422 and _problems(response) == ["organizationId"]
    assert _stored(upload_hub) == before


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"content-type": "application/json"}, b'{"file": "a.csv"}'),
        ({"content-type": "multipart/form-data; boundary=x"}, b"--x\r\nContent-Disposition: form-data; name="),
    ],
)
async def test_a_body_that_is_not_a_whole_multipart_form_is_400(
    http: httpx.AsyncClient, headers: dict[str, Any], content: bytes
) -> None:
    response = await http.post("/api/files", content=content, headers=headers)
    assert response.status_code == 400 and response.json()["error"]
