"""detection match QUERY EVENTS.ndjson: print the line numbers of the events a query matches."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.event_files import matching_lines
from detection.fields import FieldSchema, default_schema, load_custom_fields, load_custom_file
from detection.query_errors import caret_excerpt

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2
CODE_QUERY = "Q101"  # the query does not parse: lint's code for the same problem
CODE_NO_QUERY = "E301"
CODE_LANGUAGE = "E302"
QUERY_PATH = "<query>"  # where a query given on the command line is "located"
LANGUAGES = ("kuery", "eql", "lucene", "esql")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "match",
        help="run a query over an NDJSON events file",
        description="Print the 1-based line numbers of the events in EVENTS (one JSON object per line) that "
        "QUERY matches, with Elasticsearch's matching rules for each field type. Exit 0 when something "
        "matched, 1 when nothing did, 2 for a bad query, bad events file or usage error.",
    )
    p.add_argument("query", nargs="?", help="the query (omit with --rule)")
    p.add_argument("events", type=Path, help="NDJSON file of events")
    p.add_argument("--rule", type=Path, help="take query, language and index from this rule file")
    p.add_argument("--fields", type=Path, help="extra field definitions: a fields .yml file or a folder of them "
                   "(the project's fields-dir, schemas/fields by default, is always read)")
    p.add_argument("--language", default=None, help="query language (default kuery)")
    p.add_argument("--count", action="store_true", help="print only the number of matching events")
    p.set_defaults(func=run)
    return p


def _schema(fields: Path | None, index: list[str] | None, project_from: Path | None = None) -> FieldSchema:
    """Shipped field types, the project's fields-dir (as `detection test` reads them), then --fields."""
    from detection.config import load_config

    schema = default_schema()
    project_fields = load_config(project_from).fields_dir
    if project_fields.is_dir():
        schema = schema.merge(load_custom_fields(project_fields))
    if fields is not None:
        extra = load_custom_fields(fields) if fields.is_dir() else FieldSchema((load_custom_file(fields),))
        schema = schema.merge(extra)
    return schema.for_indices(index) if index else schema


def _from_rule(path: Path):
    from detection.loader import load_rule_file  # imported late: only --rule needs the rule model

    rule = load_rule_file(path)
    if not rule.query:
        where = rule.location(("rule", "type")) if "type" in rule.rule else Location(rule.display_path, 1, 1)
        raise DetectionError([Diagnostic(where, CODE_NO_QUERY, f"the rule has no query (type {rule.type})",
                                         hint="match runs a rule's query; rules of this type have none")])
    return rule


def _query_error(exc: Exception, query: str, rule=None, label: str = "KQL") -> DetectionError:
    """A query that does not parse, located in the rule file (with --rule) or in the query argument."""
    offset = getattr(exc, "offset", 0)
    message = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "code", None)
    code = code if isinstance(code, str) and code[:1].isalpha() else CODE_QUERY
    if rule is not None:
        from detection.lint.positions import value_location

        where = value_location(rule, ("rule", "query"), offset)
    else:
        where = Location(QUERY_PATH, getattr(exc, "line", 1), getattr(exc, "column", 1))
        message += f" (line {where.line}, column {where.column})"  # the parser's own wording, as for KQL
    return DetectionError([Diagnostic(where, code, f"{label} syntax error: {message}\n{caret_excerpt(query, offset)}",
                                      hint=getattr(exc, "hint", None))])


