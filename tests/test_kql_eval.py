"""KQL evaluation by field type, table-driven.

Each row is (query, document, expected) evaluated against the mapping below; ``ERR`` means the
query must be rejected at compile time (Elasticsearch would fail the search). Rows cite the
behaviour they pin down: "ES" for Elasticsearch's KQL/query tests, "KB" for Kibana's kuery
functions, "DOC" for the KQL reference, "REF" for /work/shared/reference/kql-semantics.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from detection.fields import FieldSchema, default_schema
from detection.kql import KqlError, compile

ERR = "error"
NOW = datetime(2024, 5, 17, 12, 0, 0, tzinfo=UTC)

MAPPING = FieldSchema.from_mapping(
    {
        "k": "keyword",
        "kc": {"type": "keyword", "normalizer": "lowercase"},
        "short": {"type": "keyword", "ignore_above": 5},
        "t": "text",
        "mt": "match_only_text",
        "w": "wildcard",
        "n": "long",
        "x": "double",
        "fl32": "float",
        "hf": "half_float",
        "sf": {"type": "scaled_float", "scaling_factor": 100},
        "d": "date",
        "dn": "date_nanos",
        "ip": "ip",
        "b": "boolean",
        "ck": {"type": "constant_keyword", "value": "aws.cloudtrail"},
        "tags": "keyword",
        "obj.name": "keyword",
        "obj.n": "long",
        "items": "nested",
        "items.name": "keyword",
        "items.stock": "long",
        "items.sub": "nested",
        "items.sub.v": "keyword",
        "fl": "flattened",
        "user.name": {"type": "keyword", "multi_fields": {"text": "match_only_text"}},
        "geo": "geo_point",
        "event.action": "keyword",
        "event.provider": "keyword",
    }
)

CASES = [
    # ---------------------------------------------------------------- keyword (REF: term, case-sensitive)
    ("k:foo", {"k": "foo"}, True),
    ("k:foo", {"k": "Foo"}, False),
    ("k:foo", {"k": "foo bar"}, False),
    ('k:"foo"', {"k": "foo"}, True),
    ("k:foo bar", {"k": "foo bar"}, True),  # unquoted values don't split (REF)
    ("k:foo bar", {"k": "foo"}, False),
    ("k:3", {"k": 3}, True),  # numbers are indexed as their text
    ("k:true", {"k": True}, True),
    ("k:true", {"k": "true"}, True),
    ('k:"true"', {"k": True}, True),
    ("k:1.5", {"k": 1.5}, True),
    ("k:foo", {}, False),
    ("k:foo", {"k": None}, False),
    ("k:foo", {"k": []}, False),
    ("k:", {"k": ""}, ERR),  # a value is required
    ('k:""', {"k": ""}, True),
    ('k:""', {"k": "x"}, False),
    # keyword wildcards: case-sensitive, whole value, span spaces (REF)
    ("k:fo*", {"k": "foo"}, True),
    ("k:fo*", {"k": "Foo"}, False),
    ("k:*oo", {"k": "foo"}, True),
    ("k:*o*", {"k": "foo"}, True),
    ("k:f*o", {"k": "fxxo"}, True),
    ("k:f*o", {"k": "fxxob"}, False),
    ("k:John S*", {"k": "John Smith"}, True),
    ("k:John S*", {"k": "Smith"}, False),
    ("k:*", {"k": ""}, True),  # exists: empty string counts (DOC)
    ("k:**", {"k": "anything"}, True),
    ("k:a?c", {"k": "abc"}, False),  # '?' is literal (REF)
    ("k:a?c", {"k": "a?c"}, True),
    ("k:a\\*c", {"k": "a*c"}, True),
    ("k:a\\*c", {"k": "abc"}, False),
    ('k:"a*c"', {"k": "abc"}, False),  # quoted '*' is literal
    ('k:"a*c"', {"k": "a*c"}, True),
    ("k:C\\:\\\\Windows\\\\*", {"k": "C:\\Windows\\System32\\cmd.exe"}, True),
    ("k:*\\\\cmd.exe", {"k": "C:\\Windows\\System32\\cmd.exe"}, True),
    ("k:*\\\\cmd.exe", {"k": "C:\\Windows\\System32\\CMD.EXE"}, False),
    ('k:"C:\\\\temp"', {"k": "C:\\temp"}, True),
    ('k:"C:\\temp"', {"k": "C:\\temp"}, False),  # \t is a TAB even inside quotes (REF gotcha)
    ('k:"C:\\temp"', {"k": "C:\temp"}, True),
    ("k:foo \\not bar", {"k": "foo \not bar"}, True),  # the \not trap
    ("k:x \\NOT y", {"k": "x NOT y"}, True),
    ("k:\\u0041", {"k": "A"}, True),
    # keyword ranges: byte-wise string order (REF)
    ("k < 9", {"k": "10"}, True),
    ("k > Mail", {"k": "m"}, True),
    ("k >= abc", {"k": "abc"}, True),
    ("k > abc", {"k": "abc"}, False),
    ("k <= b", {"k": "abc"}, True),
    # normalizer lowercase (.caseless-style)
    ("kc:FOO", {"kc": "foo"}, True),
    ("kc:foo", {"kc": "FoO"}, True),
    ("kc:F*", {"kc": "foo"}, True),
    # ignore_above: long values are not indexed
    ("short:abc", {"short": "abc"}, True),
    ("short:abcdef", {"short": "abcdef"}, False),
    ("short:*", {"short": "abcdef"}, False),
    ("short:a*", {"short": "abcdef"}, False),
    # ---------------------------------------------------------------- text (REF: analysed, OR of terms)
    ("t:full", {"t": "The moon is FULL"}, True),
    ("t:disk full", {"t": "the moon is full"}, True),  # OR of terms (DOC example)
    ("t:disk full", {"t": "nothing here"}, False),
    ('t:"disk full"', {"t": "the disk is full"}, False),  # phrase
    ('t:"disk full"', {"t": "Disk Full again"}, True),
    ("t:Ba*", {"t": "foo bar"}, True),  # ES test: pattern per token, lowercased
    ("t:ba*", {"t": "foobar"}, False),
    ("t:disk f*", {"t": "the moon is full"}, True),  # query_string splits on whitespace
    ("t:*oon", {"t": "the moon"}, True),
    ("t < baz", {"t": "bar"}, True),  # ES test: text range over tokens
    ("t < baa", {"t": "bar"}, False),
    ("t:sts.amazonaws.com", {"t": "called sts.amazonaws.com today"}, True),
    ("t:*", {"t": "x"}, True),
    ('t:"-"', {"t": "a - b"}, False),  # no tokens in the query: matches nothing
    ("t:\\-", {"t": "a - b"}, ERR),  # `\-` is not a KQL escape
    ("mt:hello", {"mt": "Hello, world"}, True),
    ('mt:"hello world"', {"mt": "Hello, world"}, True),
    ("user.name.text:smith", {"user": {"name": "John Smith"}}, True),  # multi-field reads its parent
    ("user.name:smith", {"user": {"name": "John Smith"}}, False),
    ("user.name:John*", {"user": {"name": "John Smith"}}, True),
    # ---------------------------------------------------------------- wildcard type (REF, inferred)
    ("w:abc", {"w": "abc"}, True),
    ("w:ABC", {"w": "abc"}, False),
    ("w:*powershell*", {"w": "C:\\x\\powershell.exe -enc"}, True),
    ("w:*PowerShell*", {"w": "C:\\x\\powershell.exe -enc"}, False),
    ("w:*foo bar*", {"w": "xfoo"}, True),  # query_string: "*foo" OR "bar*"
    ("w:*foo bar*", {"w": "zzz"}, False),
    # ---------------------------------------------------------------- numbers (REF, ES tests)
    ("n:5", {"n": 5}, True),
    ("n:5", {"n": "5"}, True),  # coerced at index time
    ("n:5", {"n": 5.7}, True),  # long truncates 5.7
    ("n:05", {"n": 5}, True),
    ("n:5.5", {"n": 5}, False),
    ("n:foo", {"n": 5}, ERR),  # ES: failed to create query: For input string
    ("n:5*", {"n": 5}, ERR),
    ("n:true", {"n": 1}, ERR),
    ("n:400 401 404", {"n": 400}, ERR),  # the legacy docs' "terms" example is one value (DOC)
    ("n > 3", {"n": 4}, True),
    ("n > 3", {"n": 3}, False),
    ("n >= 3", {"n": 3}, True),
    ("n < -1", {"n": -5}, True),
    ("n <= 1e3", {"n": 1000}, True),
    ("n > 5.5", {"n": 6}, True),
    ("n > 5.5", {"n": 5}, False),
    ("n > x", {"n": 5}, ERR),
    ("n:(1 or 2)", {"n": 2}, True),
    ("n:*", {"n": 0}, True),
    ("x:0.1", {"x": 0.1}, True),
    ("x < 0.5", {"x": 0.25}, True),
    ("n:1 and n:2", {"n": [1, 2]}, True),  # arrays: separate clauses, separate elements
    # float and half_float are stored (and queried) at their own precision
    ("fl32:0.1", {"fl32": 0.1000000001}, True),  # the same 32-bit float
    ("x:0.1", {"x": 0.1000000001}, False),  # a double keeps the difference
    ("fl32 >= 0.1", {"fl32": 0.1}, True),
    ("hf:1", {"hf": 1.0001}, True),  # half_float: 11 significant bits
    ("hf > 1", {"hf": 1.0001}, False),
    ("hf:1", {"hf": 1.01}, False),
    ("sf:1.23", {"sf": 1.234}, True),  # scaled_float stores round(1.234 * 100) = 123
    ("sf:1.234", {"sf": 1.23}, True),  # ...and scales the query value the same way
    ("sf:1.23", {"sf": 1.236}, False),  # 124
    ("sf > 1.231", {"sf": 1.234}, False),  # the bound is not rounded: 1.23 > 1.231 is false
    ("sf >= 1.225", {"sf": 1.225}, True),
    # ---------------------------------------------------------------- dates (REF, ES tests)
    ("d:2010-03-06", {"d": "2010-03-06T13:00:00Z"}, True),  # whole day
    ("d:2010-03-06", {"d": "2010-03-07T00:00:00Z"}, False),
    ("d > 2010-03-06", {"d": "2010-03-06T23:00:00Z"}, False),  # gt rounds up: excludes the day
    ("d > 2010-03-06", {"d": "2010-03-07T00:00:00Z"}, True),
    ("d >= 2010-03-06", {"d": "2010-03-06T00:00:00Z"}, True),
    ("d < 2010-03-06", {"d": "2010-03-06T00:00:00Z"}, False),
    ("d < 2010-03-06", {"d": "2010-03-05T23:59:59.999Z"}, True),
    ("d <= 2010-03-06", {"d": "2010-03-06T23:59:59.999Z"}, True),
    ("d <= 2010-03", {"d": "2010-03-31T12:00:00Z"}, True),
    ("d:2010", {"d": "2010-07-01"}, True),
    ('d < "2021-01-02T21:55:59"', {"d": "2021-01-02T21:55:58Z"}, True),
    ('d:"2021-01-02T21:55:59"', {"d": "2021-01-02T21:55:59.500Z"}, True),  # second precision
    ("d < 2021-01-02T21\\:55\\:59", {"d": "2021-01-02T21:55:58Z"}, True),
    ("d:1700000000000", {"d": 1700000000000}, True),  # epoch millis
    ("d:1700000000000", {"d": "2023-11-14T22:13:20Z"}, True),
    ("d > now-1d", {"d": "2024-05-17T00:00:00Z"}, True),
    ("d > now-1d", {"d": "2024-05-15T00:00:00Z"}, False),
    ("d >= now/d", {"d": "2024-05-17T00:00:00Z"}, True),
    ("d < now/d", {"d": "2024-05-17T00:00:00Z"}, False),
    ("d <= now-1d/d", {"d": "2024-05-16T23:30:00Z"}, True),  # lte rounds /d up
    ("d >= 2022-02-17\\|\\|+1M/d", {"d": "2022-03-17T00:00:00Z"}, ERR),  # '|' is fine but '\|' is not an escape
    ("d >= 2022-02-17||+1M/d", {"d": "2022-03-17T00:00:00Z"}, True),
    ("d >= 2022-02-17||+1M/d", {"d": "2022-03-16T23:59:59Z"}, False),
    ("d:yesterday", {"d": "2024-01-01"}, ERR),
    ("d:2024-13-01", {"d": "2024-01-01"}, ERR),
    ("d:2024*", {"d": "2024-01-01"}, ERR),
    ("d:*", {"d": "2024-01-01"}, True),
    ('d > "2024-05-17T10:00:00+02:00"', {"d": "2024-05-17T08:30:00Z"}, True),
    ("dn:2024-05-17", {"dn": "2024-05-17T10:00:00.123456789Z"}, True),
    ('dn > "2024-05-17T10:00:00.123456788Z"', {"dn": "2024-05-17T10:00:00.123456789Z"}, True),
    # ---------------------------------------------------------------- ip (REF)
    ("ip:10.0.0.1", {"ip": "10.0.0.1"}, True),
    ("ip:10.0.0.0/8", {"ip": "10.1.2.3"}, True),
    ("ip:10.0.0.0/8", {"ip": "11.1.2.3"}, False),
    ('ip:"::1"', {"ip": "::1"}, True),
    ('ip:"2001:db8::/32"', {"ip": "2001:db8::5"}, True),
    ('ip:"::ffff:10.0.0.1"', {"ip": "10.0.0.1"}, True),  # IPv4-mapped equals IPv4
    ("ip:10.0.0.*", {"ip": "10.0.0.1"}, ERR),
    ("ip:nope", {"ip": "10.0.0.1"}, ERR),
    ("ip < 10.0.0.5", {"ip": "10.0.0.4"}, True),
    ("ip < 10.0.0.5", {"ip": "10.0.0.6"}, False),
    ("ip:(10.0.0.1 or 192.168.0.0/16)", {"ip": "192.168.3.4"}, True),
    # ---------------------------------------------------------------- boolean (REF)
    ("b:true", {"b": True}, True),
    ('b:"true"', {"b": True}, True),
    ("b:false", {"b": True}, False),
    ("b:false", {"b": "false"}, True),
    ("b:yes", {"b": True}, ERR),
    ("b:*", {"b": False}, True),
    # ---------------------------------------------------------------- constant_keyword (brief)
    ("ck:aws.cloudtrail", {}, True),  # absent from the document: the constant answers
    ("ck:other", {}, False),
    ("not ck:aws.cloudtrail", {}, False),
    ("ck:aws.*", {}, True),
    ("ck:*", {}, True),
    ("ck:aws.cloudtrail", {"ck": "aws.cloudtrail"}, True),
    # ---------------------------------------------------------------- exists (DOC)
    ("k:*", {"k": "x"}, True),
    ("k:*", {"k": None}, False),
    ("k:*", {"k": []}, False),
    ("k:*", {}, False),
    ("k:*", {"k": [None, "a"]}, True),
    ("not k:*", {}, True),
    # ---------------------------------------------------------------- arrays (REF)
    ("tags:a", {"tags": ["a", "b"]}, True),
    ("tags:(a and b)", {"tags": ["a", "b"]}, True),
    ("tags:(a and c)", {"tags": ["a", "b"]}, False),
    ("not tags:a", {"tags": ["a", "b"]}, False),
    ("not tags:c", {"tags": ["a", "b"]}, True),
    ("tags:b*", {"tags": [["x"], ["bob"]]}, True),  # nested arrays flatten
    # object arrays are flattened unless nested
    ("obj.name:a and obj.n:2", {"obj": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}, True),
    ("obj.name:b", {"obj": [{"name": "a"}, {"name": "b"}]}, True),
    # ---------------------------------------------------------------- nested (DOC, KB)
    ("items:{ name:banana and stock > 10 }", {"items": [{"name": "banana", "stock": 5}, {"name": "apple", "stock": 20}]}, False),
    ("items:{ name:banana } and items:{ stock > 10 }", {"items": [{"name": "banana", "stock": 5}, {"name": "apple", "stock": 20}]}, True),
    ("items:{ name:banana and stock > 10 }", {"items": [{"name": "banana", "stock": 15}]}, True),
    ("items:{ name:banana and stock > 10 }", {"items": {"name": "banana", "stock": 15}}, True),
    ("items:{ sub:{ v:x } }", {"items": [{"sub": [{"v": "y"}, {"v": "x"}]}]}, True),
    ("items:{ sub:{ v:x } }", {"items": [{"sub": [{"v": "y"}]}]}, False),
    ("not items:{ name:banana }", {"items": [{"name": "apple"}]}, True),
    ("items.name:banana", {"items": [{"name": "banana"}]}, ERR),  # KB: nested field outside a group
    ("k:{ name:x }", {"k": "x"}, ERR),  # not a nested field
    ("zzz:{ name:x }", {}, ERR),  # unknown nested path
    ("items:{ sub.v:x }", {"items": [{"sub": {"v": "x"}}]}, ERR),  # KB: incorrect nested path
    ("items:{ unknown:x }", {"items": [{"unknown": "x"}]}, True),  # unknown inner field: keyword
    # ---------------------------------------------------------------- flat dotted keys and mixtures (brief)
    ("event.action:x", {"event.action": "x"}, True),
    ("event.action:x", {"event": {"action": "x"}}, True),
    ("event.action:x and event.provider:p", {"event.action": "x", "event": {"provider": "p"}}, True),
    ("event.action:y", {"event": {"action": "x"}, "event.action": "y"}, True),  # both spellings hold values
    ("not event.action:y", {"event": {"action": "x"}, "event.action": "y"}, False),
    ("obj.name:a", {"obj": {"name": ["b"]}, "obj.name": "a"}, True),
    ("event.action:x", {"event": [{"action": "z"}, {"action": "x"}]}, True),
    ("event.action:x", {"event": "x"}, False),
    ("event.action:x", {"event": None}, False),
    # ---------------------------------------------------------------- unknown and unmapped fields (REF)
    ("nothere:x", {}, False),
    ("not nothere:x", {}, True),
    ("dyn:X", {"dyn": "X"}, True),  # unknown to the schema but present: keyword
    ("dyn:x", {"dyn": "X"}, False),
    ("dyn:X Y*", {"dyn": "X Yz"}, True),
    ("dyn.deep:v", {"dyn": {"deep": "v"}}, True),
    # ---------------------------------------------------------------- flattened
    ("fl.bucketName:logs", {"fl": {"bucketName": "logs"}}, True),
    ("fl.bucketName:logs", {"fl": {"bucketName": "other"}}, False),
    ("fl:logs", {"fl": {"a": {"b": "logs"}}}, True),  # the root matches any leaf
    ("fl.items.port:22", {"fl": {"items": [{"port": 22}]}}, True),
    ("fl:*", {"fl": {"a": 1}}, True),
    # ---------------------------------------------------------------- field-name wildcards (KB)
    ("obj.*:a", {"obj": {"name": "a"}}, True),
    ("obj.*:2", {"obj": {"n": 2}}, True),
    ("obj.*:zz", {"obj": {"name": "a", "n": 2}}, False),  # the long field is skipped, no error
    ("event.*:x", {"event": {"action": "x"}}, True),
    ("*.action:x", {"event": {"action": "x"}}, True),
    ("dyn*:v", {"dynamic": {"field": "v"}}, True),
    ("obj.*:*", {"obj": {"n": 1}}, True),
    ("obj.*:*", {"other": 1}, False),
    ("*:*", {}, True),
    ("", {"a": 1}, True),
    # ---------------------------------------------------------------- free text (REF, ES tests)
    ("foo", {"k": "foo"}, True),
    ("foo", {"k": "foobar"}, False),
    ("foo", {"t": "a foo b"}, True),
    ("foo bar", {"t": "foo baz"}, True),  # OR of terms on text fields (ES test)
    ('"foo bar"', {"t": "foo baz"}, False),
    ("2", {"n": 2}, True),  # lenient: numbers match (ES test)
    ("two", {"n": 2}, False),  # ...and non-numbers are skipped, not errors
    ("fo*", {"k": "foo"}, True),
    ("*", {"k": "x"}, True),
    ("*", {}, False),
    ("10.0.0.1", {"ip": "10.0.0.1"}, True),
    ("null", {"k": "null"}, ERR),
    ('"null"', {"k": "null"}, True),
    ("smith", {"user": {"name": "John Smith"}}, True),  # via the user.name.text multi-field
    # ---------------------------------------------------------------- boolean logic
    ("k:a or k:b", {"k": "b"}, True),
    ("k:a and k:b", {"k": "b"}, False),
    ("not k:a", {"k": "b"}, True),
    ("not (k:a or k:b)", {"k": "c"}, True),
    ("k:(a or b) and not k:c", {"k": "a"}, True),
    ("k:(a and not b)", {"k": "a"}, True),
    ("k: a or b", {"k": "c"}, False),  # `b` is free text, not a value of k (REF)
    ("k: a or b", {"k": "b"}, True),  # ...which also searches k
    ("k: a or b", {"other": "b"}, True),
    # ---------------------------------------------------------------- other errors
    ("k:null", {"k": "null"}, ERR),  # [term] value cannot be null
    ("k < null", {"k": "x"}, True),  # an open bound
    ("geo:x", {"geo": "1,2"}, ERR),
    ("geo:*", {"geo": "1,2"}, True),
]


@pytest.mark.parametrize("query,doc,expected", CASES, ids=[f"{i}:{c[0]}" for i, c in enumerate(CASES)])
def test_eval(query, doc, expected):
    if expected == ERR:
        with pytest.raises(KqlError):
            compile(query, MAPPING, now=NOW)
        return
    predicate = compile(query, MAPPING, now=NOW)
    assert predicate(doc) is expected


def test_there_are_enough_cases():
    assert len(CASES) >= 150


# ---------------------------------------------------------------------------- default schema


CLOUDTRAIL = (
    "event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole"
    " and aws.cloudtrail.user_identity.session_context.session_issuer.type:Role and event.outcome:success"
)


def _assume_role(**event):
    doc = {
        "event": {"provider": "sts.amazonaws.com", "action": "AssumeRole", "outcome": "success"},
        "aws": {"cloudtrail": {"user_identity": {"session_context": {"session_issuer": {"type": "Role"}}}}},
    }
    doc["event"].update(event)
    return doc


def test_cloudtrail_rule_with_default_schema():
    predicate = compile(CLOUDTRAIL)
    assert predicate(_assume_role())  # event.dataset is a constant of the data stream
    assert not predicate(_assume_role(action="AssumedRole"))
    assert not predicate(_assume_role(outcome="failure"))
    assert not predicate(_assume_role(dataset="okta.system"))


def test_default_schema_types_drive_matching():
    s = default_schema()
    assert compile("aws.cloudtrail.read_only:true", s)({"aws": {"cloudtrail": {"read_only": True}}})
    with pytest.raises(KqlError):
        compile("destination.port:ssh", s)
    assert compile("source.ip:10.0.0.0/8", s)({"source": {"ip": "10.9.8.7"}})
    assert compile('@timestamp >= "2024-05-17"', s)({"@timestamp": "2024-05-17T00:00:01Z"})
    assert compile("aws.cloudtrail.request_parameters.text:roleArn", s)(
        {"aws": {"cloudtrail": {"request_parameters": "{roleArn=arn:aws:iam::1:role/x}"}}}
    )


def test_ecs_scaled_float_uses_its_scaling_factor():
    # host.cpu.usage is a scaled_float with scaling_factor 1000 in ECS
    assert default_schema().info("host.cpu.usage").scaling_factor == 1000
    assert compile("host.cpu.usage:0.5")({"host": {"cpu": {"usage": 0.5004}}})
    assert not compile("host.cpu.usage:0.5")({"host": {"cpu": {"usage": 0.5006}}})


def test_scoped_schema_drops_the_cloudtrail_constant():
    windows = default_schema().for_indices(["winlogbeat-*"])
    assert not compile("event.dataset:aws.cloudtrail", windows)({})


def test_mapping_dict_and_empty_schema():
    assert compile("a:1", {"a": "long"})({"a": "1"})
    assert compile("a:x", FieldSchema.empty())({"a": "x"})


def test_fast_path_and_exact_path_agree_on_odd_shapes():
    predicate = compile("event.action:x", MAPPING)
    odd = [
        ({"event": {"action": ["y", "x"]}}, True),
        ({"event": {"action": 5}}, False),
        ({"event": [{"action": "x"}]}, True),
        ({"event.action": ["x"]}, True),
        ({"event": {"action": {"x": 1}}}, False),
        ({"event": {"action": None}}, False),
    ]
    for doc, expected in odd:
        assert predicate(doc) is expected, doc


def test_compile_accepts_a_node_and_reports_errors_without_offsets():
    from detection.kql import parse

    node = parse("n:abc")
    with pytest.raises(KqlError) as info:
        compile(node, MAPPING)
    assert "For input string" in info.value.message


def test_compile_error_is_located_at_the_value():
    with pytest.raises(KqlError) as info:
        compile("k:x and n:abc", MAPPING)
    err = info.value
    assert (err.line, err.column) == (1, 11)
    assert "^" in str(err)
    assert err.hint


def test_generated_source_is_exposed():
    predicate = compile("k:a and n > 1", MAPPING)
    assert "def _kql_predicate" in predicate.kql_source
