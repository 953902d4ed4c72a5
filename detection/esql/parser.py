"""Recursive-descent parser for the supported ES|QL subset.

The expression grammar follows Elasticsearch's (``EsqlBaseParser``): ``OR`` < ``AND`` < ``NOT`` <
predicates (comparison, ``IN``, ``IS NULL``, ``LIKE``/``RLIKE``) < ``+ -`` < ``* / %`` < unary
minus < primary (with ``::`` casts). Comparisons do not chain.
"""

from __future__ import annotations

import re

from detection.esql import ast
from detection.esql.aggregates import AGGREGATES
from detection.esql.catalog import UNSUPPORTED_COMMANDS, UNSUPPORTED_FUNCTIONS, UNSUPPORTED_SOURCES
from detection.esql.errors import EsqlError, EsqlUnsupported
from detection.esql.fulltext import FULL_TEXT, check_full_text_call
from detection.esql.functions import CAST_TYPES, FUNCTIONS
from detection.esql.lexer import Lexer, Token
from detection.esql.patterns import PatternProblem, like_regex, rlike_regex
from detection.esql.values import LONG_MAX, TIME_UNITS, Span

_MAX_DEPTH = 60  # deeper nesting than any real rule; keeps Python's stack safe
_MAX_TREE_DEPTH = 250  # operators chained into one expression tree (250 ORs is far beyond real rules)
_COMPARISON_OPS = ("==", "!=", "=~", "<", "<=", ">", ">=")
_PROCESSING = ("where", "eval", "stats", "keep", "drop", "rename", "sort", "limit", "mv_expand")