def run(args: argparse.Namespace) -> int:
    from detection.kql import KqlError, compile

    index: list[str] = []
    rule = None
    if args.rule is not None:
        if args.query is not None and args.events is None:
            args.events = Path(args.query)
        elif args.query is not None:
            print("detection match: give either QUERY or --rule, not both", file=sys.stderr)
            return EXIT_USAGE
        rule = _from_rule(args.rule)
        query, language, index = rule.query, args.language or rule.language or "kuery", rule.index
    elif args.query is None:
        print("detection match: a QUERY (or --rule) is required", file=sys.stderr)
        return EXIT_USAGE
    else:
        query, language = args.query, args.language or "kuery"
    if language not in LANGUAGES:
        return _unsupported(language, query, rule)
    schema = _schema(args.fields, index, args.rule.resolve() if args.rule is not None else None)
    if language == "eql":
        return _run_eql(args, query, schema, rule)
    if language == "esql":
        return _run_esql(args, query, schema, rule)
    try:
        predicate = _lucene(query, schema, rule) if language == "lucene" else compile(query, schema)
    except KqlError as exc:
        if rule is None:  # keep the parser's own wording: it already says line, column and caret
            raise DetectionError([Diagnostic(Location(QUERY_PATH, exc.line, exc.column), CODE_QUERY,
                                             f"invalid query: {exc}")]) from None
        raise _query_error(exc, query, rule) from None
    count = 0
    for line_no in matching_lines(predicate, args.events):
        count += 1
        if not args.count:
            print(line_no)
    if args.count:
        print(count)
    return EXIT_OK if count else EXIT_NO_MATCH


def _unsupported(language: str, query: str, rule) -> int:
    if language == "esql":  # still worth telling where an ES|QL rule's query is broken
        from detection import esql

        try:
            esql.parse(query)
        except esql.EsqlError as exc:
            raise _query_error(exc, query, rule, "ES|QL") from None
    message = f"language {language!r} is not supported (supported: {', '.join(LANGUAGES)})"
    if rule is not None and "language" in rule.rule:
        raise DetectionError([Diagnostic(rule.location(("rule", "language")), CODE_LANGUAGE, message,
                                         hint="run this rule's fixture cases with `detection test`")])
    print(f"detection match: {message}", file=sys.stderr)
    return EXIT_USAGE


def _run_eql(args: argparse.Namespace, query: str, schema: FieldSchema, rule=None) -> int:
    """EQL: one output line per match; a sequence prints its events' line numbers, space-separated."""
    from detection import eql
    from detection.event_files import iter_ndjson

    options: dict[str, str] = {}
    if rule is not None:  # the rule's own EQL settings (event_category_override and friends)
        for key, option in (("event_category_override", "event_category_field"),
                            ("timestamp_field", "timestamp_field"), ("tiebreaker_field", "tiebreaker_field")):
            if rule.rule.get(key):
                options[option] = rule.rule[key]
    numbered = list(iter_ndjson(args.events))
    try:
        matches = eql.match_lines(query, [e for _, e in numbered], lines=[n for n, _ in numbered],
                                  fields=schema, **options)
    except eql.EqlError as exc:
        raise _query_error(exc, query, rule, "EQL") from None
    if args.count:
        print(len(matches))
    else:
        for lines in matches:
            print(" ".join(map(str, lines)))
    return EXIT_OK if matches else EXIT_NO_MATCH


def _lucene(query: str, schema: FieldSchema, rule=None):
    """A Lucene (query_string) query as a predicate; a bad one is located like a KQL one."""
    from detection import lucene

    try:
        return lucene.compile(query, schema)
    except lucene.LuceneError as exc:
        raise _query_error(exc, query, rule, "Lucene") from None


def _run_esql(args: argparse.Namespace, query: str, schema: FieldSchema, rule=None) -> int:
    """ES|QL: one output line per result row (each row is one alert of an ES|QL rule), as JSON."""
    import json

    from detection import esql
    from detection.event_files import iter_ndjson

    events = [e for _, e in iter_ndjson(args.events)]
    try:
        result = esql.execute(query, events, field_types=schema)
    except esql.EsqlError as exc:
        raise _query_error(exc, query, rule, "ES|QL") from None
    if args.count:
        print(len(result.rows))
    else:
        for row in result.rows:
            print(json.dumps(row, default=str, ensure_ascii=False))
    for warning in result.warnings:
        print(f"detection match: warning: {warning.format()}", file=sys.stderr)
    return EXIT_OK if result.rows else EXIT_NO_MATCH
