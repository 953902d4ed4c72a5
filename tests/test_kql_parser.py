"""KQL parser: structure, literals, escapes and errors as Kibana's grammar defines them."""

from __future__ import annotations

import pytest

from detection.kql import (
    And,
    Exists,
    FreeText,
    Is,
    KqlError,
    Literal,
    MatchAll,
    Nested,
    Not,
    Or,
    Range,
    Wildcard,
    field_names,
    parse,
    render,
)


def L(value, quoted=False):  # noqa: N802 - short builder for readable tables
    return Literal(value, quoted)


def W(*parts):  # noqa: N802
    return Wildcard(tuple(parts))


def f(name, value):
    return Is(L(name), value if not isinstance(value, str) else L(value))


# ----------------------------------------------------------------------------- structure

STRUCTURE = [
    ("", MatchAll()),
    ("   \t\n", MatchAll()),
    ("*:*", MatchAll()),
    ("a:1", f("a", "1")),
    ("a : 1", f("a", "1")),
    # precedence: not > and > or, chains flattened
    ("foo or bar and baz or qux", Or((FreeText(L("foo")), And((FreeText(L("bar")), FreeText(L("baz")))), FreeText(L("qux"))))),
    ("a:1 and b:2 and c:3", And((f("a", "1"), f("b", "2"), f("c", "3")))),
    ("not a:1 and b:2", And((Not(f("a", "1")), f("b", "2")))),
    ("not (a:1 and b:2)", Not(And((f("a", "1"), f("b", "2"))))),
    ("(a:1 or b:2) and c:3", And((Or((f("a", "1"), f("b", "2"))), f("c", "3")))),
    ("a:1 and (b:2 and c:3)", And((f("a", "1"), And((f("b", "2"), f("c", "3")))))),
    ("not (not a:1)", Not(Not(f("a", "1")))),
    # keywords are case-insensitive
    ("a:1 AND b:2 Or c:3", Or((And((f("a", "1"), f("b", "2"))), f("c", "3")))),
    ("NOT a:1", Not(f("a", "1"))),
    # value lists distribute the field
    ("f:(a or b)", Or((f("f", "a"), f("f", "b")))),
    ("f:(a and not b)", And((f("f", "a"), Not(f("f", "b"))))),
    ("f:((a or b) and not c)", And((Or((f("f", "a"), f("f", "b"))), Not(f("f", "c"))))),
    ('f:("0.0.0.0/0" or "::/0")', Or((f("f", L("0.0.0.0/0", True)), f("f", L("::/0", True))))),
    ("f:(\n  21 or 22 or\n  3389)", Or((f("f", "21"), f("f", "22"), f("f", "3389")))),
    # `a: x or y` is not a list: the second value is free text
    ("a: x or y", Or((f("a", "x"), FreeText(L("y"))))),
    # ranges
    ("bytes > 1000", Range(L("bytes"), "gt", L("1000"))),
    ("bytes>=1000", Range(L("bytes"), "gte", L("1000"))),
    ("bytes < 10", Range(L("bytes"), "lt", L("10"))),
    ("bytes <= -10", Range(L("bytes"), "lte", L("-10"))),
    ('@timestamp < "2021-01-02T21:55:59"', Range(L("@timestamp"), "lt", L("2021-01-02T21:55:59", True))),
    ("a >= 1 and a < 5", And((Range(L("a"), "gte", L("1")), Range(L("a"), "lt", L("5"))))),
    # exists and wildcards
    ("user.name:*", Exists(L("user.name"))),
    ("user.name: *", Exists(L("user.name"))),
    ("event.*:*", Exists(W("event.", ""))),
    ("f:**", Is(L("f"), W("", "", ""))),  # two stars are a pattern, not "exists"
    ("process.name:power*", Is(L("process.name"), W("power", ""))),
    ("f:*.onion*", Is(L("f"), W("", ".onion", ""))),
    ("target_resources.*.display_name:guest", Is(W("target_resources.", ".display_name"), L("guest"))),
    ('f:"*"', f("f", L("*", True))),
    # nested
    ("items:{ name:banana and stock > 10 }", Nested(L("items"), And((f("name", "banana"), Range(L("stock"), "gt", L("10")))))),
    ("a:{ b:{ c:x } }", Nested(L("a"), Nested(L("b"), f("c", "x")))),
    # free text
    ("foo", FreeText(L("foo"))),
    ('"foo bar"', FreeText(L("foo bar", True))),
    ("*", FreeText(W("", ""))),
    # the field `null` is free text in Kibana
    ("null:x", FreeText(L("x"))),
]


@pytest.mark.parametrize("query,expected", STRUCTURE, ids=[q or "<empty>" for q, _ in STRUCTURE])
def test_structure(query, expected):
    assert parse(query) == expected


# ----------------------------------------------------------------------------- literals

