"""The EQL functions Elasticsearch documents (EQL function reference), with their signatures.

Every implementation takes already-evaluated scalar arguments (None is ``null``) and
returns a scalar or None. Null in gives null out, as each function's reference page says.
Arithmetic follows Java, as Elasticsearch does: integer division truncates toward zero
and ``%`` takes the sign of the dividend.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from detection.eql.values import parse_number, to_num, to_str

NUM, STR, ANY, BOOL = "number", "string", "any", "boolean"


@dataclass(frozen=True)
class Signature:
    name: str  # canonical spelling
    min_args: int
    max_args: int | None  # None: any number
    arg_types: tuple[str, ...]  # the last one repeats for variadic functions
    returns: str
    insensitive: bool = False  # accepts the ``~`` suffix
    impl: Callable[..., object] | None = None

    def arg_type(self, i: int) -> str:
        return self.arg_types[min(i, len(self.arg_types) - 1)]


# ---- arithmetic ---------------------------------------------------------------------------

def _nums(a: object, b: object) -> tuple[int | float, int | float] | None:
    x, y = to_num(a), to_num(b)
    if x is None or y is None:
        return None
    return x, y


def add(a: object, b: object) -> int | float | None:
    p = _nums(a, b)
    return None if p is None else p[0] + p[1]


def subtract(a: object, b: object) -> int | float | None:
    p = _nums(a, b)
    return None if p is None else p[0] - p[1]


def multiply(a: object, b: object) -> int | float | None:
    p = _nums(a, b)
    return None if p is None else p[0] * p[1]


def divide(a: object, b: object) -> int | float | None:
    p = _nums(a, b)
    if p is None or p[1] == 0:
        return None  # Elasticsearch rejects a zero divisor; no value is the honest result
    x, y = p
    if isinstance(x, int) and isinstance(y, int):
        q = abs(x) // abs(y)  # Java truncates toward zero: divide(4, 3) == 1, -7 / 2 == -3
        return q if (x >= 0) == (y >= 0) else -q
    return x / y


def modulo(a: object, b: object) -> int | float | None:
    p = _nums(a, b)
    if p is None or p[1] == 0:
        return None
    x, y = p
    if isinstance(x, int) and isinstance(y, int):
        r = abs(x) % abs(y)  # Java: the sign follows the dividend, modulo(-10, -6) == -4
        return -r if x < 0 else r
    return math.fmod(x, y)


# ---- strings ------------------------------------------------------------------------------

def _strs(*vals: object) -> list[str] | None:
    out = []
    for v in vals:
        s = to_str(v)
        if s is None:
            return None
        out.append(s)
    return out


def between(source: object, left: object, right: object, greedy: object = False,
            *, insensitive: bool = False) -> str | None:
    s = _strs(source, left, right)
    if s is None or greedy is None:
        return None
    src, lft, rgt = s
    hay = src.lower() if insensitive else src
    if insensitive:
        lft, rgt = lft.lower(), rgt.lower()
    i = hay.find(lft)
    if i < 0:
        return ""
    start = i + len(lft)
    end = hay.rfind(rgt, start) if greedy is True else hay.find(rgt, start)
    if end < 0:
        return ""
    return src[start:end]


def concat(*vals: object) -> str | None:
    s = _strs(*vals)
    return None if s is None else "".join(s)


def ends_with(source: object, sub: object, *, insensitive: bool = False) -> bool | None:
    s = _strs(source, sub)
    if s is None:
        return None
    if insensitive:
        return s[0].lower().endswith(s[1].lower())
    return s[0].endswith(s[1])


def starts_with(source: object, sub: object, *, insensitive: bool = False) -> bool | None:
    s = _strs(source, sub)
    if s is None:
        return None
    if insensitive:
        return s[0].lower().startswith(s[1].lower())
    return s[0].startswith(s[1])


def string_contains(source: object, sub: object, *, insensitive: bool = False) -> bool | None:
    s = _strs(source, sub)
    if s is None:
        return None
    if not s[1]:
        return False  # documented: stringContains(x, "") returns false, even for ""
    if insensitive:
        return s[1].lower() in s[0].lower()
    return s[1] in s[0]


def index_of(source: object, sub: object, start: object = 0, *, insensitive: bool = False) -> int | None:
    s = _strs(source, sub)
    if s is None or start is None:
        return None
    pos = to_num(start)
    if pos is None:
        return None
    pos = max(0, int(pos))  # negative offsets count as 0
    src, needle = s
    if pos > len(src):
        return None
    if insensitive:
        src, needle = src.lower(), needle.lower()
    i = src.find(needle, pos)
    return None if i < 0 else i


def length(source: object) -> int | None:
    s = to_str(source)
    return None if s is None else len(s)


def number(source: object, base: object = None) -> int | float | None:
    s = to_str(source)
    if s is None:
        return None
    t = s.strip()
    if not t:
        return None
    sign, body = (t[0], t[1:]) if t[0] in "+-" else ("", t)
    hexa = body[:2].lower() == "0x"
    if base is None and not hexa:
        return parse_number(t)
    radix = 16 if base is None else to_num(base)
    if not isinstance(radix, int) or not 2 <= radix <= 36:
        return None
    if hexa and radix == 16:
        body = body[2:]
    if not body or not body.isalnum() or not body.isascii():
        return None
    try:
        value = int(body, radix)
    except ValueError:
        return None
    return -value if sign == "-" else value


def string(value: object) -> str | None:
    return to_str(value)


def substring(source: object, start: object, end: object = None) -> str | None:
    s = to_str(source)
    if s is None:
        return None
    a = to_num(start)
    if a is None:
        return None
    if end is None:
        return s[int(a):]
    b = to_num(end)
    return None if b is None else s[int(a):int(b)]


# ---- networks -----------------------------------------------------------------------------

@lru_cache(maxsize=65536)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # Elasticsearch stores ::ffff:a.b.c.d as the IPv4 address
    return ip


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def cidr_matcher(networks: list) -> Callable[[object], bool | None]:
    """cidrMatch with its (constant) blocks bound; the address is the only runtime argument."""
    v4 = [n for n in networks if n.version == 4]
    v6 = [n for n in networks if n.version == 6]

    def match(address: object) -> bool | None:
        s = to_str(address)
        if s is None:
            return None
        ip = parse_ip(s)
        if ip is None:
            return False
        nets = v4 if ip.version == 4 else v6
        return any(ip in n for n in nets)
    return match


# ---- the registry -------------------------------------------------------------------------

SIGNATURES: dict[str, Signature] = {s.name.lower(): s for s in (
    Signature("add", 2, 2, (NUM, NUM), NUM, impl=add),
    Signature("between", 3, 4, (STR, STR, STR, BOOL), STR, insensitive=True, impl=between),
    Signature("cidrMatch", 2, None, (STR, STR), BOOL),
    Signature("concat", 1, None, (ANY,), STR, impl=concat),
    Signature("divide", 2, 2, (NUM, NUM), NUM, impl=divide),
    Signature("endsWith", 2, 2, (STR, STR), BOOL, insensitive=True, impl=ends_with),
    Signature("indexOf", 2, 3, (STR, STR, NUM), NUM, insensitive=True, impl=index_of),
    Signature("length", 1, 1, (STR,), NUM, impl=length),
    Signature("modulo", 2, 2, (NUM, NUM), NUM, impl=modulo),
    Signature("multiply", 2, 2, (NUM, NUM), NUM, impl=multiply),
    Signature("number", 1, 2, (STR, NUM), NUM, impl=number),
    Signature("startsWith", 2, 2, (STR, STR), BOOL, insensitive=True, impl=starts_with),
    Signature("string", 1, 1, (ANY,), STR, impl=string),
    Signature("stringContains", 2, 2, (STR, STR), BOOL, insensitive=True, impl=string_contains),
    Signature("substring", 2, 3, (STR, NUM, NUM), STR, impl=substring),
    Signature("subtract", 2, 2, (NUM, NUM), NUM, impl=subtract),
)}

# Names users bring from Endgame EQL or older Elasticsearch, with what to write instead.
REMOVED: dict[str, str] = {
    "wildcard": "the wildcard function was removed in Elasticsearch 8.0; use `like` / `like~` or `:`",
    "arraycontains": "array functions are not supported by Elasticsearch EQL; use `in` on the field",
    "arraycount": "array functions are not supported by Elasticsearch EQL",
    "arraysearch": "array functions are not supported by Elasticsearch EQL",
    "match": "the match function is not supported by Elasticsearch EQL; use `regex`",
    "matchlite": "the matchLite function is not supported by Elasticsearch EQL; use `regex`",
    "safe": "the safe function is not supported by Elasticsearch EQL",
}


def lookup(name: str) -> Signature | None:
    # Elasticsearch resolves function names case-insensitively.
    return SIGNATURES.get(name.lower())


OPERATORS: dict[str, Callable[[object, object], object]] = {
    "+": add, "-": subtract, "*": multiply, "/": divide, "%": modulo,
}
