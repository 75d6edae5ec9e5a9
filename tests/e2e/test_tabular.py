"""An uploaded CSV through excelInput, splitColumns, saveRecords and fetchData on the real hub and worker."""

from __future__ import annotations

import uuid
from typing import Any

from tests.documents import csv_bytes, pdf_bytes
from tests.support import HubClient, linear

CUSTOMERS = [
    ["email", "name", "city", "spend"],
    ["ada@example.com", "Ada Lovelace", "London", "120"],
    ["grace@example.com", "Grace Hopper", "New York", "80"],
    ["alan@example.com", "Alan Turing", "London", "300"],
]


async def _upload(client: HubClient, name: str, content: bytes, organization_id: str) -> str:
    response = await client.http.post(
        "/api/files", files={"file": (name, content)}, data={"organizationId": organization_id}
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["fileId"]
    return file_id


def _pipeline(file_id: str, entity: str) -> dict[str, Any]:
    return linear(
        ("read", "excelInput", {"fileId": file_id}),
        ("split", "splitColumns", {"column": "name", "delimiter": " ", "into": ["first", "last"]}),
        (
            "save",
            "saveRecords",
            {"entity": entity, "mode": "upsert", "key": "email", "source": "{{ nodes.split.rows }}"},
        ),
        (
            "fetch",
            "fetchData",
            {"entity": entity, "filters": [{"field": "city", "op": "=", "value": "London"}], "orderBy": "-spend"},
        ),
        ("result", "output", {}),
        workflow_id="customers-import",
    )


async def test_an_uploaded_csv_is_split_saved_and_fetched_back_filtered(client: HubClient) -> None:
    organization_id = f"org-{uuid.uuid4().hex[:8]}"
    file_id = await _upload(client, "customers.csv", csv_bytes(CUSTOMERS), organization_id)
    workflow = _pipeline(file_id, "customers")
    first = await client.wait_for(await client.execute(workflow, organizationId=organization_id))
    assert first["status"] == "completed", first
    again = await client.wait_for(await client.execute(workflow, organizationId=organization_id))
    assert again["status"] == "completed", again
    events = await client.events(again["executionId"])
    saved = next(e for e in events if e["type"] == "node.completed" and e["nodeId"] == "save")
    assert saved["data"]["output"] == {"saved": 3, "inserted": 0, "updated": 3}
    assert again["finalOutput"]["result"] == {
        "rows": [
            {"email": "alan@example.com", "first": "Alan", "last": "Turing", "city": "London", "spend": 300},
            {"email": "ada@example.com", "first": "Ada", "last": "Lovelace", "city": "London", "spend": 120},
        ],
        "columns": ["email", "first", "last", "city", "spend"],
        "rowCount": 2,
    }


async def test_a_file_of_another_organization_fails_the_node_clearly(client: HubClient) -> None:
    file_id = await _upload(client, "customers.csv", csv_bytes(CUSTOMERS), "owner-org")
    workflow = linear(("read", "excelInput", {"fileId": file_id}), workflow_id="foreign-file")
    body = await client.wait_for(await client.execute(workflow, organizationId="other-org"))
    assert body["status"] == "failed"
    assert f"No file '{file_id}' was uploaded for organization 'other-org'" in body["error"]


async def test_an_uploaded_pdf_is_read_page_by_page(client: HubClient) -> None:
    file_id = await _upload(client, "memo.pdf", pdf_bytes(["Memo", "Second page"]), "pdf-org")
    workflow = linear(("read", "pdfInput", {"fileId": file_id}), workflow_id="memo")
    body = await client.wait_for(await client.execute(workflow, organizationId="pdf-org"))
    assert body["status"] == "completed", body
    assert body["finalOutput"]["read"] == {
        "text": "Memo\n\nSecond page",
        "pages": ["Memo", "Second page"],
        "pageCount": 2,
    }


async def test_a_bad_tabular_config_is_refused_before_anything_runs(client: HubClient) -> None:
    workflow = linear(
        ("read", "excelInput", {"maxRows": 0}),
        ("fetch", "fetchData", {"entity": "orders", "filters": [{"field": "x' OR 1=1", "value": 1}]}),
    )
    response = await client.http.post("/api/workflows/execute", json={"workflowId": "bad", "workflow": workflow})
    assert response.status_code == 422
    assert [problem["path"] for problem in response.json()["problems"]] == [
        "nodes[0].config.fileId",
        "nodes[0].config.maxRows",
        "nodes[1].config.filters[0].field",
    ]
