"""The SQL operation label of aiq_db_query_seconds."""

from __future__ import annotations

import pytest

from aiqleads.observability.db import operation_of


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT 1", "select"),
        ("  select id from leads", "select"),
        ("INSERT INTO leads (id) VALUES (1)", "insert"),
        ("UPDATE leads SET status = 'sold'", "update"),
        ("DELETE FROM holds WHERE id = 1", "delete"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "select"),
        ("WITH moved AS (SELECT id FROM leads)\nUPDATE leads SET x = 1", "update"),
        ("BEGIN", "other"),
        ("CREATE TABLE t (id int)", "other"),
        ("", "other"),
    ],
)
def test_each_statement_is_labelled_by_its_verb(statement: str, operation: str) -> None:
    assert operation_of(statement) == operation
