"""What the field and value checks read from Lucene and ES|QL queries: which names are index fields
(not the query's own columns), which constants are compared with them, and where they are."""

from __future__ import annotations

from detection import esql, lucene
from detection.lint.esql_facts import esql_fields, esql_values, query_fields, source_indices
from detection.lint.kql_facts import field_offset, leaves, pattern_offset

ESQL = """from logs-aws* metadata _id
| where event.provider == "sts.amazonaws.com" and `event.action` in ("AssumeRole", "GetSessionToken")
| eval action_lc = to_lower(event.action), event.outcome = "x"
| where action_lc == "assumerole" and event.outcome == "x" and user.name like "adm*"
| rename host.name as host, _id as id
| mv_expand user.roles
| sort host
| stats n = count(*) by host, user.name
| where n > 3 and user.name == "root"
| keep n, host"""


def _at(text: str, needle: str, nth: int = 1) -> int:
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    return index


def test_esql_fields_are_the_index_fields_read_before_the_query_redefines_them() -> None:
    found = list(esql_fields(esql.parse(ESQL)))
    assert found == [
        ("event.provider", _at(ESQL, "event.provider")),
        ("event.action", _at(ESQL, "`event.action`")),
        ("event.action", _at(ESQL, "event.action)")),
        ("user.name", _at(ESQL, "user.name like")),
        ("host.name", _at(ESQL, "host.name")),
        ("user.roles", _at(ESQL, "user.roles")),
        ("user.name", _at(ESQL, "user.name\n")),
    ]
    # the engine's own list of source fields agrees on the names
    assert sorted({name for name, _ in found}) == esql.field_names(ESQL)


def test_esql_fields_leave_out_eval_rename_stats_and_metadata_columns() -> None:
    names = {name for name, _ in esql_fields(esql.parse(ESQL))}
    assert not names & {"action_lc", "event.outcome", "host", "id", "_id", "n"}


def test_esql_values_are_the_where_comparisons_on_index_fields() -> None:
    values = list(esql_values(esql.parse(ESQL)))
    assert [(v.field, v.text, v.offset, v.pattern) for v in values] == [
        ("event.provider", "sts.amazonaws.com", _at(ESQL, '"sts.'), False),
        ("event.action", "AssumeRole", _at(ESQL, '"AssumeRole"'), False),
        ("event.action", "GetSessionToken", _at(ESQL, '"GetSessionToken"'), False),
        # "assumerole" compares an EVAL column, event.outcome was redefined, "root" follows STATS
        ("user.name", "adm*", _at(ESQL, '"adm*"'), True),
    ]


def test_esql_values_track_negation_and_case_folding() -> None:
    query = esql.parse('from logs-* | where not event.action != "A" and event.type not in ("b") '
                       'and to_lower(event.kind) == "c" and event.outcome =~ "D" and "e" == event.category '
                       'and not event.module not like "f*"')
    got = [(v.field, v.text, v.negated, v.insensitive, v.pattern) for v in esql_values(query)]
    assert got == [
        ("event.action", "A", False, False, False),
        ("event.type", "b", True, False, False),
        ("event.kind", "c", False, True, False),
        ("event.outcome", "D", False, True, False),
        ("event.category", "e", False, False, False),
        ("event.module", "f*", False, False, True),
    ]


def test_esql_query_fields_report_the_columns_the_query_makes() -> None:
    made = query_fields(esql.parse(ESQL)).made
    assert made == {"n", "host", "user.name"}


def test_esql_source_indices_drop_exclusions_and_cluster_names() -> None:
    query = esql.parse("from logs-aws*, remote:filebeat-*, -logs-aws.other* | keep @timestamp")
    assert source_indices(query) == ["logs-aws*", "filebeat-*"]


def test_lucene_leaves_follow_must_not_and_include_patterns() -> None:
    text = "a:1 AND -b:2 AND NOT c:/x.*/ AND d:e?f AND (g:1 OR !h:2) AND /free/"
    found = [(leaf.field, leaf.negated, type(leaf.node).__name__) for leaf in leaves(lucene.parse(text))]
    assert found == [("a", False, "Is"), ("b", True, "Is"), ("c", True, "Pattern"), ("d", False, "Pattern"),
                     ("g", False, "Is"), ("h", True, "Is")]


def test_lucene_group_values_point_back_at_their_field() -> None:
    text = "x:1 AND event.action:(AssumeRole OR (GetSessionToken AND y:2))"
    offsets = {leaf.node.value.text: field_offset(text, leaf.node) for leaf in leaves(lucene.parse(text))}
    assert offsets == {"1": 0, "AssumeRole": _at(text, "event.action"), "GetSessionToken": _at(text, "event.action"),
                       "2": _at(text, "y:2")}


def test_lucene_pattern_offset_is_the_value_after_the_colon() -> None:
    text = "event.action : /Delete.*/ AND event.type:(chan?e)"
    patterns = [leaf.node for leaf in leaves(lucene.parse(text))]
    assert [pattern_offset(text, p) for p in patterns] == [_at(text, "/Delete"), _at(text, "chan?e")]
