"""Lucene queries to predicates over events, with the KQL engine's per-field-type matching.

The parsed query becomes KQL's and/or/not tree (:func:`detection.lucene.ast.to_kql`), so every
``field:value``, range and exists clause is evaluated by exactly the code that evaluates KQL -
keyword values whole and case-sensitive, text fields analysed, numbers, dates, IPs and booleans
by their types. Only :class:`Pattern` leaves (regular expressions and ``?`` wildcards) are
compiled here: on keyword fields the pattern must match the whole value, on text fields one
token (text is indexed lowercase; ``?`` patterns are lowercased like ``*`` ones, regular
expressions are not), and Elasticsearch refuses them on other field types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from detection.fields import FieldSchema
from detection.kql.analysis import analyze
from detection.kql.ast import Node, Wildcard
from detection.kql.compile import Compiler, Predicate, as_schema
from detection.kql.docs import flatten
from detection.kql.errors import KqlError
from detection.kql.matchers import TEXT_TYPES, WHOLE_VALUE_TYPES, keyword_of
from detection.lucene.ast import Pattern, to_kql
from detection.lucene.errors import REJECTED, LuceneError
from detection.lucene.parser import parse


class LuceneCompiler(Compiler):
    """KQL's compiler plus :class:`Pattern` leaves; errors carry offsets into the Lucene text."""

    def _build(self, node: Node) -> Predicate:
        if isinstance(node, Pattern):
            return self._pattern(node)
        return super()._build(node)

    def _pattern(self, node: Pattern) -> Predicate:
        rx = re.compile(node.regex, re.DOTALL)
        # query_string lowercases wildcard terms for text fields; regular expressions stay as written
        rx_text = re.compile(node.regex.lower(), re.DOTALL) if node.kind == "wildcard" else rx
        if node.field is None:
            return self._pattern_everywhere(rx, rx_text)
        tests: list[tuple[Any, Callable[[Any], bool]]] = []
        for target in self.targets(node.field, node):
            test = _pattern_test(target.ftype, target.info, rx, rx_text)
            if test is None:
                if isinstance(node.field, Wildcard) or target.ftype in ("object", "nested", "group"):
                    continue  # patterns reaching other types are skipped, as Elasticsearch does
                what = "regexp" if node.kind == "regexp" else "wildcard"
                raise self.error(f"Can only use {what} queries on keyword and text fields - not on "
                                 f"[{target.name}] which is of type [{target.ftype}]", node,
                                 "use a range or an exact value for this field type")
            tests.append((target, test))

        def match(doc: Any) -> bool:
            return any(test(v) for target, test in tests for v in target.values(doc))

        return match

    def _pattern_everywhere(self, rx: re.Pattern[str], rx_text: re.Pattern[str]) -> Predicate:
        schema = self.schema
        prefix = self.scope.prefix

        def match(doc: Any) -> bool:
            for path, value in flatten(doc):
                info = schema.info(prefix + path)
                test = _pattern_test(info.type if info else "keyword", info, rx, rx_text)
                if test is not None and test(value):
                    return True
            return False

        return match


def _pattern_test(ftype: str, info: Any, rx: re.Pattern[str], rx_text: re.Pattern[str]) -> Callable[[Any], bool] | None:
    if ftype in WHOLE_VALUE_TYPES:
        return lambda v: (s := keyword_of(v, info)) is not None and rx.fullmatch(s) is not None
    if ftype in TEXT_TYPES:
        return lambda v: (s := keyword_of(v)) is not None and any(rx_text.fullmatch(t) for t in analyze(s))
    return None


def build(query: str | Node, fields: FieldSchema | Mapping | None = None,
          now: datetime | None = None) -> tuple[Node, LuceneCompiler]:
    """Parse (if needed), translate to the KQL tree and prepare a compiler."""
    text = query if isinstance(query, str) else query.render()
    node = to_kql(parse(query) if isinstance(query, str) else query)
    compiler = LuceneCompiler(as_schema(fields), text, isinstance(query, str), now or datetime.now(UTC))
    return node, compiler


def compile_query(query: str | Node, fields: FieldSchema | Mapping | None = None, *,
                  now: datetime | None = None) -> Predicate:
    """A predicate ``event -> bool`` for a query_string query; raises :class:`LuceneError` for
    bad syntax and for clauses Elasticsearch would reject (a word on a numeric field...)."""
    node, compiler = build(query, fields, now)
    try:
        compiler.closure(node)  # every clause checked first: located errors
        body = compiler.source(node)  # then KQL's inline code for the common keyword clauses
    except KqlError as exc:
        raise as_lucene_error(exc) from None
    namespace = dict(compiler.namespace)
    exec(compile(f"def _lucene_predicate(d):\n    return {body}\n", "<lucene>", "exec"), namespace)  # noqa: S102
    predicate = namespace["_lucene_predicate"]
    predicate.lucene_node = node
    return predicate


def as_lucene_error(exc: KqlError) -> LuceneError:
    """A value problem found by the KQL matchers, at the same offset of the Lucene text."""
    return LuceneError(exc.message, exc.query, exc.offset, exc.hint, REJECTED)
