"""Recursive-descent parser for Elasticsearch EQL, producing :mod:`detection.eql.ast` nodes.

Operator precedence, loosest first: ``or``, ``and``, ``not``, comparisons and the
``in``/``:``/``like``/``regex`` predicates, ``+ -``, ``* / %``, unary minus. Comparisons
do not chain (EQL syntax reference, "Limitations for comparisons").
"""

from __future__ import annotations

from detection.eql import ast as A
from detection.eql.errors import SYNTAX, UNSUPPORTED, EqlError
from detection.eql.lexer import Token, tokenize

# Parentheses, ``not`` and function calls recurse; keep well inside Python's stack.
MAX_NESTING = 64

COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=")
PATTERN_KINDS = (":", "like", "like~", "regex", "regex~")
TIME_UNITS = ("ms", "s", "m", "h", "d")
MAX_RUNS = 100
_KEYWORD_VALUES = {"true": True, "false": False, "null": None}  # the literals spelt as keywords


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # ---- token helpers -------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def at(self, kind: str, value: object = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in words

    def at_symbol(self, *syms: str) -> bool:
        return self.tok.kind == "symbol" and self.tok.value in syms

    def error(self, message: str, tok: Token | None = None, *, hint: str | None = None,
              code: str = SYNTAX) -> EqlError:
        t = tok or self.tok
        return EqlError(message, self.text, t.pos, code=code, hint=hint)

    def expect_symbol(self, sym: str, what: str | None = None) -> Token:
        if not self.at_symbol(sym):
            raise self.error(f"expected '{sym}'{' ' + what if what else ''} but found {self.tok.describe()}")
        return self.advance()

    def expect_keyword(self, word: str, what: str | None = None) -> Token:
        if not self.at_keyword(word):
            hint = None
            if self.tok.kind == "ident" and self.tok.value.lower() == word:
                hint = "EQL keywords are lower case"
            raise self.error(f"expected '{word}'{' ' + what if what else ''} but found {self.tok.describe()}",
                             hint=hint)
        return self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"the query nests deeper than {MAX_NESTING} levels", code=UNSUPPORTED,
                             hint="split the condition or remove redundant parentheses")

    def leave(self) -> None:
        self.depth -= 1

    # ---- statements ----------------------------------------------------------------------

    def statement(self) -> A.Query:
        if self.at("eof"):
            raise self.error("the query is empty", hint="write e.g. process where process.name == \"cmd.exe\"")
        if self.at_keyword("sequence"):
            body: A.EventQuery | A.Sequence | A.Sample = self.sequence()
        elif self.at_keyword("sample"):
            body = self.sample()
        elif self.at_keyword("join"):
            raise self.error("join is not supported by Elasticsearch EQL", code=UNSUPPORTED,
                             hint="use a sequence with join keys: sequence by ... [..] [..]")
        else:
            body = self.event_query()
        pipes = []
        while self.at_symbol("|"):
            pipes.append(self.pipe())
        if not self.at("eof"):
            raise self.error(f"unexpected {self.tok.describe()} after the end of the query",
                             hint=self._trailing_hint())
        if pipes and isinstance(body, A.Sample):
            raise self.error("pipes are not supported for sample queries", self._pipe_token(), code=UNSUPPORTED)
        return A.Query(body, tuple(pipes), text=self.text)

    def _pipe_token(self) -> Token:
        return next(t for t in self.tokens if t.kind == "symbol" and t.value == "|")

    def _trailing_hint(self) -> str | None:
        t = self.tok
        if t.kind == "ident" and t.value in ("AND", "OR", "NOT", "And", "Or", "Not"):
            return "EQL keywords are lower case"
        if t.kind == "symbol" and t.value == "=":
            return "use == (case-sensitive) or : (case-insensitive) to compare"
        if t.kind == "symbol" and t.value == "[":
            return "array indexes are not supported; a multi-valued field matches when any value does"
        return None

    def event_query(self) -> A.EventQuery:
        start = self.tok
        if self.at_keyword("any"):
            self.advance()
            category = None
        elif self.at("ident"):
            category = self.advance().value
        elif self.at("string"):
            category = self.advance().value
        elif self.at("qident"):
            raise self.error("an event category is quoted with double quotes, not backticks",
                             hint=f'write "{self.tok.value}" where ...')
        else:
            raise self.error(f"expected an event category (or 'any') but found {self.tok.describe()}",
                             hint="an event query reads: <category> where <condition>")
        if not self.at_keyword("where"):
            hint = None
            if category is not None and self.at_symbol(".", "==", ":", "!=", "<", ">", "<=", ">="):
                hint = "an event query starts with its category: any where <condition>"
            elif self.tok.kind == "ident" and self.tok.value.lower() == "where":
                hint = "EQL keywords are lower case"
            raise self.error(f"expected 'where' after the event category but found {self.tok.describe()}",
                             hint=hint)
        self.advance()
        cond = self.expression()
        return A.EventQuery(category, cond, pos=start.pos)

    def join_keys(self) -> tuple[A.Expr, ...]:
        self.expect_keyword("by")
        keys = [self.expression()]
        while self.at_symbol(","):
            self.advance()
            keys.append(self.expression())
        return tuple(keys)

    def sequence(self) -> A.Sequence:
        start = self.advance()
        keys: tuple[A.Expr, ...] = ()
        maxspan = None
        if self.at_keyword("by"):
            keys = self.join_keys()
            if self.at_keyword("with"):
                maxspan = self.maxspan()
        elif self.at_keyword("with"):
            maxspan = self.maxspan()
            if self.at_keyword("by"):
                raise self.error("put 'by' before 'with' in a sequence", code=SYNTAX,
                                 hint="sequence by <keys> with maxspan=<time> [ ... ]")
        terms = []
        while self.at_symbol("[", "!["):
            terms.append(self.term(allow_runs=True))
        if not terms:
            raise self.error(f"expected '[' to start a sequence step but found {self.tok.describe()}",
                             hint=self._dash_hint())
        until = None
        if self.at_keyword("until"):
            until_tok = self.advance()
            if self.at_symbol("!["):
                raise self.error("the until step cannot be a missing event", code=UNSUPPORTED)
            until = self.term(allow_runs=False)
            until = A.Term(until.query, until.keys, pos=until_tok.pos)
        return A.Sequence(keys, maxspan, tuple(terms), until, pos=start.pos)

    def _dash_hint(self) -> str | None:
        if self.at_symbol("-") and self.peek().kind == "symbol" and self.peek().value == "[":
            return "a missing-event step is written ![ ... ]"
        return None

    def maxspan(self) -> A.Duration:
        self.expect_keyword("with")
        if not self.at_keyword("maxspan"):
            raise self.error(f"expected 'maxspan' after 'with' but found {self.tok.describe()}",
                             hint="sequence with maxspan=5m [ ... ] [ ... ]")
        self.advance()
        self.expect_symbol("=", "after maxspan")
        num = self.tok
        if num.kind not in ("int", "decimal"):
            raise self.error(f"expected a time span such as 30s or 5m but found {num.describe()}")
        self.advance()
        unit = self.tok
        if unit.kind != "ident" or unit.value not in TIME_UNITS:
            raise self.error(f"expected a time unit ({', '.join(TIME_UNITS)}) after {num.value} "
                             f"but found {unit.describe()}", unit, hint="maxspan=30s, maxspan=5m, maxspan=1h")
        self.advance()
        if num.value <= 0:
            raise self.error("maxspan must be positive", num, code=UNSUPPORTED)
        return A.Duration(num.value, unit.value, pos=num.pos)

    def term(self, allow_runs: bool) -> A.Term:
        open_tok = self.advance()
        missing = open_tok.value == "!["
        self.enter()
        query = self.event_query()
        self.leave()
        self.expect_symbol("]", "to close the step")
        keys: tuple[A.Expr, ...] = ()
        if self.at_keyword("by"):
            keys = self.join_keys()
        runs = 1
        if self.at_keyword("with"):
            with_tok = self.advance()
            if not allow_runs:
                raise self.error("'with' is not allowed here", with_tok, code=UNSUPPORTED)
            if self.at_keyword("maxspan"):
                raise self.error("maxspan belongs after 'sequence', not after a step",
                                 hint="sequence with maxspan=5m [ ... ] [ ... ]")
            if not (self.at("ident") and self.tok.value == "runs"):
                raise self.error(f"expected 'runs' after 'with' but found {self.tok.describe()}",
                                 hint="[ ... ] with runs=3")
            self.advance()
            self.expect_symbol("=", "after runs")
            if not self.at("int"):
                raise self.error(f"expected a whole number of runs but found {self.tok.describe()}")
            runs_tok = self.advance()
            runs = runs_tok.value
            if not 1 <= runs <= MAX_RUNS:
                raise self.error(f"runs must be between 1 and {MAX_RUNS}", runs_tok, code=UNSUPPORTED)
        return A.Term(query, keys, runs, missing, pos=open_tok.pos)

    def sample(self) -> A.Sample:
        start = self.advance()
        keys: tuple[A.Expr, ...] = ()
        if self.at_keyword("by"):
            keys = self.join_keys()
        if self.at_keyword("with"):
            raise self.error("sample queries do not support 'with'", code=UNSUPPORTED)
        terms = []
        while self.at_symbol("[", "!["):
            if self.at_symbol("!["):
                raise self.error("sample queries do not support missing events", code=UNSUPPORTED)
            terms.append(self.term(allow_runs=False))
        if not terms:
            raise self.error(f"expected '[' to start a sample filter but found {self.tok.describe()}")
        if self.at_keyword("until"):
            raise self.error("sample queries do not support 'until'", code=UNSUPPORTED)
        return A.Sample(keys, tuple(terms), pos=start.pos)

    def pipe(self) -> A.Pipe:
        self.advance()
        name_tok = self.tok
        if name_tok.kind not in ("ident", "keyword"):
            raise self.error(f"expected a pipe name (head or tail) but found {name_tok.describe()}")
        self.advance()
        name = name_tok.value
        if name not in ("head", "tail"):
            raise self.error(f"the pipe '{name}' is not supported by Elasticsearch EQL", name_tok,
                             code=UNSUPPORTED, hint="Elasticsearch supports only | head N and | tail N")
        if not self.at("int"):
            raise self.error(f"expected the number of results after '{name}' but found {self.tok.describe()}")
        count_tok = self.advance()
        if count_tok.value <= 0:
            raise self.error(f"{name} needs a positive number", count_tok, code=UNSUPPORTED)
        return A.Pipe(name, count_tok.value, pos=name_tok.pos)

    # ---- expressions ---------------------------------------------------------------------

    def expression(self) -> A.Expr:
        return self.or_expr()

    def or_expr(self) -> A.Expr:
        first = self.and_expr()
        operands = [first]
        while self.at_keyword("or"):
            self.advance()
            operands.append(self.and_expr())
        return _bool("or", operands)

    def and_expr(self) -> A.Expr:
        operands = [self.not_expr()]
        while self.at_keyword("and"):
            self.advance()
            operands.append(self.not_expr())
        return _bool("and", operands)

    def not_expr(self) -> A.Expr:
        if self.at_keyword("not"):
            tok = self.advance()
            self.enter()
            operand = self.not_expr()
            self.leave()
            return A.Not(operand, pos=tok.pos)
        return self.predicate()

    def predicate(self) -> A.Expr:
        left = self.additive()
        t = self.tok
        if t.kind == "symbol" and t.value in COMPARISON_OPS:
            self.advance()
            right = self.additive()
            node: A.Expr = A.Compare(t.value, left, right, pos=t.pos)
        elif t.kind == "symbol" and t.value == "=":
            raise self.error("'=' is not a comparison operator", hint="use == (case-sensitive) or : (case-insensitive)")
        elif self.at_keyword("in", "in~"):
            node = self.in_list(left, negated=False)
        elif self.at_keyword("not") and self.peek().kind == "keyword" and self.peek().value in ("in", "in~"):
            self.advance()
            node = self.in_list(left, negated=True)
        elif self.at_keyword("not") and self.peek().kind == "keyword" and self.peek().value in PATTERN_KINDS:
            raise self.error(f"'not {self.peek().value}' is not EQL syntax",
                             hint=f"negate the whole predicate: not field {self.peek().value} ...")
        elif (t.kind == "symbol" and t.value == ":") or self.at_keyword("like", "like~", "regex", "regex~"):
            node = self.pattern(left)
        else:
            return left
        nxt = self.tok
        if (nxt.kind == "symbol" and nxt.value in (*COMPARISON_OPS, ":")) or self.at_keyword(
                "in", "in~", "like", "like~", "regex", "regex~"):
            raise self.error("comparisons cannot be chained", hint="combine them with and: a < b and b <= c")
        return node

    def in_list(self, value: A.Expr, negated: bool) -> A.InList:
        op = self.advance()
        self.expect_symbol("(", f"after '{op.value}'")
        items = [self.expression()]
        while self.at_symbol(","):
            self.advance()
            items.append(self.expression())
        self.expect_symbol(")", "to close the list")
        return A.InList(value, tuple(items), negated, op.value == "in~", pos=op.pos)

    def pattern(self, value: A.Expr) -> A.Pattern:
        op = self.advance()
        kind = op.value
        listed = False
        if self.at_symbol("("):
            self.advance()
            listed = True
            pats = [self.constant(kind)]
            while self.at_symbol(","):
                self.advance()
                pats.append(self.constant(kind))
            self.expect_symbol(")", "to close the list of patterns")
        else:
            pats = [self.constant(kind)]
        return A.Pattern(kind, value, tuple(pats), listed, pos=op.pos)

    def constant(self, after: str) -> A.Literal:
        t = self.tok
        literal = self.literal()
        if literal is not None:
            return literal
        raise self.error(f"expected a string after '{after}' but found {t.describe()}",
                         hint="the right side of :, like and regex must be literal strings")

    def literal(self) -> A.Literal | None:
        """A string, number, true, false or null at the current token (consumed), else None."""
        t = self.tok
        if t.kind in ("string", "int", "decimal"):
            self.advance()
            return A.Literal(t.value, pos=t.pos)
        if t.kind == "keyword" and t.value in _KEYWORD_VALUES:
            self.advance()
            return A.Literal(_KEYWORD_VALUES[t.value], pos=t.pos)
        return None

    def additive(self) -> A.Expr:
        return self._chain(("+", "-"), self.multiplicative)

    def multiplicative(self) -> A.Expr:
        return self._chain(("*", "/", "%"), self.unary)

    def _chain(self, ops: tuple[str, ...], operand) -> A.Expr:
        # A chain builds a left-deep tree, so each link counts as one level of nesting.
        left = operand()
        links = 0
        while self.at_symbol(*ops):
            op = self.advance()
            self.enter()
            links += 1
            right = operand()
            left = A.Arith(op.value, left, right, pos=op.pos)
        self.depth -= links
        return left

    def unary(self) -> A.Expr:
        if self.at_symbol("-", "+"):
            op = self.advance()
            self.enter()
            operand = self.unary()
            self.leave()
            return A.Negate(operand, pos=op.pos) if op.value == "-" else operand
        return self.primary()

    def primary(self) -> A.Expr:
        literal = self.literal()
        if literal is not None:
            return literal
        t = self.tok
        if t.kind == "symbol" and t.value == "(":
            self.advance()
            self.enter()
            inner = self.expression()
            self.leave()
            self.expect_symbol(")", "to close the parenthesis")
            return inner
        if t.kind in ("ident", "tident") and self.peek().kind == "symbol" and self.peek().value == "(":
            return self.call()
        if t.kind == "tident":
            raise self.error(f"'~' must follow a function name directly: expected '(' after '{t.value}~'")
        if t.kind in ("ident", "qident") or (t.kind == "symbol" and t.value == "?"):
            return self.field()
        if t.kind == "keyword":
            raise self.error(f"unexpected keyword '{t.value}'",
                             hint=f"a field named {t.value} must be quoted in backticks: `{t.value}`")
        raise self.error(f"expected a value, field or function but found {t.describe()}")

    def call(self) -> A.Call:
        name_tok = self.advance()
        self.advance()  # (
        self.enter()
        args = []
        if not self.at_symbol(")"):
            args.append(self.expression())
            while self.at_symbol(","):
                self.advance()
                args.append(self.expression())
        self.expect_symbol(")", f"to close the call to {name_tok.value}")
        self.leave()
        return A.Call(name_tok.value, tuple(args), name_tok.kind == "tident", pos=name_tok.pos)

    def field(self) -> A.Field:
        start = self.tok
        optional = False
        if self.at_symbol("?"):
            optional = True
            self.advance()
            if self.tok.kind not in ("ident", "qident"):
                raise self.error("expected a field name right after '?'", hint="?field.name marks an optional field")
        parts = [self.advance().value]
        if (start.kind == "ident" and self.at_keyword("of") and self.peek().kind == "symbol"
                and self.peek().value == "["):
            # Elasticsearch's grammar reads `descendant of [...]` and then refuses it; say so here
            # rather than stopping at 'of'
            raise self.error(f"process relationships ('{start.value} of') are not supported by "
                             "Elasticsearch EQL", start, code=UNSUPPORTED,
                             hint="correlate the two events with a sequence joined on "
                                  "process.entity_id and process.parent.entity_id")
        while self.at_symbol(".") and self.peek().kind in ("ident", "qident", "keyword"):
            self.advance()
            parts.append(self.advance().value)
        if self.at_symbol(".") and self.peek().kind in ("int", "decimal"):
            raise self.error("a field name part cannot start with a digit", self.peek(),
                             hint="quote it in backticks: field.`6part`")
        if self.at_symbol("[") and self.peek().kind == "int":
            # an index into an array field; a sequence step after `by field` starts with a name
            raise self.error("array indexes are not supported by Elasticsearch EQL", code=UNSUPPORTED,
                             hint="compare the whole field: a condition on an array matches when "
                                  "any of its values does")
        return A.Field(tuple(parts), optional, pos=start.pos)


def _bool(op: str, operands: list[A.Expr]) -> A.Expr:
    if len(operands) == 1:
        return operands[0]
    flat: list[A.Expr] = []
    for o in operands:
        # a nested node of the same operator came from parentheses; flattening keeps meaning
        if isinstance(o, A.BoolOp) and o.op == op:
            flat.extend(o.operands)
        else:
            flat.append(o)
    return A.BoolOp(op, tuple(flat), pos=getattr(operands[0], "pos", 0))


def parse_text(text: str) -> A.Query:
    """Parse EQL text into a :class:`Query` (syntax only; see ``verify`` for the rest)."""
    if not isinstance(text, str):
        raise EqlError(f"an EQL query must be text, not {type(text).__name__}")
    return Parser(text).statement()
