"""Write a rule document as a readable YAML rule file that reads back to exactly the same data.

Layout: the tables ``metadata``, ``rule``, ``history`` in that order, rule keys in the order the
seed rules use (identity, query, scoring, schedule, prose, threat, then the rest alphabetically,
version last), block style throughout. Multi-line strings become literal blocks (``|``) and long
single-line strings folded blocks (``>-``), as the seed rule writes its query.

Rule files are read back with PyYAML (YAML 1.1), where ``yes``/``on``/``1_000`` are not strings, so
every string that YAML 1.1 would read as something else is quoted. The result is always read back
with the project's own loader and compared with the input; any value that does not survive is
written double-quoted instead (a form that always round-trips), and a document that still differs
raises ``ValueError``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from detection.diagnostics import DetectionError
from detection.yaml_safe import YamlProblem, load_yaml

WIDTH = 100
TOP_ORDER = ("metadata", "rule", "history")
METADATA_ORDER = ("creation_date", "updated_date", "deprecation_date", "maturity", "integration",
                  "min_stack_version", "min_stack_comments", "added_in_stack")
RULE_ORDER = ("rule_id", "name", "description", "type", "language", "index", "data_view_id", "query",
              "filters", "saved_id", "event_category_override", "tiebreaker_field", "timestamp_field",
              "threshold", "new_terms_fields", "history_window_start", "threat_query", "threat_index",
              "threat_mapping", "threat_filters", "threat_indicator_path", "threat_language",
              "anomaly_threshold", "machine_learning_job_id", "severity", "risk_score", "interval", "from",
              "to", "max_signals", "enabled", "author", "license", "tags", "false_positives", "references",
              "setup", "note", "threat")
RULE_LAST = ("version",)
HISTORY_ORDER = ("version", "date", "stack", "kind", "summary", "changed", "previous", "hash")
_RESOLVER = Resolver()


def _ordered_keys(mapping: Mapping[str, Any], order: Sequence[str], last: Sequence[str] = ()) -> list[str]:
    first = [k for k in order if k in mapping]
    tail = [k for k in last if k in mapping]
    rest = sorted(k for k in mapping if k not in first and k not in tail)
    return first + rest + tail


def _yaml11_plain_is_string(text: str) -> bool:
    """Would PyYAML read ``text`` written plain back as a string?"""
    return _RESOLVER.resolve(ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _block_safe(text: str) -> bool:
    """Can a block scalar hold ``text``? Not with control characters, odd line breaks or tab indents."""
    if any(line.startswith("\t") for line in text.split("\n")):
        return False
    return all(ch == "\n" or ch == "\t" or (ch.isprintable() and ch not in "\u2028\u2029\ufeff") for ch in text)


def _float_text(value: float) -> str:
    # YAML 1.1 floats need a dot before the exponent (1e-05 would read back as a string).
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
    elif "e" in text and text.split("e")[1][0] not in "+-":
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e+{exponent}"
    return text


class _Styler:
    def __init__(self, force_quoted: set[tuple] | None = None, quote_all: bool = False):
        self.force_quoted = force_quoted or set()
        self.quote_all = quote_all

    def string(self, text: str, path: tuple) -> Any:
        if self.quote_all or path in self.force_quoted:
            return DoubleQuotedScalarString(text)
        if "\n" in text and _block_safe(text):
            return LiteralScalarString(text)
        if (len(text) > WIDTH - 20 and " " in text and text == text.strip() and "  " not in text
                and _block_safe(text)):
            return FoldedScalarString(text)
        if not _yaml11_plain_is_string(text):
            return DoubleQuotedScalarString(text)
        return text

    def key(self, text: str) -> Any:
        if self.quote_all or not _yaml11_plain_is_string(text):
            return DoubleQuotedScalarString(text)
        return text

    def build(self, value: Any, path: tuple = ()) -> Any:
        if isinstance(value, Mapping):
            order: Sequence[str] = ()
            last: Sequence[str] = ()
            if path == ():
                order = TOP_ORDER
            elif path == ("metadata",):
                order = METADATA_ORDER
            elif path == ("rule",):
                order, last = RULE_ORDER, RULE_LAST
            elif len(path) == 2 and path[0] == "history":
                order = HISTORY_ORDER
            out = CommentedMap()
            for key in _ordered_keys(value, order, last):
                out[self.key(str(key))] = self.build(value[key], path + (key,))
            return out
        if isinstance(value, (list, tuple)):
            seq = CommentedSeq()
            for index, item in enumerate(value):
                seq.append(self.build(item, path + (index,)))
            return seq
        if isinstance(value, str):
            return self.string(value, path)
        return value


class _Representer(RoundTripRepresenter):
    """Our own subclass, so the float style does not leak into other users of ruamel."""


_Representer.add_representer(
    float, lambda rep, value: rep.represent_scalar("tag:yaml.org,2002:float", _float_text(value)))


def _yaml() -> YAML:
    yaml = YAML()
    yaml.Representer = _Representer
    yaml.width = WIDTH
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _differences(expected: Any, actual: Any, path: tuple = ()) -> list[tuple]:
    """Paths of string leaves that read back differently; () when the shapes themselves differ."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(map(str, expected)) != set(actual):
            return [()]
        out: list[tuple] = []
        for key, value in expected.items():
            out.extend(_differences(value, actual[str(key)], path + (key,)))
        return out
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [()]
        out = []
        for index, value in enumerate(expected):
            out.extend(_differences(value, actual[index], path + (index,)))
        return out
    if isinstance(expected, str):
        return [] if actual == expected and isinstance(actual, str) else [path]
    same = actual == expected and type(actual) is type(expected)
    return [] if same else [()]


def _separate_tables(text: str) -> str:
    """One blank line before each top-level table after the first (the layout `detection fmt` keeps)."""
    out: list[str] = []
    seen = False
    for line in text.split("\n"):
        if line and not line.startswith((" ", "#")):
            if seen:
                out.append("")
            seen = True
        out.append(line)
    return "\n".join(out)


def _canonical(text: str) -> str:
    """``text`` in `detection fmt`'s form, so written files pass `detection fmt --check`.

    ruamel wraps a scalar longer than the line (a long field name goes to the next line, a quoted
    string over two); the formatter keeps such scalars on one line. It verifies that the data is
    unchanged; should it refuse, the writer's own (still exact) text is kept.
    """
    from detection.formatting import format_text  # imported here: formatting builds on this module

    try:
        return format_text(text)[0]
    except DetectionError:
        return text


def dump_rule_document(document: Mapping[str, Any], header: str | None = None) -> str:
    """YAML text of a rule document that the project's loader reads back as ``document``."""
    force: set[tuple] = set()
    quote_all = False
    for _attempt in range(3):
        styler = _Styler(force, quote_all=quote_all)
        buffer = io.StringIO()
        if header:
            buffer.write("".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()))
        _yaml().dump(styler.build(document), buffer)
        text = _separate_tables(buffer.getvalue())
        try:
            data, _ = load_yaml(text)
        except YamlProblem:
            data = None
        wrong = _differences(document, data)
        if not wrong:
            return _canonical(text)
        if () in wrong or quote_all:
            quote_all = True  # a key or non-string value: quote every string and key
        else:
            force.update(wrong)
    raise ValueError("the rule cannot be written as YAML that reads back unchanged")
