"""detection match QUERY EVENTS.ndjson: print the line numbers of the events a query matches."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.diagnostics import DetectionError
from detection.event_files import matching_lines
from detection.fields import FieldSchema, default_schema, load_custom_fields, load_custom_file

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2
LANGUAGES = ("kuery", "eql")


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
    p.add_argument("--fields", type=Path, help="extra field definitions: a fields .yml file or a folder of them")
    p.add_argument("--language", default=None, help="query language (default kuery)")
    p.add_argument("--count", action="store_true", help="print only the number of matching events")
    p.set_defaults(func=run)
    return p


def _schema(fields: Path | None, index: list[str] | None) -> FieldSchema:
    schema = default_schema()
    if fields is not None:
        extra = load_custom_fields(fields) if fields.is_dir() else FieldSchema((load_custom_file(fields),))
        schema = schema.merge(extra)
    return schema.for_indices(index) if index else schema


def _from_rule(path: Path) -> tuple[str, str, list[str]]:
    from detection.loader import load_rule_file  # imported late: only --rule needs the rule model

    rule = load_rule_file(path)
    if not rule.query:
        raise SystemExit(f"{rule.display_path}: the rule has no query")
    return rule.query, rule.language or "kuery", rule.index


def run(args: argparse.Namespace) -> int:
    from detection.kql import KqlError, compile

    index: list[str] = []
    try:
        if args.rule is not None:
            if args.query is not None and args.events is None:
                args.events = Path(args.query)
            elif args.query is not None:
                print("detection match: give either QUERY or --rule, not both", file=sys.stderr)
                return EXIT_USAGE
            query, language, index = _from_rule(args.rule)
            language = args.language or language
        elif args.query is None:
            print("detection match: a QUERY (or --rule) is required", file=sys.stderr)
            return EXIT_USAGE
        else:
            query, language = args.query, args.language or "kuery"
        if language not in LANGUAGES:
            print(f"detection match: language {language!r} is not supported (supported: {', '.join(LANGUAGES)})", file=sys.stderr)
            return EXIT_USAGE
        schema = _schema(args.fields, index)
        if language == "eql":
            return _run_eql(args, query, schema)
        predicate = compile(query, schema)
        count = 0
        for line_no in matching_lines(predicate, args.events):
            count += 1
            if not args.count:
                print(line_no)
        if args.count:
            print(count)
        return EXIT_OK if count else EXIT_NO_MATCH
    except KqlError as exc:
        print(f"detection match: invalid query: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DetectionError as exc:
        for diag in exc.diagnostics:
            print(diag.format(), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE


def _run_eql(args: argparse.Namespace, query: str, schema: FieldSchema) -> int:
    """EQL: one output line per match; a sequence prints its events' line numbers, space-separated."""
    from detection import eql
    from detection.event_files import iter_ndjson

    options: dict[str, str] = {}
    if args.rule is not None:  # the rule's own EQL settings (event_category_override and friends)
        from detection.loader import load_rule_file

        rule = load_rule_file(args.rule).rule
        for key, option in (("event_category_override", "event_category_field"),
                            ("timestamp_field", "timestamp_field"), ("tiebreaker_field", "tiebreaker_field")):
            if rule.get(key):
                options[option] = rule[key]
    numbered = list(iter_ndjson(args.events))
    try:
        matches = eql.match_lines(query, [e for _, e in numbered], lines=[n for n, _ in numbered],
                                  fields=schema, **options)
    except eql.EqlError as exc:
        print(f"detection match: invalid query: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.count:
        print(len(matches))
    else:
        for lines in matches:
            print(" ".join(map(str, lines)))
    return EXIT_OK if matches else EXIT_NO_MATCH
