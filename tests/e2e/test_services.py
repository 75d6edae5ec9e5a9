"""mysql, sendEmail, sendSMS, esios and climatiq through the real hub and worker, under both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hub.settings import DatabaseKind
from tests.backends import MailServer, MariaDBAccount
from tests.conftest import CLIMATIQ_KEY, ESIOS_TOKEN, SMTP_PASSWORD, TWILIO_TOKEN
from tests.fakes import ClimatiqService, EsiosService, TwilioService
from tests.support import HubClient, HubStack, linear

FACTOR = {"activity_id": "electricity-supply_grid-source_supplier_mix", "data_version": "^21"}


@pytest.fixture(scope="module")
def orders(mariadb: MariaDBAccount) -> Iterator[MariaDBAccount]:
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(40), total DECIMAL(8,2))")
    yield mariadb
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE orders")


async def _completed(client: HubClient, workflow: dict[str, Any], inputs: dict[str, Any] | None = None) -> Any:
    body = await client.wait_for(await client.execute(workflow, inputs))
    assert body["status"] == "completed", body
    return body


async def test_mysql_nodes_write_and_read_back_through_the_worker_pool(
    client: HubClient, orders: MariaDBAccount
) -> None:
    tag = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        (
            "save",
            "mysql",
            {
                "query": "INSERT INTO orders (tag, total) VALUES (%s, %s)",
                "params": ["{{ input.tag }}", "{{ input.total }}"],
            },
        ),
        (
            "read",
            "mysql",
            {"query": "SELECT id, tag, total FROM orders WHERE tag = %(tag)s", "params": {"tag": "{{ inputs.tag }}"}},
        ),
    )
    body = await _completed(client, workflow, {"tag": tag, "total": 12.5})
    read = body["finalOutput"]["read"]
    assert read["columns"] == ["id", "tag", "total"]
    assert read["rows"] == [{"id": read["rows"][0]["id"], "tag": tag, "total": 12.5}]
    events = await client.events(body["executionId"])
    saved = next(e for e in events if e["type"] == "node.completed" and e["nodeId"] == "save")
    assert saved["data"]["output"] == {"affectedRows": 1, "lastInsertId": read["rows"][0]["id"]}


async def test_send_email_delivers_to_the_smtp_server(client: HubClient, mail_server: MailServer) -> None:
    address = f"{uuid.uuid4().hex}@example.com"
    workflow = linear(
        ("start", "trigger", {}),
        ("mail", "sendEmail", {"to": "{{ input.to }}", "subject": "Hot in {{ input.city }}", "text": "Stay inside."}),
    )
    body = await _completed(client, workflow, {"to": address, "city": "Sevilla"})
    output = body["finalOutput"]["mail"]
    assert output["accepted"] == [address] and output["rejected"] == []
    [mail] = mail_server.messages_to(address)
    assert mail.message["Subject"] == "Hot in Sevilla"
    assert mail.message["Message-ID"] == output["messageId"]
    assert body["executionId"] in output["messageId"]


async def test_send_sms_posts_to_twilio(client: HubClient, twilio: tuple[TwilioService, str]) -> None:
    workflow = linear(
        ("start", "trigger", {}), ("sms", "sendSMS", {"to": "+34600111222", "body": "Run {{ execution.id }}"})
    )
    body = await _completed(client, workflow)
    assert body["finalOutput"]["sms"]["status"] == "queued"
    sent = [r for r in twilio[0].requests if r["form"].get("Body") == f"Run {body['executionId']}"]
    assert len(sent) == 1 and sent[0]["form"]["To"] == "+34600111222"


async def test_twilios_error_fails_the_execution_with_its_message(client: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("sms", "sendSMS", {"to": "{{ input.phone }}", "body": "hi"}))
    body = await client.wait_for(await client.execute(workflow, {"phone": "+1234567"}))
    assert body["status"] == "failed"
    assert "Twilio answered 21211: The 'To' number +1234567 is not a valid phone number." in body["error"]


async def test_esios_prices_feed_a_climatiq_estimate_per_row(
    client: HubClient, esios: tuple[EsiosService, str], climatiq: tuple[ClimatiqService, str]
) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("prices", "esios", {"indicatorId": 600, "startDate": "2024-05-01", "endDate": "2024-05-02", "geoIds": [3]}),
        (
            "carbon",
            "climatiq",
            {
                "source": "{{ nodes.prices.rows }}",
                "emissionFactor": FACTOR,
                "parameters": {"energy": "{{ row.value }}", "energy_unit": "kWh"},
            },
        ),
    )
    body = await _completed(client, workflow)
    carbon = body["finalOutput"]["carbon"]
    assert carbon["rowCount"] == 3
    assert carbon["columns"] == ["datetime", "value", "geoId", "geoName", "co2e", "co2eUnit"]
    for row in carbon["rows"]:
        assert row["co2e"] == pytest.approx(row["value"] * ClimatiqService.FACTOR)
    assert esios[0].requests[-1]["headers"]["x-api-key"] == ESIOS_TOKEN


async def test_bad_configs_of_the_service_nodes_are_refused_before_queueing(client: HubClient) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("db", "mysql", {"query": "SELECT 1", "connection": "warehouse"}),
        ("mail", "sendEmail", {"to": "nobody", "text": "x"}),
        ("sms", "sendSMS", {"to": "600111222", "body": "x"}),
        ("prices", "esios", {"indicatorId": 600, "startDate": "2024-05-01"}),
        ("carbon", "climatiq", {"parameters": {"energy": 1}}),
    )
    response = await client.http.post("/api/workflows/execute", json={"workflowId": "bad", "workflow": workflow})
    assert response.status_code == 422, response.text
    paths = [problem["path"] for problem in response.json()["problems"]]
    assert paths == [
        "nodes[1].config.connection",
        "nodes[2].config.to",
        "nodes[3].config.to",
        "nodes[4].config.endDate",
        "nodes[5].config.emissionFactor",
    ]
    assert "HUB_MYSQL_WAREHOUSE_URL" in response.json()["problems"][0]["message"]


async def test_no_credential_reaches_events_logs_or_stored_outputs(
    client: HubClient, stack: HubStack, mail_server: MailServer, orders: MariaDBAccount
) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("db", "mysql", {"query": "SELECT COUNT(*) AS n FROM orders"}),
        ("mail", "sendEmail", {"to": "audit@example.com", "subject": "Audit", "text": "{{ nodes.db.rows }}"}),
        ("sms", "sendSMS", {"to": "+34600111222", "body": "audit"}),
        ("prices", "esios", {"indicatorId": 600, "startDate": "2024-05-01", "endDate": "2024-05-02"}),
        ("carbon", "climatiq", {"emissionFactor": FACTOR, "parameters": {"energy": 5, "energy_unit": "kWh"}}),
        ("broken", "mysql", {"query": "SELECT * FROM no_such_table"}),
    )
    body = await client.wait_for(await client.execute(workflow))
    assert body["status"] == "failed" and "error 1146" in body["error"]
    assert [node["status"] for node in body["nodes"]][:6] == ["completed"] * 6
    events = await client.events(body["executionId"])
    records = {
        "execution": str(body),
        "events": str(events),
        "logs": "".join(path.read_text(errors="replace") for path in stack.directory.glob("*.log")),
        "database": await _everything_stored(stack),
    }
    assert body["executionId"] in records["database"] and "worker" in records["logs"].lower()
    secrets = [SMTP_PASSWORD, TWILIO_TOKEN, ESIOS_TOKEN, CLIMATIQ_KEY, orders.password]
    leaks = [(secret, where) for secret in secrets for where, text in records.items() if secret in text]
    assert leaks == []


async def _everything_stored(stack: HubStack) -> str:
    """What the stack's database holds, as text: SQLite's file bytes (freed pages and the WAL included), or every
    row of every table of PostgreSQL's schema."""
    database = stack.settings().database_url
    if database.kind is DatabaseKind.SQLITE:
        assert database.path is not None
        files = [database.path, database.path.with_name(f"{database.path.name}-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists()).decode("latin-1")
    tables = await stack.query(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    rows = [await stack.query(f"SELECT * FROM {table['name']}") for table in tables]
    return str([[tuple(row) for row in table] for table in rows])
