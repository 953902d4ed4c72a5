"""Split EQL text into tokens, each with its character offset.

Token shapes follow the Elasticsearch EQL grammar (EqlBase.g4) as documented in the
EQL syntax reference: identifiers ``[A-Za-z_@][A-Za-z0-9_]*``, backtick-quoted
identifiers with doubled backticks, double-quoted strings with escapes,
triple-quoted raw strings, ``//`` and ``/* */`` comments. Keywords are lower case.
"""

from __future__ import annotations

from dataclasses import dataclass

from detection.eql.errors import EqlError

KEYWORDS = frozenset({
    "and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null", "of",
    "or", "regex", "sample", "sequence", "true", "until", "where", "with",
})
# ``in~``, ``like~`` and ``regex~`` are single tokens: no space before the tilde.
TILDE_KEYWORDS = frozenset({"in", "like", "regex"})

# Longest first, so ``<=`` wins over ``<``.
SYMBOLS = ("![", "==", "!=", "<=", ">=", "<", ">", "=", ":", "+", "-", "*", "/", "%",
           ".", ",", "[", "]", "(", ")", "|", "?")

# The Elasticsearch docs list \n \r \t \\ \"; the grammar also accepts \b \f \'.
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "b": "\b", "f": "\f"}

MAX_LONG = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ident, qident, tident, keyword, string, int, decimal, symbol, eof
    value: object
    pos: int
    end: int
    raw: bool = False  # a triple-quoted string

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of query"
        if self.kind == "string":
            return "a string"
        if self.kind in ("int", "decimal"):
            return f"number {self.value}"
        return f"'{self.value}'"


def _is_ident_start(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_" or c == "@"


def _is_ident_char(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c == "_"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if text.startswith("/*", i):
            i = _skip_block_comment(text, i)
            continue
        if _is_ident_start(c):
            j = i + 1
            while j < n and _is_ident_char(text[j]):
                j += 1
            word = text[i:j]
            if j < n and text[j] == "~":
                if word in TILDE_KEYWORDS:
                    tokens.append(Token("keyword", word + "~", i, j + 1))
                else:
                    tokens.append(Token("tident", word, i, j + 1))
                i = j + 1
                continue
            kind = "keyword" if word in KEYWORDS else "ident"
            tokens.append(Token(kind, word, i, j))
            i = j
            continue
        if c == "`":
            tok = _quoted_identifier(text, i)
            tokens.append(tok)
            i = tok.end
            continue
        if c == '"':
            tok = _string(text, i)
            tokens.append(tok)
            i = tok.end
            continue
        if c == "'":
            raise EqlError("strings in single quotes are not supported", text, i,
                           hint='enclose strings in double quotes: "value"')
        if c == "?" and i + 1 < n and text[i + 1] in "\"'":
            raise EqlError("?\"...\" raw strings are not supported by Elasticsearch EQL", text, i,
                           hint='write raw strings in three double quotes: """C:\\path"""')
        if "0" <= c <= "9" or (c == "." and i + 1 < n and "0" <= text[i + 1] <= "9"
                               and not (tokens and tokens[-1].end == i
                                        and tokens[-1].kind in ("ident", "qident", "keyword"))):
            tok = _number(text, i)
            tokens.append(tok)
            i = tok.end
            continue
        for sym in SYMBOLS:
            if text.startswith(sym, i):
                tokens.append(Token("symbol", sym, i, i + len(sym)))
                i += len(sym)
                break
        else:
            shown = c if c.isprintable() else repr(c)
            raise EqlError(f"unexpected character '{shown}'", text, i)
    tokens.append(Token("eof", None, n, n))
    return tokens


def _skip_block_comment(text: str, i: int) -> int:
    # The grammar lets block comments nest.
    depth, j, n = 0, i, len(text)
    while j < n:
        if text.startswith("/*", j):
            depth += 1
            j += 2
        elif text.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    raise EqlError("unterminated comment", text, i, hint="close the comment with */")


def _quoted_identifier(text: str, i: int) -> Token:
    j, n, out = i + 1, len(text), []
    while j < n:
        if text[j] == "`":
            if j + 1 < n and text[j + 1] == "`":
                out.append("`")
                j += 2
                continue
            name = "".join(out)
            if not name:
                raise EqlError("empty field name", text, i)
            return Token("qident", name, i, j + 1)
        out.append(text[j])
        j += 1
    raise EqlError("unterminated backtick-quoted field name", text, i,
                   hint="close the name with a backtick; write `` for a literal backtick")


def _string(text: str, i: int) -> Token:
    n = len(text)
    if text.startswith('"""', i):
        j = text.find('"""', i + 3)
        if j < 0:
            raise EqlError("unterminated raw string", text, i, hint='close it with """')
        end = j + 3
        # The grammar lets up to two more quotes end the raw string: """a""""" is 'a""'.
        extra = 0
        while extra < 2 and end < n and text[end] == '"':
            end += 1
            extra += 1
        return Token("string", text[i + 3:j] + '"' * extra, i, end, raw=True)
    j, out = i + 1, []
    while j < n:
        c = text[j]
        if c == '"':
            return Token("string", "".join(out), i, j + 1)
        if c in "\r\n":
            break
        if c == "\\":
            if j + 1 >= n:
                break
            e = text[j + 1]
            if e in ESCAPES:
                out.append(ESCAPES[e])
                j += 2
                continue
            if e == "u":
                ch, j = _unicode_escape(text, j)
                out.append(ch)
                continue
            raise EqlError(f"unknown escape sequence '\\{e}'", text, j,
                           hint='escape a backslash as \\\\, or use a raw string """..."""')
        out.append(c)
        j += 1
    raise EqlError("unterminated string", text, i, hint="close the string with a double quote on the same line")


def _unicode_escape(text: str, j: int) -> tuple[str, int]:
    # \u{XXXX}: 2 to 8 hex digits, case-insensitive.
    if not text.startswith("\\u{", j):
        raise EqlError("malformed unicode escape", text, j, hint="write \\u{XXXX} with 2 to 8 hex digits")
    close = text.find("}", j + 3)
    digits = text[j + 3:close] if close >= 0 else ""
    if close < 0 or not 2 <= len(digits) <= 8 or any(d not in "0123456789abcdefABCDEF" for d in digits):
        raise EqlError("malformed unicode escape", text, j, hint="write \\u{XXXX} with 2 to 8 hex digits")
    code = int(digits, 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EqlError(f"invalid unicode code point {digits}", text, j)
    return chr(code), close + 1


def _number(text: str, i: int) -> Token:
    n, j = len(text), i
    while j < n and "0" <= text[j] <= "9":
        j += 1
    is_decimal = False
    if j < n and text[j] == ".":
        k = j + 1
        while k < n and "0" <= text[k] <= "9":
            k += 1
        # "1." is a decimal in the grammar; but "1.foo" is not a number followed by a field.
        if k > j + 1 or not (k < n and _is_ident_start(text[k])):
            is_decimal, j = True, k
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and "0" <= text[k] <= "9":
            while k < n and "0" <= text[k] <= "9":
                k += 1
            is_decimal, j = True, k
    raw = text[i:j]
    if is_decimal:
        value = float(raw)
        if value in (float("inf"), float("-inf")):
            raise EqlError(f"number {raw} is out of range", text, i)
        return Token("decimal", value, i, j)
    value = int(raw)
    if value > MAX_LONG:
        raise EqlError(f"number {raw} is too large", text, i, hint="integers must fit in a signed 64-bit long")
    return Token("int", value, i, j)