LITERALS = [
    # unquoted values keep their inner whitespace and are trimmed
    ("f:foo bar", "foo bar"),
    ("f:  John  Smith  ", "John  Smith"),
    ("f:foo AND", "foo AND"),  # trailing keyword is literal text
    ("AND foo", None),
    ("f:3", "3"),
    ("f:070", "070"),
    ("f:-4", "-4"),
    ("f:true", True),
    ("f:false", False),
    ('f:"true"', "true"),
    # escapes in unquoted text
    ("f:C\\:\\\\Windows\\\\System32\\\\*", None),
    ("f:a\\(b\\)", "a(b)"),
    ("f:\\<\\>", "<>"),
    ('f:say \\"hi\\"', 'say "hi"'),
    ("f:\\{x\\}", "{x}"),
    ("f:2\\*3", "2*3"),
    ("f:a\\tb", "a\tb"),
    ("f:a\\nb", "a\nb"),
    ("f:a\\rb", "a\rb"),
    ("f:\\u0041BC", "ABC"),
    ("f:x \\and y", "x and y"),
    ("f:x \\OR y", "x OR y"),
    ("f:\\NOT x", "NOT x"),
    ("f:\\Not x", "Not x"),
    # the \not trap: \n is a newline escape, so this is newline + "ot"
    ("f:foo \\not bar", "foo \not bar"),
    ("f:?", "?"),  # '?' is an ordinary character
    ("f:10.0.0.0/8", "10.0.0.0/8"),  # '/' is not special
    # quoted strings
    ('f:"C:\\Windows"', "C:\\Windows"),  # other backslashes are literal inside quotes
    ('f:"C:\\temp\\new.txt"', "C:\temp\new.txt"),  # ...but \t and \n are still escapes
    ('f:"C:\\\\temp"', "C:\\temp"),
    ('f:"say \\"hi\\""', 'say "hi"'),
    ('f:"\\u00e9t\\u00e9"', "été"),
    ('f:"a:b (c) *"', "a:b (c) *"),
    ('f:"\\"Global Administrator\\""', '"Global Administrator"'),
    ("f:\u00e9l\u00e8ve", "élève"),
]


@pytest.mark.parametrize("query,value", LITERALS, ids=[q for q, _ in LITERALS])
def test_literal_values(query, value):
    node = parse(query)
    if query == "AND foo":
        assert node == FreeText(L("AND foo"))
        return
    if query.startswith("f:C\\:"):
        assert node == Is(L("f"), W("C:\\Windows\\System32\\", ""))
        return
    assert isinstance(node, Is), node
    assert node.value.value == value
    assert node.value.is_quoted == query[2:].startswith('"')


def test_quoted_flag_and_wildcard_info():
    node = parse('a:"x*" and b:x*')
    assert node.items[0].value == Literal("x*", quoted=True)
    assert node.items[0].value.is_quoted and not node.items[0].value.is_wildcard
    assert node.items[1].value.is_wildcard and node.items[1].value.parts == ("x", "")


def test_escaped_star_mixed_with_wildcard():
    assert parse("f:a\\**").value == W("a*", "")


def test_escaped_whitespace_is_trimmed_like_kibana():
    assert parse("f:\\t").value == L("")
    assert parse("f:\\tx\\n").value == L("x")


def test_keyword_inside_word_ends_literal():
    # Kibana's Keyword lookahead matches "not " anywhere, so "cannot connect" fails to parse.
    with pytest.raises(KqlError):
        parse("message:cannot connect")
    assert parse("message:cannot").value == L("cannot")
    assert parse('message:"cannot connect"').value == L("cannot connect", True)


def test_quoted_field_names():
    assert parse('"my field": x') == Is(L("my field", True), L("x"))


# ----------------------------------------------------------------------------- real-rule shapes
# Constructs seen in elastic/detection-rules kuery rules, written as our own queries.

RULE_SHAPES = [
    'event.dataset:"aws.cloudtrail" and event.provider:iam.amazonaws.com and event.action:(AttachUserPolicy or PutUserPolicy)',
    "event.category:process and host.os.type:windows and process.parent.name:(winword.exe or excel.exe)"
    " and not process.executable:C\\:\\\\Program*",
    "process.executable:(C\\:\\\\Windows\\\\System32\\\\*.exe or C\\:\\\\Users\\\\*\\\\AppData\\\\*)",
    "registry.path:HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\*",
    'powershell.file.script_block_text:("Invoke-Mimikatz" or "sekurlsa::logonpasswords" or (MiniDump and lsass))'
    ' and not user.id:"S-1-5-18"',
    "not winlog.event_data.SubjectUserName:*$ and event.code:4662",
    'source.ip:(10.0.0.0/8 or 172.16.0.0/12 or 192.168.0.0/16) and destination.port:(445 or 139)',
    "dns.question.name:(*.ngrok.io or *.trycloudflare.com) and not dns.question.name:internal.example.com",
    "aws.cloudtrail.flattened.request_parameters.ipPermissions.items.ipRanges.items.cidrIp:(\"0.0.0.0/0\" or \"::/0\")",
    "aws.cloudtrail.user_identity.type:(AssumedRole or IAMUser)\n  and aws.cloudtrail.user_identity.session_context.session_issuer.type:Role",
    'user.name:(SYSTEM or "LOCAL SERVICE" or "NETWORK SERVICE")',
    "event.outcome:(Success or success) and azure.signinlogs.properties.*.display_name:guest",
    "file.name:*.ps1 and file.path:*\\\\Temp\\\\*",
    "url.full:*.onion* or url.original:*?x=1*",
    'process.args:("-enc" or "-EncodedCommand" or -e) and process.args_count >= 3',
    "event.action:\"exec\" and process.working_directory:/tmp* and not process.name:(bash or sh)",
]


