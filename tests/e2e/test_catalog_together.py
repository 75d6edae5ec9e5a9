"""The node catalog in one workflow: read a CSV, split a column, save the records, fetch them back filtered,
query MariaDB, and email a summary with the CSV attached; under both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.backends import MailServer, MariaDBAccount
from tests.documents import csv_bytes
from tests.support import HubClient, linear

CUSTOMERS = [
    ["email", "name", "city", "spend"],
    ["ada@example.com", "Ada Lovelace", "London", "120"],
    ["grace@example.com", "Grace Hopper", "New York", "80"],
    ["alan@example.com", "Alan Turing", "London", "300"],
]


@pytest.fixture(scope="module")
def targets(mariadb: MariaDBAccount) -> Iterator[MariaDBAccount]:
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE city_targets (city VARCHAR(64) PRIMARY KEY, target INT NOT NULL)")
        cursor.execute("INSERT INTO city_targets VALUES ('London', 400), ('New York', 150)")
        connection.commit()
    yield mariadb
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE city_targets")


async def test_one_workflow_runs_the_catalog_from_csv_to_email(
    client: HubClient, targets: MariaDBAccount, mail_server: MailServer
) -> None:
    organization_id = f"org-{uuid.uuid4().hex[:8]}"
    content = csv_bytes(CUSTOMERS)
    upload = await client.http.post(
        "/api/files", files={"file": ("customers.csv", content)}, data={"organizationId": organization_id}
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["fileId"]
    recipient = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    workflow = linear(
        ("read", "excelInput", {"fileId": file_id}),
        ("split", "splitColumns", {"column": "name", "delimiter": " ", "into": ["first", "last"]}),
        ("save", "saveRecords", {"entity": "customers", "mode": "upsert", "key": "email"}),
        (
            "london",
            "fetchData",
            {"entity": "customers", "filters": {"city": "London"}, "orderBy": "-spend"},
        ),
        (
            "target",
            "mysql",
            {"query": "SELECT city, target FROM city_targets WHERE city = %s", "params": ["London"]},
        ),
        (
            "mail",
            "sendEmail",
            {
                "to": recipient,
                "subject": "London: {{ nodes.london.rowCount }} customers",
                "text": "Top: {{ nodes.london.rows[0].first }}. "
                "Spend {{ nodes.london.rows | sum(attribute='spend') }} of {{ nodes.target.rows[0].target }}.",
                "attachments": [file_id],
            },
        ),
        workflow_id="catalog-together",
    )
    body = await client.wait_for(await client.execute(workflow, organizationId=organization_id))
    assert body["status"] == "completed", body
    assert body["finalOutput"]["mail"]["accepted"] == [recipient]
    (mail,) = mail_server.messages_to(recipient)
    assert mail.message["Subject"] == "London: 2 customers"
    assert mail.message.get_body(("plain",)).get_content().strip() == "Top: Alan. Spend 420 of 400."
    (attachment,) = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "customers.csv"
    assert attachment.get_content() in (content, content.decode())
