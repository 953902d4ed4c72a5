"""Compatibility with elastic/detection-rules TOML rules written in EQL and ES|QL: constructs met
in that repository, rebuilt here as small queries and rules of our own so each fix keeps a test
that can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.kibana_fields import QueryFieldsUnavailable, query_field_names
from tests.lint_support import lint_files, write_rule

ESQL_TOML = """\
[metadata]
creation_date = "2025/02/03"
updated_date = "2025/02/03"
maturity = "production"

[rule]
author = ["Tester"]
description = "Many requests from one client address."
from = "now-10m"
language = "esql"
license = "Apache-2.0"
name = "Example Request Burst"
risk_score = 21
rule_id = "6b0e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
severity = "low"
type = "esql"
query = '''
QUERY
'''

[rule.alert_suppression]
group_by = ["GROUP"]
missing_fields_strategy = "suppress"
"""


def _esql_rule(tmp_path: Path, query: str, group: str) -> Path:
    text = ESQL_TOML.replace("QUERY", query).replace("GROUP", group)
    return write_rule(tmp_path / "rules", text, "burst.toml")


def _unknown_fields(path: Path) -> list[str]:
    return [d.message for d in lint_files(path).findings if d.code == "Q102"]


def test_grouping_by_a_column_of_an_esql_query_the_engine_cannot_analyse_is_not_flagged(tmp_path: Path) -> None:
    # GROK makes the client column, but GROK is beyond the engine's subset: the column cannot be
    # known, so grouping alerts by it is no unknown field.
    query = 'FROM logs-* | GROK message "%{IP:client}" | STATS hits = COUNT(*) BY client'
    assert not [m for m in _unknown_fields(_esql_rule(tmp_path, query, "client")) if "client" in m]


def test_grouping_by_a_name_an_analysed_esql_query_never_makes_is_still_flagged(tmp_path: Path) -> None:
    query = "FROM logs-* | STATS hits = COUNT(*) BY host.name"
    assert [m for m in _unknown_fields(_esql_rule(tmp_path, query, "clinet")) if "'clinet'" in m]
    assert not [m for m in _unknown_fields(_esql_rule(tmp_path, query, "host.name")) if "host.name" in m]


def test_required_fields_reason_tells_an_unsupported_feature_from_a_syntax_error() -> None:
    with pytest.raises(QueryFieldsUnavailable, match="does not implement.*GROK"):
        query_field_names("esql", 'FROM logs-* | GROK message "%{IP:client}"')
    with pytest.raises(QueryFieldsUnavailable, match="does not parse"):
        query_field_names("esql", "FROM logs-* | WHERE (")