@pytest.mark.parametrize("query", RULE_SHAPES)
def test_real_rule_shapes_parse_and_round_trip(query):
    tree = parse(query)
    assert parse(render(tree)) == tree


def test_program_files_space_escape_is_an_error():
    # "\ " is not an escape in KQL: the backslash can't start a character.
    with pytest.raises(KqlError) as info:
        parse("process.executable:C\\:\\\\Program\\ Files")
    assert info.value.column == 32


# ----------------------------------------------------------------------------- errors

ERRORS = [
    ("NOT(a:1)", 1, 4, 'Expected ":", "<", "<=", ">", ">=", AND, OR, end of input, or whitespace but "(" found'),
    ("a and(b)", 1, 6, None),
    ("not not a:1", 1, 5, None),
    ("a:", 1, 3, 'Expected "(", "{", value, or whitespace but end of input found'),
    ("a:(b or c", 1, 10, None),
    ("(a:1", 1, 5, None),
    ('a:"unterminated', 1, 3, None),
    ("C:\\Windows", 1, 3, None),
    ("a < ", 1, 5, None),
    ("a:1 and\nb:{ c:1", 2, 8, None),
    ("a:1 )", 1, 5, None),
    ("a:{ }", 1, 5, None),
]


@pytest.mark.parametrize("query,line,column,message", ERRORS, ids=[q for q, *_ in ERRORS])
def test_errors_are_located(query, line, column, message):
    with pytest.raises(KqlError) as info:
        parse(query)
    err = info.value
    assert (err.line, err.column) == (line, column)
    if message:
        assert err.message == message
    text = str(err)
    assert f"line {line}, column {column}" in text
    caret_line = text.splitlines()[-1]
    assert caret_line.endswith("^") and caret_line.index("^") == 4 + column - 1


def test_error_is_a_value_error_with_excerpt():
    with pytest.raises(ValueError) as info:
        parse("event.action:AssumeRole and (")
    assert "event.action:AssumeRole and (" in str(info.value)


def test_deep_nesting_gives_kql_error_not_recursion_error():
    with pytest.raises(KqlError):
        parse("(" * 5000 + "a" + ")" * 5000)


def test_non_string_query_is_rejected():
    with pytest.raises(KqlError):
        parse(None)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- render and field names

RENDER = [
    ("a:1 and (b:2 or c:3)", "a:1 and (b:2 or c:3)"),
    ("not (a:1 or b:2)", "not (a:1 or b:2)"),
    ("f:foo \\and bar", "f:foo \\and bar"),
    ("f:x \\NOT y", "f:x \\NOT y"),
    ('f:"a \\"q\\" \\\\"', 'f:"a \\"q\\" \\\\"'),
    ("f:C\\:\\\\x*", "f:C\\:\\\\x*"),
    ("items:{ a:1 }", "items:{ a:1 }"),
    ("", "*:*"),
]


@pytest.mark.parametrize("query,expected", RENDER, ids=[q or "<empty>" for q, _ in RENDER])
def test_render(query, expected):
    tree = parse(query)
    text = render(tree)
    if expected is not None:
        assert text == expected
    assert parse(text) == tree


def test_escaped_backslash_then_not_is_an_error():
    # `\\` is a backslash; the following "not " is then a keyword inside the literal.
    with pytest.raises(KqlError) as info:
        parse("f:\\\\not x")
    assert info.value.column == 5


def test_render_escapes_lowercase_not_without_the_newline_trap():
    tree = Is(L("f"), L("cannot stop"))
    text = render(tree)
    assert "\\not" not in text
    assert parse(text) == tree


def test_field_names_resolve_nested_scopes():
    q = "event.action:x and not user.name:y and items:{ name:a and tags:{ v:1 } } and foo and b.*:*"
    assert field_names(q) == ["b.*", "event.action", "items", "items.name", "items.tags", "items.tags.v", "user.name"]


def test_spans_point_into_the_query():
    q = "a:1 and bb:22"
    node = parse(q)
    start, end = node.items[1].span
    assert q[start:end] == "bb:22"
