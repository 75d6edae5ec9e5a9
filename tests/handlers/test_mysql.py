"""The mysql node against the machine's MariaDB, in a database of this test run's own."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from handlers.contract import NodeError
from handlers.registry import NODE_TYPES
from handlers.settings import NodeSettings
from tests.backends import MariaDBAccount
from tests.handlers.harness import NodeRunner, node_runner


@pytest.fixture(scope="module")
def people(mariadb: MariaDBAccount) -> Iterator[MariaDBAccount]:
    """A table with one row of every kind of value the node has to turn into JSON."""
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), born DATE,"
            " seen DATETIME(3), balance DECIMAL(10,2), shift TIME, photo VARBINARY(16), note TEXT)"
        )
        cursor.execute(
            "INSERT INTO people (name, born, seen, balance, shift, photo, note) VALUES"
            " ('Ana', '1990-04-01', '2024-05-01 10:30:00.250', 1234.50, '08:30:00', x'ff00fe', 'first'),"
            " ('Bo', '1985-12-24', NULL, -3.25, '-01:15:00', 'text', NULL)"
        )
        connection.commit()
    yield mariadb
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE people")


@pytest_asyncio.fixture(loop_scope="session")
async def runner(people: MariaDBAccount) -> AsyncIterator[NodeRunner]:
    async with node_runner(NodeSettings(mysql_urls={"default": people.url})) as running:
        yield running


async def test_select_returns_rows_columns_and_count(runner: NodeRunner) -> None:
    result = await runner.run("mysql", {"query": "SELECT id, name FROM people ORDER BY id"})
    assert result.output_data == {
        "rows": [{"id": 1, "name": "Ana"}, {"id": 2, "name": "Bo"}],
        "columns": ["id", "name"],
        "rowCount": 2,
    }


async def test_values_come_out_json_safe(runner: NodeRunner) -> None:
    result = await runner.run("mysql", {"query": "SELECT born, seen, balance, shift, photo, note FROM people"})
    ana, bo = result.output_data["rows"]
    assert ana == {
        "born": "1990-04-01",
        "seen": "2024-05-01T10:30:00.250000",
        "balance": 1234.5,
        "shift": "08:30:00",
        "photo": "/wD+",
        "note": "first",
    }
    assert bo["seen"] is None and bo["balance"] == -3.25 and bo["shift"] == "-01:15:00" and bo["photo"] == "text"


async def test_list_params_fill_positional_placeholders(runner: NodeRunner) -> None:
    config = {"query": "SELECT name FROM people WHERE balance > %s AND name <> %s", "params": [0, "Bo"]}
    result = await runner.run("mysql", config)
    assert result.output_data["rows"] == [{"name": "Ana"}]


async def test_object_params_fill_named_placeholders_from_templates(runner: NodeRunner) -> None:
    config = {"query": "SELECT id FROM people WHERE name = %(name)s", "params": {"name": "{{ input.who }}"}}
    result = await runner.run("mysql", config, node_input={"who": "Bo"})
    assert result.output_data["rows"] == [{"id": 2}]


async def test_a_value_is_never_sql(runner: NodeRunner) -> None:
    hostile = "x' OR '1'='1"
    result = await runner.run("mysql", {"query": "SELECT id FROM people WHERE name = %s", "params": [hostile]})
    assert result.output_data["rows"] == []


async def test_insert_returns_affected_rows_and_last_insert_id(runner: NodeRunner) -> None:
    config = {"query": "INSERT INTO people (name) VALUES (%s), (%s)", "params": ["Cy", "Di"]}
    result = await runner.run("mysql", config)
    assert result.output_data["affectedRows"] == 2
    assert result.output_data["lastInsertId"] >= 3
    deleted = await runner.run("mysql", {"query": "DELETE FROM people WHERE name IN (%s, %s)", "params": ["Cy", "Di"]})
    assert deleted.output_data == {"affectedRows": 2, "lastInsertId": None}


async def test_repeated_column_names_keep_every_value(runner: NodeRunner) -> None:
    result = await runner.run("mysql", {"query": "SELECT 1 AS n, 2 AS n"})
    assert result.output_data["rows"] == [{"n": 1, "n_2": 2}]


async def test_queries_on_one_connection_share_its_pool(runner: NodeRunner) -> None:
    first = await runner.run("mysql", {"query": "SELECT CONNECTION_ID() AS id"})
    second = await runner.run("mysql", {"query": "SELECT CONNECTION_ID() AS id"})
    assert first.output_data["rows"] == second.output_data["rows"]


async def test_a_result_past_max_rows_keeps_the_first_rows_and_says_it_was_truncated(runner: NodeRunner) -> None:
    query = "SELECT seq AS n FROM seq_1_to_25"
    result = await runner.run("mysql", {"query": query, "maxRows": 10})
    assert result.output_data["rows"] == [{"n": n} for n in range(1, 11)]
    assert result.output_data["rowCount"] == 10 and result.output_data["truncated"] is True
    assert any(level == "warning" and "maxRows" in message for level, message in runner.logs)


async def test_a_result_within_max_rows_is_whole_and_not_marked(runner: NodeRunner) -> None:
    result = await runner.run("mysql", {"query": "SELECT seq AS n FROM seq_1_to_25", "maxRows": 25})
    assert result.output_data["rowCount"] == 25 and "truncated" not in result.output_data


async def test_a_connection_left_mid_result_serves_the_next_query(runner: NodeRunner) -> None:
    await runner.run("mysql", {"query": "SELECT seq AS n FROM seq_1_to_100000", "maxRows": 5})
    result = await runner.run("mysql", {"query": "SELECT name FROM people ORDER BY id LIMIT 1"})
    assert result.output_data["rows"] == [{"name": "Ana"}]


def test_max_rows_must_be_a_positive_integer(runner: NodeRunner) -> None:
    problems = runner.problems("mysql", {"query": "SELECT 1", "maxRows": 0})
    assert [problem.path for problem in problems] == ["maxRows"]


def test_a_template_in_the_query_is_refused(runner: NodeRunner) -> None:
    problems = runner.problems("mysql", {"query": "SELECT * FROM people WHERE name = '{{ input.name }}'"})
    assert [problem.path for problem in problems] == ["query"]
    assert "params" in problems[0].message


def test_an_unknown_connection_is_refused_when_the_settings_are_known(runner: NodeRunner) -> None:
    problems = runner.problems("mysql", {"query": "SELECT 1", "connection": "reports"})
    assert [problem.path for problem in problems] == ["connection"]
    assert "HUB_MYSQL_REPORTS_URL" in problems[0].message


def test_without_the_hubs_settings_the_connection_is_not_checked() -> None:
    assert NODE_TYPES.validate("mysql", {"query": "SELECT 1", "connection": "reports"}) == []


def test_params_of_the_wrong_shape_are_refused(runner: NodeRunner) -> None:
    problems = runner.problems("mysql", {"query": "SELECT %s", "params": 5})
    assert [problem.path for problem in problems] == ["params"]


async def test_an_unknown_connection_from_a_template_fails_the_node(runner: NodeRunner) -> None:
    with pytest.raises(NodeError, match="no MySQL connection named 'reports'"):
        await runner.run("mysql", {"query": "SELECT 1", "connection": "{{ input.db }}"}, node_input={"db": "reports"})


async def test_a_sql_error_is_reported_with_its_code(runner: NodeRunner) -> None:
    with pytest.raises(NodeError, match=r"error 1146: Table '.*\.missing' doesn't exist"):
        await runner.run("mysql", {"query": "SELECT * FROM missing"})


async def test_params_that_do_not_fit_the_placeholders_fail_clearly(runner: NodeRunner) -> None:
    with pytest.raises(NodeError, match="do not fit the query"):
        await runner.run("mysql", {"query": "SELECT %s, %s", "params": [1]})


async def test_a_refused_login_names_neither_the_url_nor_the_password(people: MariaDBAccount) -> None:
    wrong = dataclasses.replace(people, password="not-the-password-42")
    async with node_runner(NodeSettings(mysql_urls={"default": wrong.url})) as runner:
        with pytest.raises(NodeError) as failure:
            await runner.run("mysql", {"query": "SELECT 1"})
    message = str(failure.value)
    assert "error 1045" in message and "Access denied" in message
    assert wrong.password not in message and wrong.url not in message


async def test_a_query_past_the_timeout_fails_the_node(people: MariaDBAccount) -> None:
    settings = NodeSettings(mysql_urls={"default": people.url}, mysql_timeout_seconds=0.5)
    async with node_runner(settings) as runner:
        with pytest.raises(NodeError, match="did not finish within 0.5 s"):
            await runner.run("mysql", {"query": "SELECT SLEEP(5)"})
