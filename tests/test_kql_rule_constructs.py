"""KQL constructs that published detection rules rely on, pinned as parse and evaluation cases.

Each query below is a small one written for this file; it reproduces one construct met while
running the framework over elastic/detection-rules files (value lists that mix ``*`` with
``not``, escaped colons and backslashes inside wildcards, ``?`` that is not a wildcard, CIDR
blocks quoted or not on ip fields, tabs and CRLF as whitespace, dotted words in analysed text).
"""

from __future__ import annotations

import pytest

from detection.fields import FieldSchema
from detection.kql import And, Exists, Is, Literal, Not, Or, Wildcard, compile, parse

SCHEMA = FieldSchema.from_mapping(
    {
        "name": "keyword",
        "path": "keyword",
        "addr": "ip",
        "port": "long",
        "body": "match_only_text",
    }
)


def is_(field: str, value: object) -> Is:
    return Is(Literal(field), value)


def test_star_and_not_list_means_present_but_none_of():
    tree = parse("name:(* and not (alpha or beta))")
    assert tree == And(
        (
            Exists(Literal("name")),
            Not(Or((is_("name", Literal("alpha")), is_("name", Literal("beta"))))),
        )
    )


def test_not_star_inside_a_list_means_missing():
    tree = parse('name:("svc:anon" or not *)')
    assert tree == Or((is_("name", Literal("svc:anon", True)), Not(Exists(Literal("name")))))


def test_escaped_colon_and_backslashes_stay_inside_one_wildcard():
    assert parse("path:*agent\\:dev*").value == Wildcard(("", "agent:dev", ""))
    assert parse("path:???\\\\Prog?Files*").value == Wildcard(("???\\Prog?Files", ""))


def test_tab_and_crlf_separate_clauses_like_spaces():
    assert parse("name:a\t\r\n and\tport:1") == And((is_("name", Literal("a")), is_("port", Literal("1"))))


def test_or_binds_looser_than_a_long_and_chain():
    tree = parse("name:a and port:1 and (not path:x and name:(b or c) or name:d) or (path:y and port:2)")
    assert isinstance(tree, Or) and len(tree.items) == 2
    first, second = tree.items
    assert isinstance(first, And) and len(first.items) == 3
    assert isinstance(first.items[2], Or)
    assert isinstance(second, And) and len(second.items) == 2


@pytest.mark.parametrize(
    ("query", "doc", "expected"),
    [
        # present and not excluded; an array with an excluded element is excluded
        ("name:(* and not (alpha or beta))", {"name": "gamma"}, True),
        ("name:(* and not (alpha or beta))", {"name": "alpha"}, False),
        ("name:(* and not (alpha or beta))", {"name": ["gamma", "beta"]}, False),
        ("name:(* and not (alpha or beta))", {}, False),
        # a listed value or no value at all
        ('name:("svc:anon" or not *)', {}, True),
        ('name:("svc:anon" or not *)', {"name": "svc:anon"}, True),
        ('name:("svc:anon" or not *)', {"name": "bob"}, False),
        # '?' is a literal character, so a drive-letter pattern written with it matches nothing real
        ("path:???\\\\Prog?Files*", {"path": "C:\\Prog Files\\x.exe"}, False),
        ("path:???\\\\Prog?Files*", {"path": "???\\Prog?Files\\x.exe"}, True),
        ("path:*agent\\:dev*", {"path": "repo/agent:dev-2"}, True),
        ("name:*$", {"name": "HOST01$"}, True),
        ("name:*$", {"name": "HOST01"}, False),
        # quoted values keep their spaces
        ('name:"Logon  "', {"name": "Logon  "}, True),
        ('name:"Logon  "', {"name": "Logon"}, False),
        # CIDR blocks match on ip fields whether quoted or not; numbers match quoted
        ('addr:(10.0.0.0/8 or "FE80::/10" or "::1")', {"addr": "fe80::1"}, True),
        ('addr:(10.0.0.0/8 or "FE80::/10" or "::1")', {"addr": "10.9.8.7"}, True),
        ('addr:(10.0.0.0/8 or "FE80::/10" or "::1")', {"addr": "11.0.0.1"}, False),
        ('not port:("2049" or "111")', {"port": 2049}, False),
        ("port < 1024", {"port": 443}, True),
        # analysed text: a dotted name is one token, a hyphen splits words
        ("body:(PaddingMode)", {"body": "[Sys.Crypto.PaddingMode]::PKCS7"}, False),
        ("body:(PaddingMode)", {"body": "set PaddingMode now"}, True),
        ('body:"Get-Clipboard"', {"body": "$x = get-clipboard | out-null"}, True),
        ("body:(Invoke-Thing)", {"body": "Invoke-Other"}, True),
    ],
)
def test_rule_constructs_evaluate_like_elasticsearch(query, doc, expected):
    assert compile(query, SCHEMA)(doc) is expected