def parse(text: str) -> ast.Query:
    """Parse ES|QL text into a :class:`~detection.esql.ast.Query` (syntax only)."""
    if not isinstance(text, str):
        raise EsqlError(f"an ES|QL query is text, not {type(text).__name__}")
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.lex = Lexer(text)
        self.depth = 0

    # ----------------------------------------------------------------- helpers

    def error(self, message: str, offset: int, hint: str | None = None) -> EsqlError:
        return EsqlError(message, self.text, offset, hint)

    def unsupported(self, message: str, offset: int, hint: str | None = None) -> EsqlUnsupported:
        return EsqlUnsupported(message, self.text, offset, hint)

    def made(self, node: ast.Expr) -> ast.Expr:
        """Record how deep ``node`` sits; refuse trees too deep to walk recursively."""
        depth = 1 + max((getattr(child, "_depth", 1) for child in ast.children(node)), default=0)
        if depth > _MAX_TREE_DEPTH:
            raise self.error(
                f"expression too large: more than {_MAX_TREE_DEPTH} chained operators",
                node.pos,
                "split the condition, or list values with IN (...)",
            )
        object.__setattr__(node, "_depth", depth)  # not a field: equality and rendering ignore it
        return node

    def describe(self, token: Token) -> str:
        return "end of query" if token.kind == "eof" else f"'{token.text}'"

    def expect_op(self, op: str, what: str | None = None) -> Token:
        token = self.lex.peek()
        if not token.is_op(op):
            raise self.error(
                f"expected '{op}'{' ' + what if what else ''} but found {self.describe(token)}", token.pos
            )
        return self.lex.next()

    def accept_word(self, *words: str) -> Token | None:
        token = self.lex.peek()
        if token.is_word(*words):
            return self.lex.next()
        return None

    def accept_op(self, *ops: str) -> Token | None:
        token = self.lex.peek()
        if token.is_op(*ops):
            return self.lex.next()
        return None

    def end_command(self, name: str) -> None:
        token = self.lex.peek()
        if not (token.kind == "eof" or token.is_op("|")):
            raise self.error(
                f"unexpected {self.describe(token)} in {name}",
                token.pos,
                "separate commands with |" if token.kind == "ident" else None,
            )

    # ----------------------------------------------------------------- query and commands

    def query(self) -> ast.Query:
        self.lex.skip_space()
        if self.lex.peek().kind == "eof":
            raise self.error(
                "empty query", 0, "an ES|QL query starts with a source command such as FROM logs-*"
            )
        commands: list[ast.Command] = [self.source_command()]
        while True:
            token = self.lex.peek()
            if token.kind == "eof":
                break
            if not token.is_op("|"):
                raise self.error(f"expected '|' or end of query but found {self.describe(token)}", token.pos)
            self.lex.next()
            commands.append(self.processing_command())
        return ast.Query(tuple(commands), self.text)

    def source_command(self) -> ast.Command:
        token = self.lex.next()
        word = token.text.lower() if token.kind == "ident" else ""
        if word == "from":
            return self.from_command(token)
        if word == "row":
            fields = self.assignments("ROW")
            self.end_command("ROW")
            return ast.Row(tuple(fields), token.pos)
        if word in UNSUPPORTED_SOURCES:
            raise self.unsupported(
                f"the {UNSUPPORTED_SOURCES[word]} source command is not supported",
                token.pos,
                "detection rules read events with FROM",
            )
        if word in _PROCESSING:
            raise self.error(
                f"a query starts with a source command, not {word.upper()}",
                token.pos,
                "begin with FROM <index pattern>",
            )
        raise self.error(
            f"expected a source command (FROM or ROW) but found {self.describe(token)}", token.pos
        )

    def from_command(self, start: Token) -> ast.From:
        sources: list[str] = []
        metadata: list[str] = []
        while True:
            token = self.lex.scan_source()
            if token is None:
                found = self.lex.peek()
                raise self.error(f"expected an index pattern but found {self.describe(found)}", found.pos)
            if token.text.lower() == "metadata" and sources:
                raise self.error("expected an index pattern after ',' but found METADATA", token.pos)
            if token.text.startswith("<"):
                raise self.unsupported(
                    "date math index names are not supported",
                    token.pos,
                    "name the index pattern with wildcards, e.g. logs-*",
                )
            if token.text.startswith("(") or token.text.endswith(")"):
                raise self.unsupported("subqueries in FROM are not supported", token.pos)
            sources.append(str(token.value))
            self.lex.skip_space()
            if self.lex.text.startswith(",", self.lex.pos):
                self.lex.pos += 1
                continue
            break
        if self.accept_word("metadata"):
            metadata = self.metadata_fields()
        self.end_command("FROM")
        return ast.From(tuple(sources), tuple(metadata), start.pos)

    def metadata_fields(self) -> list[str]:
        names = []
        while True:
            token = self.lex.next()
            if token.kind != "ident" or not token.text.startswith("_"):
                raise self.error(
                    f"expected a metadata field such as _id but found {self.describe(token)}", token.pos
                )
            names.append(token.text.lower())
            if not self.accept_op(","):
                return names

    def processing_command(self) -> ast.Command:
        token = self.lex.next()
        word = token.text.lower() if token.kind == "ident" else ""
        if word == "where":
            condition = self.expression()
            self.end_command("WHERE")
            return ast.Where(condition, token.pos)
        if word == "eval":
            fields = self.assignments("EVAL")
            self.end_command("EVAL")
            return ast.Eval(tuple(fields), token.pos)
        if word == "stats":
            return self.stats(token)
        if word in ("keep", "drop"):
            patterns = self.patterns(word.upper())
            self.end_command(word.upper())
            return (ast.Keep if word == "keep" else ast.Drop)(tuple(patterns), token.pos)
        if word == "rename":
            return self.rename(token)
        if word == "sort":
            return self.sort(token)
        if word == "limit":
            count = self.lex.next()
            if count.kind != "int":
                raise self.error(f"LIMIT takes a whole number, found {self.describe(count)}", count.pos)
            self.end_command("LIMIT")
            return ast.Limit(int(count.text), token.pos)
        if word == "mv_expand":
            pattern = self.lex.scan_pattern()
            if pattern is None or "*" in _outside_backticks(pattern.text):
                offset = pattern.pos if pattern else self.lex.peek().pos
                raise self.error("MV_EXPAND takes one column name", offset)
            self.end_command("MV_EXPAND")
            return ast.MvExpand(self.make_pattern(pattern), token.pos)
        if word in UNSUPPORTED_COMMANDS:
            name = UNSUPPORTED_COMMANDS[word]
            raise self.unsupported(
                f"the {name} command is not supported by this engine",
                token.pos,
                "rewrite the query with WHERE/EVAL/STATS, or test this rule against Elasticsearch",
            )
        if word in ("from", "row") or word in UNSUPPORTED_SOURCES:
            raise self.error(f"{word.upper()} is a source command and can only start a query", token.pos)
        if token.kind == "eof":
            raise self.error("expected a command after '|'", token.pos)
        raise self.error(
            f"unknown command {self.describe(token)}",
            token.pos,
            "supported commands: " + ", ".join(c.upper() for c in _PROCESSING),
        )

    def assignments(self, command: str) -> list[ast.Assign]:
        fields = [self.assignment(command)]
        while self.accept_op(","):
            fields.append(self.assignment(command))
        return fields

    def assignment(self, command: str) -> ast.Assign:
        """``name = expr`` or a bare expression."""
        token = self.lex.peek()
        if token.kind in ("ident", "qident") and not (
            token.kind == "ident" and token.text.lower() in ast.HARD_KEYWORDS
        ):
            saved = (self.lex.pos, self.lex._peeked)
            name, _ = self.qualified_name()
            if self.accept_op("="):
                return ast.Assign(name, self.expression())
            self.lex.pos, self.lex._peeked = saved
        expr = self.expression()
        return ast.Assign(None, expr, self.text[expr.pos : expr.end])

    def stats(self, start: Token) -> ast.Stats:
        aggs: list[ast.AggField] = []
        if not self.lex.peek().is_word("by") and not self.lex.at_end_of_command():
            while True:
                assign = self.assignment("STATS")
                where = self.expression() if self.accept_word("where") else None
                aggs.append(ast.AggField(assign, where))
                if not self.accept_op(","):
                    break
        by: list[ast.Assign] = []
        if self.accept_word("by"):
            by = self.assignments("STATS BY")
        if not aggs and not by:
            raise self.error(
                "STATS needs at least one aggregation or a BY clause",
                start.pos,
                "for example: STATS events = COUNT(*) BY host.name",
            )
        self.end_command("STATS")
        return ast.Stats(tuple(aggs), tuple(by), start.pos)

    def patterns(self, command: str) -> list[ast.NamePattern]:
        out = []
        while True:
            token = self.lex.scan_pattern()
            if token is None:
                found = self.lex.peek()
                raise self.error(
                    f"expected a column name in {command} but found {self.describe(found)}", found.pos
                )
            out.append(self.make_pattern(token))
            if not self.accept_op(","):
                return out

    def make_pattern(self, token: Token) -> ast.NamePattern:
        text = token.text
        regex, i, wildcard = [], 0, False
        while i < len(text):
            if text[i] == "`":
                quoted = self.lex._quoted_ident(token.pos + i)
                regex.append(re.escape(str(quoted.value)))
                i = quoted.end - token.pos
            elif text[i] == "*":
                regex.append(".*")
                wildcard = True
                i += 1
            else:
                regex.append(re.escape(text[i]))
                i += 1
        return ast.NamePattern(text, "".join(regex), wildcard, token.pos, token.end)

    def rename(self, start: Token) -> ast.Rename:
        pairs = []
        while True:
            first = self.lex.scan_pattern()
            if first is None:
                found = self.lex.peek()
                raise self.error(
                    f"expected a column name in RENAME but found {self.describe(found)}", found.pos
                )
            if self.accept_word("as"):
                second = self.lex.scan_pattern()
                old, new = first, second
            elif self.accept_op("="):
                second = self.lex.scan_pattern()
                old, new = second, first
            else:
                found = self.lex.peek()
                raise self.error(
                    f"expected AS in RENAME but found {self.describe(found)}",
                    found.pos,
                    "RENAME old_name AS new_name",
                )
            if second is None:
                found = self.lex.peek()
                raise self.error(
                    f"expected a column name in RENAME but found {self.describe(found)}", found.pos
                )
            for token in (old, new):
                if "*" in _outside_backticks(token.text):
                    raise self.error("RENAME does not take wildcards", token.pos)
            pairs.append((self.make_pattern(old), self.make_pattern(new)))
            if not self.accept_op(","):
                break
        self.end_command("RENAME")
        return ast.Rename(tuple(pairs), start.pos)

    def sort(self, start: Token) -> ast.Sort:
        keys = []
        while True:
            expr = self.expression()
            descending = False
            if self.accept_word("desc"):
                descending = True
            else:
                self.accept_word("asc")
            nulls_first = None
            if self.accept_word("nulls"):
                which = self.accept_word("first", "last")
                if which is None:
                    found = self.lex.peek()
                    raise self.error(
                        f"expected FIRST or LAST after NULLS but found {self.describe(found)}", found.pos
                    )
                nulls_first = which.text.lower() == "first"
            keys.append(ast.SortKey(expr, descending, nulls_first))
            if not self.accept_op(","):
                break
        self.end_command("SORT")
        return ast.Sort(tuple(keys), start.pos)

    # ----------------------------------------------------------------- expressions

    def expression(self) -> ast.Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply", self.lex.peek().pos)
        try:
            return self.or_expr()
        finally:
            self.depth -= 1

    def or_expr(self) -> ast.Expr:
        left = self.and_expr()
        while self.accept_word("or"):
            right = self.and_expr()
            left = self.made(ast.Binary("or", left, right, left.pos, right.end))
        return left

    def and_expr(self) -> ast.Expr:
        left = self.not_expr()
        while self.accept_word("and"):
            right = self.not_expr()
            left = self.made(ast.Binary("and", left, right, left.pos, right.end))
        return left

    def not_expr(self) -> ast.Expr:
        token = self.accept_word("not")
        if token is None:
            return self.predicate()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply", token.pos)
        try:
            operand = self.not_expr()
        finally:
            self.depth -= 1
        return self.made(ast.Unary("not", operand, token.pos, operand.end))

    def predicate(self) -> ast.Expr:
        value = self.comparison()
        token = self.lex.peek()
        negated = False
        if token.is_word("not") and self.lex.peek_after().is_word("in", "like", "rlike"):
            self.lex.next()
            negated = True
            token = self.lex.peek()
        if token.is_word("in"):
            self.lex.next()
            self.expect_op("(", "after IN")
            items = [self.comparison()]
            while self.accept_op(","):
                items.append(self.comparison())
            close = self.expect_op(")", "to close the IN list")
            return self.made(ast.In(value, tuple(items), negated, value.pos, close.end))
        if token.is_word("like", "rlike"):
            self.lex.next()
            regex = token.text.lower() == "rlike"
            if self.accept_op("("):
                patterns = [self.pattern_literal(token.text)]
                while self.accept_op(","):
                    patterns.append(self.pattern_literal(token.text))
                end = self.expect_op(")", f"to close the {token.text.upper()} list").end
            else:
                patterns = [self.pattern_literal(token.text)]
                end = patterns[0].end
            for pattern in patterns:
                self.check_pattern(pattern, regex)
            return self.made(ast.Like(value, tuple(patterns), negated, regex, value.pos, end))
        if token.is_word("is"):
            self.lex.next()
            is_not = self.accept_word("not") is not None
            null = self.lex.next()
            if not null.is_word("null"):
                raise self.error(
                    f"expected NULL after IS{' NOT' if is_not else ''} but found {self.describe(null)}",
                    null.pos,
                )
            return self.made(ast.IsNull(value, is_not, value.pos, null.end))
        if token.is_op(":"):
            raise self.unsupported(
                "the full-text match operator ':' is not supported",
                token.pos,
                "use == for exact values, or LIKE for wildcards",
            )
        return value

    def check_pattern(self, pattern: ast.Literal, regex: bool) -> None:
        """Refuse a pattern Elasticsearch would refuse, pointing into the literal when possible."""
        try:
            (rlike_regex if regex else like_regex)(str(pattern.value))
        except PatternProblem as exc:
            raw = self.text[pattern.pos : pattern.end]
            # Offsets inside the value match the text only where no escape shifted them.
            inside = pattern.triple or "\\" not in raw
            offset = pattern.pos + (3 if pattern.triple else 1) + exc.offset if inside else pattern.pos
            cls = EsqlUnsupported if exc.unsupported else EsqlError
            raise cls(str(exc), self.text, offset) from None

    def pattern_literal(self, operator: str) -> ast.Literal:
        token = self.lex.next()
        if token.kind not in ("string", "triple"):
            if token.kind == "param":
                raise self.unsupported("query parameters are not supported", token.pos)
            raise self.error(
                f"{operator.upper()} needs a string pattern, found {self.describe(token)}", token.pos
            )
        return ast.Literal(token.value, "string", token.pos, token.end, triple=token.kind == "triple")

    def comparison(self) -> ast.Expr:
        left = self.additive()
        token = self.lex.peek()
        if token.is_op(*_COMPARISON_OPS):
            self.lex.next()
            right = self.additive()
            node = self.made(ast.Binary(token.text, left, right, left.pos, right.end))
            after = self.lex.peek()
            if after.is_op(*_COMPARISON_OPS):
                raise self.error("comparisons cannot be chained", after.pos, "combine them with AND")
            return node
        if token.is_op("="):
            raise self.error("'=' assigns a column; compare with '=='", token.pos, "write == for equality")
        return left

    def additive(self) -> ast.Expr:
        left = self.multiplicative()
        while True:
            token = self.accept_op("+", "-")
            if token is None:
                return left
            right = self.multiplicative()
            left = self.made(ast.Binary(token.text, left, right, left.pos, right.end))

    def multiplicative(self) -> ast.Expr:
        left = self.unary()
        while True:
            token = self.accept_op("*", "/", "%")
            if token is None:
                return left
            right = self.unary()
            left = self.made(ast.Binary(token.text, left, right, left.pos, right.end))

    def unary(self) -> ast.Expr:
        token = self.accept_op("-", "+")
        if token is None:
            return self.postfix()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply", token.pos)
        try:
            operand = self.unary()
        finally:
            self.depth -= 1
        if token.text == "+":
            return operand
        return self.made(ast.Unary("-", operand, token.pos, operand.end))

    def postfix(self) -> ast.Expr:
        expr = self.primary()
        while self.lex.peek().is_op("::"):
            self.lex.next()
            type_token = self.lex.next()
            if type_token.kind != "ident":
                raise self.error(
                    f"expected a type name after '::' but found {self.describe(type_token)}", type_token.pos
                )
            type_name = type_token.text.lower()
            if type_name not in CAST_TYPES:
                raise self.unsupported(
                    f"casting to [{type_token.text}] is not supported",
                    type_token.pos,
                    "supported: " + ", ".join(sorted(CAST_TYPES)),
                )
            expr = self.made(ast.Cast(expr, type_name, expr.pos, type_token.end))
        return expr

    def primary(self) -> ast.Expr:
        token = self.lex.peek()
        kind = token.kind
        if kind in ("string", "triple"):
            self.lex.next()
            return ast.Literal(token.value, "string", token.pos, token.end, triple=kind == "triple")
        if kind in ("int", "decimal"):
            return self.number()
        if kind == "param":
            raise self.unsupported(
                "query parameters are not supported", token.pos, "write the value into the query text"
            )
        if token.is_op("("):
            self.lex.next()
            inner = self.expression()
            self.expect_op(")", "to close '('")
            return inner
        if token.is_op("["):
            return self.array()
        if kind == "ident":
            word = token.text.lower()
            if word == "null":
                self.lex.next()
                return ast.Literal(None, "null", token.pos, token.end)
            if word in ("true", "false"):
                self.lex.next()
                return ast.Literal(word == "true", "boolean", token.pos, token.end)
            if self.lex.peek_after().is_op("("):
                return self.call()
            if word in ast.HARD_KEYWORDS:
                raise self.error(
                    f"expected an expression but found keyword '{token.text}'",
                    token.pos,
                    "quote a column with this name in backticks",
                )
            return self.field()
        if kind == "qident":
            return self.field()
        if kind == "eof":
            raise self.error("expected an expression but the query ended", token.pos)
        raise self.error(f"expected an expression but found {self.describe(token)}", token.pos)

    def number(self) -> ast.Literal:
        token = self.lex.next()
        if token.kind == "int":
            unit = self.lex.peek()
            if unit.kind == "ident" and unit.text.lower() not in ast.KEYWORDS:
                if unit.text.lower() not in TIME_UNITS:
                    raise self.error(
                        f"unexpected time span unit '{unit.text}'",
                        unit.pos,
                        "units: millisecond, second, minute, hour, day, week, month, quarter, year",
                    )
                self.lex.next()
                span = Span.of(int(token.text), unit.text)
                return ast.Literal(span, "span", token.pos, unit.end, spelling=f"{token.text} {unit.text}")
            value = int(token.text)
            if value > LONG_MAX:
                # Integer literals too large for a long become doubles.
                return ast.Literal(float(value), "decimal", token.pos, token.end, spelling=token.text)
            return ast.Literal(value, "integer", token.pos, token.end)
        try:
            value = float(token.text)
        except ValueError as exc:  # pragma: no cover - the lexer only yields valid decimals
            raise self.error(f"invalid number {token.text}", token.pos) from exc
        if value in (float("inf"), float("-inf")):
            raise self.error(f"number {token.text} is out of range for a double", token.pos)
        return ast.Literal(value, "decimal", token.pos, token.end, spelling=token.text)

    def array(self) -> ast.Literal:
        start = self.lex.next()
        items: list[ast.Literal] = []
        while True:
            token = self.lex.peek()
            sign = self.accept_op("-", "+")
            token = self.lex.peek()
            if token.kind in ("int", "decimal"):
                item = self.number()
                if item.kind == "span":
                    raise self.error("time spans cannot appear in a list literal", item.pos)
                if sign is not None and sign.text == "-":
                    item = ast.Literal(
                        -item.value,
                        item.kind,
                        sign.pos,
                        item.end,  # type: ignore[operator]
                        spelling=("-" + item.spelling) if item.spelling else None,
                    )
            elif sign is None and token.kind in ("string", "triple"):
                self.lex.next()
                item = ast.Literal(token.value, "string", token.pos, token.end, triple=token.kind == "triple")
            elif sign is None and token.is_word("true", "false"):
                self.lex.next()
                item = ast.Literal(token.text.lower() == "true", "boolean", token.pos, token.end)
            else:
                raise self.error(
                    f"expected a number, string or boolean in the list but found {self.describe(token)}",
                    token.pos,
                )
            items.append(item)
            if not self.accept_op(","):
                break
        close = self.expect_op("]", "to close the list")
        kinds = {("number" if i.kind in ("integer", "decimal") else i.kind) for i in items}
        if len(kinds) > 1:
            raise self.error("list literals hold values of one type", start.pos)
        return ast.Literal(tuple(items), "list", start.pos, close.end)

    def qualified_name(self) -> tuple[str, int]:
        """A dotted column name (parts touching their dots) and the offset where it ends."""
        token = self.lex.next()
        if token.kind not in ("ident", "qident"):
            raise self.error(f"expected a column name but found {self.describe(token)}", token.pos)
        parts, end = [str(token.value)], token.end
        while True:
            dot = self.lex.peek()
            if not (dot.is_op(".") and dot.pos == end):
                break
            after = self.lex.peek_after()
            if after.kind not in ("ident", "qident") or after.pos != dot.end:
                break
            self.lex.next()
            part = self.lex.next()
            parts.append(str(part.value))
            end = part.end
        return ".".join(parts), end

    def field(self) -> ast.FieldRef:
        start = self.lex.peek().pos
        name, end = self.qualified_name()
        return ast.FieldRef(name, start, end)

    def call(self) -> ast.Call:
        name_token = self.lex.next()
        name = name_token.text.lower()
        self.expect_op("(")
        args: list[ast.Expr] = []
        star = False
        if self.accept_op("*"):
            star = True
        elif not self.lex.peek().is_op(")"):
            while True:
                if self.lex.peek().is_op("{"):
                    # Named options come last: {"name": value, ...}.
                    args.append(self.options_map())
                    break
                args.append(self.expression())
                if not self.accept_op(","):
                    break
        close = self.expect_op(")", f"to close {name.upper()}(")
        node = self.made(ast.Call(name, tuple(args), star, name_token.pos, close.end))
        self.check_call(node, name_token)
        return node

    def options_map(self) -> ast.Literal:
        """``{"name": constant, ...}``: the named options of a function."""
        start = self.lex.next()
        entries: list[tuple[str, ast.Literal]] = []
        if not self.lex.peek().is_op("}"):
            while True:
                key = self.lex.next()
                if key.kind not in ("string", "triple"):
                    raise self.error(f"expected an option name in quotes but found {self.describe(key)}", key.pos)
                self.expect_op(":", "after the option name")
                value = self.options_value()
                entries.append((str(key.value), value))
                if not self.accept_op(","):
                    break
        close = self.expect_op("}", "to close the options")
        return ast.Literal(tuple(entries), "map", start.pos, close.end)

    def options_value(self) -> ast.Literal:
        token = self.lex.peek()
        if token.is_op("["):
            return self.array()
        value = self.unary()
        if isinstance(value, ast.Unary) and isinstance(value.operand, ast.Literal) and value.operand.kind in (
            "integer",
            "decimal",
        ):
            number = value.operand
            return ast.Literal(-number.value, number.kind, value.pos, number.end)  # type: ignore[operator]
        if not isinstance(value, ast.Literal) or value.kind not in ("string", "integer", "decimal", "boolean"):
            raise self.error(
                f"an option value is a constant (string, number or boolean), found [{value.render()}]", token.pos
            )
        return value

    def check_call(self, node: ast.Call, name_token: Token) -> None:
        name, count = node.name, len(node.args)
        options = next((a for a in node.args if isinstance(a, ast.Literal) and a.kind == "map"), None)
        if name in FULL_TEXT:
            check_full_text_call(node, self.text)
            return
        if options is not None:
            raise self.unsupported("named function options {...} are not supported", options.pos)
        spec = FUNCTIONS.get(name) or AGGREGATES.get(name)
        if spec is None:
            if name in UNSUPPORTED_FUNCTIONS:
                raise self.unsupported(
                    f"the function {name.upper()} is not supported by this engine", name_token.pos
                )
            raise self.error(f"unknown function [{name_token.text}]", name_token.pos)
        if node.star and name != "count":
            raise self.error(f"{name.upper()}(*) is not valid; only COUNT takes *", name_token.pos)
        if spec.max_args is not None and count > spec.max_args and spec.extra_args_unsupported:
            raise self.unsupported(
                f"{name.upper()} with {count} arguments is not supported",
                name_token.pos,
                spec.extra_args_unsupported,
            )
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            expected = (
                str(spec.min_args)
                if spec.min_args == spec.max_args
                else (
                    f"{spec.min_args} or more"
                    if spec.max_args is None
                    else f"{spec.min_args} to {spec.max_args}"
                )
            )
            raise self.error(
                f"{name.upper()} takes {expected} argument{'s' if expected != '1' else ''}, found {count}",
                name_token.pos,
            )


def _outside_backticks(text: str) -> str:
    return re.sub(r"`(?:[^`]|``)*`", "", text)
