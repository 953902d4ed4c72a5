"""Q1xx: KQL queries - syntax, fields, value types, and the traps Kibana users fall into."""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from detection.diagnostics import Diagnostic, Severity
from detection.lint import eql_facts, esql_facts
from detection.lint.context import RuleContext
from detection.lint.kql_facts import Leaf, control_escapes, field_offset, leaves, nested_paths, value_span
from detection.lint.registry import check

NUMERIC = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                     "unsigned_long"})
NO_WILDCARD = NUMERIC | {"ip", "date", "date_nanos", "boolean"}
KEYWORD_LIKE = frozenset({"keyword", "constant_keyword", "wildcard"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LUCENE_RANGE = re.compile(r"^[\[{].*\sTO\s.*[\]}]$")


def _kql():
    from detection import kql

    return kql


def _parsed(ctx: RuleContext) -> Iterator[Any]:
    for query in ctx.kql_queries:
        if query.tree is not None:
            yield query


# ------------------------------------------------------------------------------------------ Q101

@check("Q101", "query-syntax", "the query does not parse",
       explanation="""
       Kibana refuses to save a rule whose query it cannot parse, and an imported rule with a broken
       query fails on every run. The position points at the first character the parser could not
       accept. Common causes: an unescaped special character (`\\ ( ) : < > " * { }`), a Windows
       path written with single backslashes outside quotes, `NOT(...)` without a space.
       """,
       bad="""
       query: process.executable:C:\\Windows\\System32\\cmd.exe
       """,
       good="""
       query: process.executable:"C:\\\\Windows\\\\System32\\\\cmd.exe"
       """)
def query_syntax(ctx: RuleContext) -> Iterator[Diagnostic]:
    for query in ctx.kql_queries:
        error = query.error
        if error is None:
            continue
        yield Diagnostic(ctx.at_offset(query.path, error.offset), "Q101", f"KQL syntax error: {error.message}",
                         hint=error.hint or _syntax_hint(query.text, error.offset))
    yield from _other_language_syntax(ctx)


def _syntax_hint(text: str, offset: int) -> str:
    window = text[max(0, offset - 1):offset + 2]
    if "\\" in window:
        return "outside quotes a backslash only escapes \\ ( ) : < > \" * { } and keywords; quote the value " \
               "and double each backslash"
    if text[offset:offset + 1] in "():<>*{}\"":
        return "escape the character with a backslash or put the value in double quotes"
    return "check the query at this position (KQL keywords are and, or, not; values with spaces need quotes)"


# language -> (its package's error class, its name in messages)
_OTHER_LANGUAGES = {"eql": ("EqlError", "EQL"), "esql": ("EsqlError", "ES|QL"), "lucene": ("LuceneError", "Lucene")}


def _other_language_syntax(ctx: RuleContext) -> Iterator[Diagnostic]:
    """EQL, ES|QL and Lucene rules: report parse errors when those parsers are installed."""
    language, text = ctx.rule.language, ctx.rule.query
    if language not in _OTHER_LANGUAGES or not isinstance(text, str):
        return
    try:
        module = __import__(f"detection.{language}", fromlist=["parse"])
    except ImportError:
        return
    error_type = getattr(module, _OTHER_LANGUAGES[language][0], None)
    if error_type is None or not hasattr(module, "parse"):
        return
    try:
        module.parse(text)
    except error_type as exc:
        # Features our parser does not implement are not the rule's fault.
        if type(exc).__name__.endswith("Unsupported") or getattr(exc, "code", None) == "LUC002":
            return
        line, column = getattr(exc, "line", 1), getattr(exc, "column", 1)
        offset = _offset_of(text, line, column)
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        label = _OTHER_LANGUAGES[language][1]
        # the parser's own hint says what to write instead; the generic one is the fallback
        yield Diagnostic(ctx.at_offset(("rule", "query"), offset), "Q101", f"{label} syntax error: {message}",
                         hint=getattr(exc, "hint", None) or "fix the query at this position")


def _offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(x) + 1 for x in lines[:line - 1]) + max(0, column - 1)


# ------------------------------------------------------------------------------------------ Q102

@check("Q102", "unknown-field", "a field is not known for the rule's indices",
       explanation="""
       A field that no mapping of the rule's indices has matches nothing, so a misspelt field
       silently turns a clause into "never" (or, under `not`, into "always"). Fields are known from
       ECS, the shipped integration data streams that the rule's `index` patterns can reach, and the
       project's custom field files (`schemas/fields/*.yml`). The same applies to the fields of a
       Lucene query, of an EQL query (not to optional `?field`s), of an ES|QL query (the index
       fields it reads, against the indices of its `FROM`; columns the query makes with `EVAL`,
       `STATS` or `RENAME` and `METADATA` fields are not index fields), to `new_terms_fields`,
       `threshold.field`, `alert_suppression.group_by` and `timestamp_override`. Set
       `metadata.query_schema_validation: false` for a rule that reads non-standard indices, or
       declare the fields in a custom field file.
       """,
       bad="""
       index: [logs-aws*]
       query: event.dataset:aws.cloudtrail and aws.cloudtrail.user_identity.sesion_context.mfa_authenticated:false
       """,
       good="""
       index: [logs-aws*]
       query: event.dataset:aws.cloudtrail and aws.cloudtrail.user_identity.session_context.mfa_authenticated:false
       """)
def unknown_field(ctx: RuleContext) -> Iterator[Diagnostic]:
    yield from _unknown_esql_fields(ctx)
    schema = ctx.schema
    if schema is None:
        return
    where = ", ".join(ctx.rule.index) or "any index"
    for query in ctx.field_queries:
        for node, path in nested_paths(query.tree):
            if "*" not in path and schema.type_of(path) is None:
                yield _unknown(ctx, schema, path, where, ctx.at_offset(query.path, node.span[0]))
        reported: set[tuple[str, int]] = set()
        for leaf in leaves(query.tree):
            if _known(schema, leaf.field) or (query.language == "lucene" and "?" in leaf.field):
                continue  # a Lucene field name with '?' is a pattern over names
            offset = field_offset(query.text, leaf.node)
            # Lucene gives one leaf per value of field:(a OR b) and per bound of a range: one finding.
            if query.language == "lucene" and (leaf.field, offset) in reported:
                continue
            reported.add((leaf.field, offset))
            yield _unknown(ctx, schema, leaf.field, where, ctx.at_offset(query.path, offset))
    eql_query = eql_facts.eql_query(ctx)
    if eql_query is not None:
        for name, offset in eql_facts.eql_fields(eql_query):
            if not _known(schema, name):
                yield _unknown(ctx, schema, name, where, ctx.at_offset(eql_facts.QUERY_PATH, offset))
    outputs = _esql_outputs(ctx)
    # An ES|QL query this engine cannot analyse (say it uses GROK or COMPLETION) may make any
    # column, so the names its alerts are grouped by cannot be judged.
    opaque = ctx.rule.language == "esql" and esql_facts.esql_query(ctx) is None
    for path, name in _side_fields(ctx.rule.rule):
        if opaque and path[0] == "alert_suppression":
            continue
        if name not in outputs and not _known(schema, name):
            yield _unknown(ctx, schema, name, where, ctx.at(("rule",) + path))


def _unknown_esql_fields(ctx: RuleContext) -> Iterator[Diagnostic]:
    """An ES|QL query's index fields, against the indices of its FROM command."""
    query = esql_facts.esql_query(ctx)
    schema = esql_facts.schema_for(ctx, query) if query is not None else None
    if schema is None:
        return
    where = ", ".join(esql_facts.source_indices(query) or ctx.rule.index) or "any index"
    for name, offset in esql_facts.esql_fields(query):
        if not _known(schema, name):
            yield _unknown(ctx, schema, name, where, ctx.at_offset(esql_facts.QUERY_PATH, offset))


def _esql_outputs(ctx: RuleContext) -> frozenset[str]:
    """Columns an ES|QL query makes itself: alert suppression may group by them."""
    query = esql_facts.esql_query(ctx)
    return esql_facts.query_fields(query).made if query is not None else frozenset()


def _known(schema: Any, name: str) -> bool:
    if "*" in name:
        return bool(schema.match_pattern(name))
    return schema.type_of(name) is not None


def _unknown(ctx: RuleContext, schema: Any, name: str, where: str, location: Any) -> Diagnostic:
    guesses = difflib.get_close_matches(name, schema.names(), n=1, cutoff=0.85) if "*" not in name else []
    fields_dir = "schemas/fields"
    if ctx.project.config is not None:
        try:
            fields_dir = str(ctx.project.config.fields_dir.relative_to(ctx.project.config.root))
        except ValueError:
            fields_dir = str(ctx.project.config.fields_dir)
    if guesses:
        hint = f"did you mean '{guesses[0]}'?"
    else:
        hint = f"if the field is real, declare it in {fields_dir}/*.yml"
    what = "no field matches the pattern" if "*" in name else "unknown field"
    return Diagnostic(location, "Q102", f"{what} '{name}' for indices {where}", hint=hint,
                      data={"field": name, **({"suggestion": guesses[0]} if guesses else {})})


def _side_fields(rule: dict) -> Iterator[tuple[tuple, str]]:
    """Field names outside the query: (path inside the rule table, name)."""
    for i, name in enumerate(rule.get("new_terms_fields") or []):
        yield ("new_terms_fields", i), name
    threshold = rule.get("threshold") or {}
    fields = threshold.get("field")
    if isinstance(fields, str) and fields:
        yield ("threshold", "field"), fields
    elif isinstance(fields, list):
        for i, name in enumerate(fields):
            yield ("threshold", "field", i), name
    for i, item in enumerate(threshold.get("cardinality") or []):
        if isinstance(item, dict) and isinstance(item.get("field"), str):
            yield ("threshold", "cardinality", i, "field"), item["field"]
    for i, name in enumerate((rule.get("alert_suppression") or {}).get("group_by") or []):
        yield ("alert_suppression", "group_by", i), name
    if isinstance(rule.get("timestamp_override"), str):
        yield ("timestamp_override",), rule["timestamp_override"]


# ------------------------------------------------------------------------------------------ Q103-Q105

def _typed_leaves(ctx: RuleContext) -> Iterator[tuple[Any, Leaf, str]]:
    """(parsed query, leaf, field type) for the leaves of the rule's own KQL or Lucene query with a
    known, single type."""
    schema = ctx.schema
    if schema is None:
        return
    for query in ctx.field_queries:
        for leaf in leaves(query.tree):
            if "*" in leaf.field:
                continue
            kind = schema.type_of(leaf.field)
            if kind:
                yield query, leaf, kind


def _literal_text(value: Any) -> tuple[str | None, bool | None]:
    """(text, boolean) of a literal value; text is None for wildcards."""
    kql = _kql()
    if isinstance(value, kql.Wildcard):
        return None, None
    if isinstance(value.value, bool):
        return value.text, value.value
    if value.value is None:
        return "null", None
    return value.value, None


def _type_problem(kind: str, value: Any) -> str | None:
    text, boolean = _literal_text(value)
    if text is None:
        return None
    if kind in NUMERIC:
        if boolean is not None or not _NUMBER.match(text.strip()):
            return f"'{text}' is not a number"
    elif kind == "ip":
        if not _is_ip_or_cidr(text):
            return f"'{text}' is not an IP address or CIDR block"
    elif kind == "boolean":
        if boolean is None and text not in ("true", "false", ""):
            return f"'{text}' is not true or false"
    return None


def _is_ip_or_cidr(text: str) -> bool:
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


@check("Q103", "value-type-mismatch", "a value cannot be a value of the field's type",
       explanation="""
       Elasticsearch parses the value by the field's type. A word on a number, IP or boolean field
       is not "no match": the search fails with an error (`failed to create query`), so the rule
       errors on every run and never alerts. Compare numbers with digits, IPs with addresses or CIDR
       blocks, booleans with true or false.
       """,
       bad="""
       query: source.port:ssh or source.ip:localhost
       """,
       good="""
       query: source.port:22 or source.ip:127.0.0.1
       """)
def value_type_mismatch(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    for query, leaf, kind in _typed_leaves(ctx):
        node = leaf.node
        if not isinstance(node, (kql.Is, kql.Range)):
            continue
        if isinstance(node, kql.Range) and kind not in NUMERIC and kind != "ip":
            continue
        problem = _type_problem(kind, node.value)
        if problem:
            yield Diagnostic(ctx.at_offset(query.path, value_span(node)[0]), "Q103",
                             f"{problem}, but {leaf.field} is a {kind} field; Elasticsearch rejects the query",
                             hint=f"compare {leaf.field} with a {_type_example(kind)}",
                             data={"field": leaf.field, "type": kind})


def _type_example(kind: str) -> str:
    if kind in NUMERIC:
        return "number, e.g. 443"
    if kind == "ip":
        return "an IP address or CIDR block, e.g. 10.0.0.0/8"
    return "true or false"


@check("Q104", "wildcard-on-typed-field", "a wildcard on a number, IP, date or boolean field",
       explanation="""
       Wildcards work on keyword, wildcard and text fields only. On a numeric, IP, date or boolean
       field Elasticsearch rejects the query, so the rule fails on every run. Use a range
       (`destination.port >= 8000 and destination.port <= 8999`) or a CIDR block (`10.0.0.0/8`).
       """,
       bad="""
       query: source.ip:10.0.* and destination.port:80*
       """,
       good="""
       query: source.ip:10.0.0.0/16 and destination.port >= 8000 and destination.port < 9000
       """)
def wildcard_on_typed_field(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    for query, leaf, kind in _typed_leaves(ctx):
        node = leaf.node
        if isinstance(node, kql.Is) and isinstance(node.value, kql.Wildcard) and kind in NO_WILDCARD:
            hint = "use a CIDR block such as 10.0.0.0/8" if kind == "ip" else "use a range (>=, <) instead"
            yield Diagnostic(ctx.at_offset(query.path, value_span(node)[0]), "Q104",
                             f"wildcard '{node.value.text}' on {kind} field {leaf.field}; Elasticsearch rejects "
                             "wildcards on this type", hint=hint, data={"field": leaf.field, "type": kind})


@check("Q105", "cidr-on-non-ip-field", "a CIDR block compared with a field that is not an IP",
       explanation="""
       Only `ip` fields understand CIDR notation. On a keyword or text field `10.0.0.0/8` is the
       literal string "10.0.0.0/8", which no address equals, so the clause never matches. Reported for
       address fields (named `ip` or `address`, or with an `ip` field beside them, like
       `source.address` next to `source.ip`); fields that store CIDR text, such as CloudTrail's
       `cidrIp` request parameter, are left alone.
       """,
       bad="""
       query: source.address:10.0.0.0/8
       """,
       good="""
       query: source.ip:10.0.0.0/8
       """)
def cidr_on_non_ip(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    for query, leaf, kind in _typed_leaves(ctx):
        node = leaf.node
        if kind == "ip" or kind in NUMERIC or not isinstance(node, kql.Is):
            continue
        text, _ = _literal_text(node.value)
        if not (text and "/" in text and _is_ip_or_cidr(text)):
            continue
        # Some text fields hold CIDR blocks as written (CloudTrail's cidrIp request parameter), so only
        # address fields count: a field named ip/address, or one with an ip field beside it.
        parent, _, last = leaf.field.rpartition(".")
        sibling = f"{parent}.ip" if parent else "ip"
        has_ip_sibling = sibling != leaf.field and ctx.schema.type_of(sibling) == "ip"
        if last.lower() not in ("ip", "address") and not has_ip_sibling:
            continue
        better = sibling if has_ip_sibling else "an ip field"
        yield Diagnostic(ctx.at_offset(query.path, value_span(node)[0]), "Q105",
                         f"CIDR block '{text}' on {kind} field {leaf.field} matches only that exact text",
                         hint=f"compare {better} with the CIDR block", data={"field": leaf.field, "type": kind,
                                                                           **({"suggestion": sibling} if has_ip_sibling else {})})


# ------------------------------------------------------------------------------------------ Q106-Q107

def _free_text(ctx: RuleContext) -> Iterator[tuple[Any, Any, Any]]:
    """(query, free-text node, the field clause just before it in the same `or`, or None)."""
    kql = _kql()
    for query in _parsed(ctx):
        seen: set[int] = set()
        for node in kql.walk(query.tree):
            # Only `or` makes the trap: `a: x or y` reads as a value list but is not one.
            if isinstance(node, kql.Or):
                previous = None
                for item in node.items:
                    if isinstance(item, kql.FreeText):
                        seen.add(id(item))
                        yield query, item, previous if isinstance(previous, kql.Is) else None
                    previous = item
        for node in kql.walk(query.tree):
            if isinstance(node, kql.FreeText) and id(node) not in seen:
                yield query, node, None


@check("Q106", "value-list-without-parentheses", "`field: x or y` searches y in every field",
       explanation="""
       KQL only distributes a field over a value list written in parentheses. In
       `event.action: CreateUser or DeleteUser` the second value has no field: it becomes a free-text
       search over every field, so the clause matches far more than intended (and is slow). Write
       `event.action:(CreateUser or DeleteUser)`.
       """,
       bad="""
       query: event.action:CreateUser or DeleteUser
       """,
       good="""
       query: event.action:(CreateUser or DeleteUser)
       """)
def value_list_without_parentheses(ctx: RuleContext) -> Iterator[Diagnostic]:
    for query, node, before in _free_text(ctx):
        if before is None:
            continue
        field, word = before.field.text, node.value.render()
        yield Diagnostic(ctx.at_offset(query.path, node.span[0]), "Q106",
                         f"'{word}' has no field: it is searched in every field, not in {field}",
                         hint=f"write {field}:({before.value.render()} or {word}) to give both values the field",
                         data={"field": field, "value": word})


@check("Q107", "free-text", "a value without a field is searched in every field",
       explanation="""
       A bare word in KQL is a free-text search over every field of the index. It is slow, matches in
       fields you did not mean, and depends on `index.query.default_field`. Name the field.
       """,
       bad="""
       query: event.dataset:aws.cloudtrail and AssumeRole
       """,
       good="""
       query: event.dataset:aws.cloudtrail and event.action:AssumeRole
       """,
       severity=Severity.WARNING)
def free_text(ctx: RuleContext) -> Iterator[Diagnostic]:
    for query, node, before in _free_text(ctx):
        if before is not None:
            continue  # Q106 explains this one better
        yield Diagnostic(ctx.at_offset(query.path, node.span[0]), "Q107",
                         f"'{node.value.render()}' has no field and is searched in every field",
                         hint="name the field: field:value")


# ------------------------------------------------------------------------------------------ Q108-Q109

@check("Q108", "escaped-not", "`\\not` is a newline followed by \"ot\", not an escaped keyword",
       explanation="""
       KQL reads `\\n` as a newline before it looks for escaped keywords, so `\\not` in an unquoted
       value is a newline and the letters "ot". (Kibana's own `escapeKuery` produces this.) Escape
       the keyword with a capital letter (`\\NOT`, `\\Not`) or put the value in quotes.
       """,
       bad="""
       query: 'process.title:do \\not disturb'
       """,
       good="""
       query: 'process.title:"do not disturb"'
       """)
def escaped_not(ctx: RuleContext) -> Iterator[Diagnostic]:
    for query in ctx.kql_queries:
        for escape in control_escapes(query.text):
            if escape.keyword_not:
                yield Diagnostic(ctx.at_offset(query.path, escape.offset), "Q108",
                                 "'\\not' is read as a newline followed by 'ot', not as the word not",
                                 hint="write \\NOT or put the value in double quotes")


@check("Q109", "control-escape", "`\\t`, `\\r` or `\\n` in a value is a TAB, CR or newline",
       explanation="""
       In quoted and unquoted KQL values `\\t`, `\\r` and `\\n` become TAB, carriage return and newline.
       A Windows path such as `"C:\\temp\\new.txt"` therefore contains a TAB and a newline and never
       matches. Double the backslash (`"C:\\\\temp\\\\new.txt"`). If a control character is really
       meant, suppress the finding with a reason.
       """,
       bad="""
       query: 'file.path:"C:\\temp\\new.txt"'
       """,
       good="""
       query: 'file.path:"C:\\\\temp\\\\new.txt"'
       """)
def control_escape(ctx: RuleContext) -> Iterator[Diagnostic]:
    names = {"t": "a TAB", "r": "a carriage return", "n": "a newline"}
    for query in ctx.kql_queries:
        for escape in control_escapes(query.text):
            if escape.keyword_not:
                continue
            yield Diagnostic(ctx.at_offset(query.path, escape.offset), "Q109",
                             f"'\\{escape.letter}' in a value is {names[escape.letter]}, not a backslash and "
                             f"'{escape.letter}'",
                             hint=f"write \\\\{escape.letter} (two backslashes) for a literal backslash")


# ------------------------------------------------------------------------------------------ Q110-Q111

@check("Q110", "literal-wildcard", "`?` or a quoted `*` is a plain character in KQL",
       explanation="""
       KQL has one wildcard, an unquoted `*`. A `?` is an ordinary character (Kibana even escapes it
       before sending it to Elasticsearch), and a `*` inside double quotes is a literal star. Such
       values match only text containing those characters. A quoted value that is exactly `"*"` is
       not reported: that is how a literal star is matched.
       """,
       bad="""
       query: 'process.name:"cmd*.exe" or process.name:power?hell.exe'
       """,
       good="""
       query: process.name:cmd*.exe or process.name:powershell.exe
       """,
       severity=Severity.WARNING)
def literal_wildcard(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    for query in _parsed(ctx):
        for leaf in leaves(query.tree):
            node = leaf.node
            if not isinstance(node, kql.Is):
                continue
            value, span = node.value, value_span(node)
            raw = query.text[span[0]:span[1]]
            # A quoted lone "*" is the way to match a literal star (an IAM policy's Principal "*").
            if value.is_quoted and "*" in value.text and value.text != "*":
                where = span[0] + max(0, raw.find("*"))
                yield Diagnostic(ctx.at_offset(query.path, where), "Q110",
                                 f"'*' inside quotes is a literal star, not a wildcard ({leaf.field})",
                                 hint="remove the quotes (escape spaces and specials with \\) to use a wildcard")
            elif not value.is_quoted and "?" in value.text:
                where = span[0] + max(0, raw.find("?"))
                yield Diagnostic(ctx.at_offset(query.path, where), "Q110",
                                 f"'?' is not a wildcard in KQL; it matches only a '?' ({leaf.field})",
                                 hint="use * for any characters, or list the exact values")


@check("Q111", "lucene-syntax", "Lucene syntax in a KQL query",
       explanation="""
       KQL is not Lucene. `[a TO b]` is a literal string in KQL, and `~` fuzziness does not exist.
       Use `field >= a and field <= b` for ranges, or set the rule's language to lucene.
       """,
       bad="""
       query: event.code:[4624 TO 4625]
       """,
       good="""
       query: event.code:(4624 or 4625)
       """)
def lucene_syntax(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    for query in _parsed(ctx):
        for leaf in leaves(query.tree):
            node = leaf.node
            if not isinstance(node, kql.Is) or node.value.is_quoted:
                continue
            text = node.value.text
            if _LUCENE_RANGE.match(text):
                low, _, high = text[1:-1].partition(" TO ")
                yield Diagnostic(ctx.at_offset(query.path, value_span(node)[0]), "Q111",
                                 f"'{text}' is a Lucene range; in KQL it is a literal string",
                                 hint=f"write {leaf.field} >= {low.strip()} and {leaf.field} <= {high.strip()}")
            elif re.search(r"\w~\d*$", text):
                yield Diagnostic(ctx.at_offset(query.path, value_span(node)[0]), "Q111",
                                 f"'{text}' uses Lucene fuzziness (~), which KQL does not have",
                                 hint="remove the ~ or use a wildcard")


# ------------------------------------------------------------------------------------------ Q112-Q113

@check("Q112", "leading-wildcard", "a value starts with a wildcard (expensive)",
       explanation="""
       A pattern that starts with `*` cannot use the index's term dictionary: Elasticsearch scans
       every term of the field, on every run. On busy keyword fields this slows the rule and the
       cluster. Anchor the pattern, match a whole value, or map the field as `wildcard` (fields of the
       `wildcard` type, such as `process.command_line`, are built for this and are not reported).
       """,
       bad="""
       query: process.name:*powershell.exe
       """,
       good="""
       query: process.name:(powershell.exe or pwsh.exe)
       """,
       severity=Severity.WARNING)
def leading_wildcard(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    schema = ctx.schema
    lucene = (ctx.lucene_query,) if ctx.lucene_query is not None else ()
    for query in (*_parsed(ctx), *lucene):
        for leaf in leaves(query.tree):
            node = leaf.node
            if not isinstance(node, kql.Is) or not isinstance(node.value, kql.Wildcard):
                continue
            if node.value.is_lone or node.value.parts[0] != "":
                continue
            kind = schema.type_of(leaf.field) if schema is not None and "*" not in leaf.field else None
            if kind in ("wildcard", "text", "match_only_text") or kind in NO_WILDCARD:
                continue  # efficient (wildcard type), per-token (text) or already Q104
            yield Diagnostic(ctx.at_offset(query.path, value_span(node)[0]), "Q112",
                             f"leading wildcard '{node.value.text}' on {leaf.field} scans every term of the field",
                             hint="start the pattern with its known prefix (e.g. arn\\:aws\\:iam\\:\\:*), list the exact "
                                  "values, or suppress Q112 with a reason if the text can sit anywhere")


@check("Q113", "keyword-range", "a range on a keyword field compares text, not numbers",
       explanation="""
       On keyword fields `<`, `<=`, `>`, `>=` compare strings byte by byte: "10" sorts before "9",
       so `winlog.event_id > 4000` (a keyword field) also matches "5" and misses "10000". Compare a
       numeric field, or list the values.
       """,
       bad="""
       query: event.code > 4000
       """,
       good="""
       query: event.code:(4624 or 4625)
       """,
       severity=Severity.WARNING)
def keyword_range(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    for query, leaf, kind in _typed_leaves(ctx):
        node = leaf.node
        if not isinstance(node, kql.Range) or kind not in KEYWORD_LIKE:
            continue
        text, _ = _literal_text(node.value)
        if text and _NUMBER.match(text.strip()):
            yield Diagnostic(ctx.at_offset(query.path, node.span[0]), "Q113",
                             f"{leaf.field} is a {kind} field: '{node.render()}' compares text, so \"10\" < \"9\"",
                             hint="compare a numeric field, or list the values: field:(a or b)",
                             data={"field": leaf.field, "type": kind})


# ------------------------------------------------------------------------------------------ Q114

@check("Q114", "untestable-query", "the query uses a feature the test engine does not implement",
       explanation="""
       The fixture runner evaluates ES|QL and Lucene with its own engines. A query that uses a
       command or function they do not implement (ES|QL `GROK`, `ENRICH`, `IP_LOCATION`, `MATCH()`...)
       is valid for Elasticsearch, but none of its fixture cases can run, so nothing proves the rule
       fires (`detection check` reports those cases as F141). The same holds for a rule with
       `filters` (query DSL that Kibana ANDs with the query): only the query is evaluated. Rewrite the query without the feature
       where you can, or accept the gap knowingly with a suppression that says why.
       """,
       bad="""
       type: esql
       language: esql
       query: 'from logs-aws* | grok message "%{IP:client}" | where client == "203.0.113.9"'
       """,
       good="""
       type: esql
       language: esql
       query: 'from logs-aws* | where source.ip == "203.0.113.9"'
       """,
       severity=Severity.WARNING)
def untestable_query(ctx: RuleContext) -> Iterator[Diagnostic]:
    if ctx.rule.rule.get("filters"):
        # Kibana ANDs these query-DSL filters with the query; the test engine evaluates the query only.
        yield Diagnostic(ctx.rule.location(("rule", "filters"), key=True), "Q114",
                         "fixture cases of this rule cannot run: the test engine does not evaluate `filters`",
                         hint="fold the filters into the query, or suppress Q114 with the reason the gap is accepted")
    language, text = ctx.rule.language, ctx.rule.query
    if language not in ("esql", "lucene") or not isinstance(text, str):
        return
    module = __import__(f"detection.{language}", fromlist=["parse"])
    try:
        module.parse(text)
    except Exception as exc:  # noqa: BLE001 - only the "not implemented" kind is reported here
        unsupported = type(exc).__name__.endswith("Unsupported") or getattr(exc, "code", None) == "LUC002"
        if not unsupported:
            return  # a real syntax error: Q101 reports it
        line, column = getattr(exc, "line", 1), getattr(exc, "column", 1)
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        yield Diagnostic(ctx.at_offset(("rule", "query"), _offset_of(text, line, column)), "Q114",
                         f"fixture cases of this rule cannot run: {message}",
                         hint="rewrite the query without it, or suppress Q114 with the reason the gap is accepted")


CHECKS = (query_syntax, unknown_field, value_type_mismatch, wildcard_on_typed_field, cidr_on_non_ip,
          value_list_without_parentheses, free_text, escaped_not, control_escape, literal_wildcard,
          lucene_syntax, leading_wildcard, keyword_range, untestable_query)
