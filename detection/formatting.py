"""Canonical formatting of YAML rule files: key order, indentation and string style.

The canonical form (``detection fmt`` writes it, ``detection fmt --check`` asks for it):

* **Key order.** Top level ``metadata``, ``rule``, ``history``; inside them the orders of
  ``detection.rule_writer`` (the writer ``detection import`` uses, so imported files are already
  canonical): metadata dates and maturity first; rule identity (``rule_id``, ``name``,
  ``description``, ``type``, ``language``, ``index``, ``query``), then type-specific fields,
  ``severity``, ``risk_score``, scheduling, prose, ``threat``, any other key alphabetically, and
  ``version`` last; history entries ``version, date, stack, kind, summary, changed, previous,
  hash``; ATT&CK entries ``framework, tactic, technique`` and ``id, name, reference,
  subtechnique``. A key moves together with the comment lines directly above it; blank lines stay
  where they were. ``previous`` keeps the order ``detection bump`` wrote.
* **Indentation.** Two spaces per mapping level, list dashes indented two spaces under their key.
* **Strings.** A one-line string that would run past column 100 becomes a folded block (``>-``)
  wrapped at word boundaries; a string with line breaks written in quotes becomes a literal block
  (``|``); quotes a plain scalar does not need are dropped (YAML 1.1 rules, as the loader reads
  the file, so ``"2012-10-17"``, ``"yes"`` and ``"1.10"`` keep theirs). Block scalars already
  in the file are left exactly as written: their line breaks are the author's layout of a query.
  Strings inside flow collections (``[a, b]``, ``{a: 1}``) are left as they are, and so is the
  choice between flow and block collections.
* Comments, the header and blank lines are kept. Line endings stay as they were (LF or CRLF).

TOML files are not rewritten: they come from elastic/detection-rules, whose own formatter owns
their layout, and reordering them would turn every upstream sync into a diff. ``format_file``
reports them as skipped.

Every rewrite is verified: the formatted text must load to exactly the same data, else nothing is
written and the finding says so (FMT104).
"""

from __future__ import annotations

import difflib
import functools
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.atomic_write import write_atomic
from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.loader import discover_rule_files, display, parse_document, read_text
from detection.rule_writer import (
    HISTORY_ORDER,
    METADATA_ORDER,
    RULE_LAST,
    RULE_ORDER,
    TOP_ORDER,
    _ordered_keys,  # the one definition of "listed keys first, the rest sorted, then the last ones"
    _yaml11_plain_is_string,
)

CODE_ORDER = "FMT101"  # keys out of canonical order
CODE_STYLE = "FMT102"  # a string written in a non-canonical style
CODE_LAYOUT = "FMT103"  # indentation, spacing or line breaks differ
CODE_UNSAFE = "FMT104"  # the file cannot be formatted without changing its data

WIDTH = 100
THREAT_ORDER = ("framework", "tactic", "technique")
REFERENCE_ORDER = ("id", "name", "reference", "subtechnique")


# --------------------------------------------------------------------------- key orders


# Mappings fmt orders and the lists leading to them, by path with list indexes written as "#".
_ORDERS: Mapping[tuple, tuple[Sequence[str], Sequence[str]]] = {
    (): (TOP_ORDER, ()),
    ("metadata",): (METADATA_ORDER, ()),
    ("rule",): (RULE_ORDER, RULE_LAST),
    ("history", "#"): (HISTORY_ORDER, ()),
    ("rule", "threat", "#"): (THREAT_ORDER, ()),
    ("rule", "threat", "#", "tactic"): (REFERENCE_ORDER, ()),
    ("rule", "threat", "#", "technique", "#"): (REFERENCE_ORDER, ()),
    ("rule", "threat", "#", "technique", "#", "subtechnique", "#"): (REFERENCE_ORDER, ()),
}
_LISTS = frozenset({("history",), ("rule", "threat"), ("rule", "threat", "#", "technique"),
                    ("rule", "threat", "#", "technique", "#", "subtechnique")})


def _pattern(path: tuple) -> tuple:
    return tuple("#" if isinstance(step, int) else step for step in path)


def key_order(path: tuple) -> tuple[Sequence[str], Sequence[str]] | None:
    """(keys first, keys last) for the mapping at ``path``; None for mappings fmt leaves alone."""
    return _ORDERS.get(_pattern(path))


def canonical_keys(path: tuple, keys: Iterable[str]) -> list[str]:
    keys = list(keys)
    order = key_order(path)
    if order is None or not all(isinstance(k, str) for k in keys):
        return keys
    return _ordered_keys(dict.fromkeys(keys), order[0], order[1])


def order_findings(document: Any, source: Any, shown: str, path: tuple = ()) -> list[Diagnostic]:
    """FMT101 for every mapping whose keys are out of canonical order (first misplaced key each)."""
    out: list[Diagnostic] = []
    if isinstance(document, Mapping):
        keys = [k for k in document if isinstance(k, str)]
        expected = canonical_keys(path, keys)
        for here, wanted in zip(keys, expected, strict=True):
            if here != wanted:
                line, column = source.key(path + (here,))
                out.append(Diagnostic(Location(shown, line, column), CODE_ORDER,
                                      f"keys out of canonical order (expected '{wanted}' before '{here}')",
                                      hint="run `detection fmt` on the file to reorder them"))
                break
        for key, value in document.items():
            out.extend(order_findings(value, source, shown, path + (key,)))
    elif isinstance(document, list):
        for i, item in enumerate(document):
            out.extend(order_findings(item, source, shown, path + (i,)))
    return out


# --------------------------------------------------------------------------- string styles


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap what is already there; new folded blocks carry their own breaks
    y.indent(mapping=2, sequence=4, offset=2)
    # Round-trip mode writes null as an empty value; spell it out as the files do.
    y.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _dump(y: Any, data: Any) -> str:
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def _block_safe(text: str) -> bool:
    """Can a block scalar hold ``text`` exactly? Not with tabs, trailing spaces or control characters."""
    if any(line != line.rstrip(" \t") or line.startswith((" ", "\t")) for line in text.split("\n")):
        return False
    return all(ch == "\n" or (ch.isprintable() and ch not in "\u2028\u2029\ufeff\x85") for ch in text)


def fold_positions(text: str, indent: int, width: int = WIDTH) -> list[int]:
    """Indexes of the spaces to fold ``text`` at so that its lines, indented by ``indent``, stay
    within ``width`` columns (a word longer than a line gets a line of its own)."""
    room = max(width - indent, 20)
    positions: list[int] = []
    line_start = 0
    last_space = -1
    for i, ch in enumerate(text):
        if ch == " ":
            if i - line_start > room and last_space > line_start:
                positions.append(last_space)
                line_start = last_space + 1
            last_space = i
    if len(text) - line_start > room and last_space > line_start:
        positions.append(last_space)
    return positions


def _foldable(text: str) -> bool:
    return " " in text and "  " not in text and text == text.strip() and _block_safe(text)


@dataclass
class _Styler:
    """Restyles the strings of a ruamel document in place and records why, by document path.
    ``mapping`` and ``sequence`` are the file's indentation steps (a list item's content starts
    ``sequence`` columns right of its key)."""

    mapping: int = 2
    sequence: int = 4
    findings: list[tuple[tuple, str]] = field(default_factory=list)

    def walk(self, node: Any, path: tuple, column: int) -> None:
        """``column``: where the keys of a mapping, or the items of a list, start (0-based)."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if isinstance(node, CommentedMap):
            if node.fa.flow_style():
                self._order_flow(node, path)
                return
            for key in list(node):
                value = node[key]
                if isinstance(value, str):
                    self._restyle_at(node, key, path + (key,), column + len(str(key)) + 2, column + self.mapping)
                else:
                    step = self.sequence if isinstance(value, CommentedSeq) else self.mapping
                    self.walk(value, path + (key,), column + step)
        elif isinstance(node, CommentedSeq):
            if node.fa.flow_style():
                return
            for i, value in enumerate(node):
                if isinstance(value, str):
                    self._restyle_at(node, i, path + (i,), column, column)
                else:
                    self.walk(value, path + (i,), column + (self.sequence - 2 if isinstance(value, CommentedSeq) else 0))

    def _order_flow(self, node: Any, path: tuple) -> None:
        """A flow mapping (``{id: ..., name: ...}``) holds no comments: reorder it in place."""
        keys = [k for k in node if isinstance(k, str)]
        if len(keys) == len(node) and canonical_keys(path, keys) != keys:
            for key in canonical_keys(path, keys):
                node.move_to_end(key)

    def _restyle_at(self, parent: Any, key: Any, path: tuple, column: int, block_indent: int) -> None:
        styled = self.restyle(parent[key], column, block_indent, path)
        if styled is not None:
            parent[key] = styled

    def restyle(self, value: str, column: int, block_indent: int, path: tuple) -> Any:
        """The canonical form of ``value`` when it differs from the current one, else None."""
        from ruamel.yaml.scalarstring import (
            DoubleQuotedScalarString,
            FoldedScalarString,
            LiteralScalarString,
            PlainScalarString,
            SingleQuotedScalarString,
        )

        if isinstance(value, (LiteralScalarString, FoldedScalarString)):
            return None
        quoted = isinstance(value, (SingleQuotedScalarString, DoubleQuotedScalarString))
        text = str(value)
        if "\n" in text:
            if quoted and _block_safe(text) and _survives(LiteralScalarString(text), text):
                self.findings.append((path, "a multi-line string in quotes; write it as a literal block (|)"))
                return LiteralScalarString(text)
            return None
        shown_length = len(text) + (2 if quoted else 0)
        if column + shown_length > WIDTH and _foldable(text):
            folded = FoldedScalarString(text)
            folded.fold_pos = fold_positions(text, block_indent)
            if _survives(folded, text):
                self.findings.append((path, f"a one-line string past column {WIDTH}; write it as a folded block (>-)"))
                return folded
        if quoted and _plain_ok(text):
            self.findings.append((path, "quotes that a plain scalar does not need"))
            return PlainScalarString(text)
        return None


def _survives(node: Any, text: str) -> bool:
    """Does ``node`` read back (with the project's YAML 1.1 loader) as exactly ``text``?"""
    from detection.yaml_safe import YamlProblem, load_yaml

    try:
        data, _ = load_yaml(_dump(_yaml(), {"k": node}))
    except YamlProblem:
        return False
    return isinstance(data, dict) and data.get("k") == text and isinstance(data.get("k"), str)


@functools.lru_cache(maxsize=4096)
def _plain_ok(text: str) -> bool:
    """Can ``text`` be written as a plain scalar that both ruamel (which writes it) and PyYAML
    (YAML 1.1, which reads rule files) take as this very string?"""
    if not text or text != text.strip() or not _yaml11_plain_is_string(text):
        return False
    from ruamel.yaml.emitter import Emitter
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    emitter = Emitter(None)
    # With no dumper the emitter is its own serializer; analyze_scalar asks it for the YAML version
    # (for a leading '?' or ':'), and 1.1 is how rule files are read.
    emitter.use_version = (1, 1)
    analysis = emitter.analyze_scalar(text)
    if not analysis.allow_block_plain or analysis.multiline:
        return False
    return VersionedResolver().resolve(ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


# --------------------------------------------------------------------------- key order, as text


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _is_blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Reorderer:
    """Puts the keys of block mappings in canonical order by moving whole lines: a key takes its
    value and the comment lines directly above it along; blank lines stay where they were and
    every line is kept byte for byte. Flow mappings are not touched here: the style pass orders
    them (they hold no comments to carry)."""

    def __init__(self, text: str, document: Any, source: Any):
        self.lines = text.splitlines(keepends=True)
        self.document = document
        self.source = source

    def render(self) -> str:
        if not isinstance(self.document, Mapping) or not self.document:
            return "".join(self.lines)
        return "".join(self._mapping((), 0, len(self.lines)))

    # positions, 0-based
    def _key_line(self, path: tuple) -> int:
        return self.source.keys[path][0] - 1

    def _value_line(self, path: tuple) -> int:
        return self.source.values[path][0] - 1

    def _value(self, path: tuple) -> Any:
        node = self.document
        for step in path:
            node = node[step]
        return node

    def _block_mapping(self, path: tuple) -> bool:
        """A non-empty block mapping: its value starts where its first key does (a flow one at ``{``)."""
        value = self._value(path)
        if not isinstance(value, Mapping) or not value:
            return False
        return self.source.values.get(path) == self.source.keys.get(path + (next(iter(value)),))

    def _mapping(self, path: tuple, begin: int, end: int) -> list[str]:
        """Lines ``begin:end`` holding the block mapping at ``path``, its keys in canonical order."""
        lines = self.lines
        keys = list(self._value(path))
        starts: list[int] = []
        for key in keys:
            start = self._key_line(path + (key,))
            floor = starts[-1] + 1 if starts else begin
            column = self.source.keys[path + (key,)][1] - 1
            if path or starts:  # the file's header comment stays on top
                # Comments right above the key, no deeper than it (deeper ones end the value before).
                while start - 1 >= floor and _is_comment(lines[start - 1]) and _indent(lines[start - 1]) <= column:
                    start -= 1
            starts.append(start)
        chunks: dict[str, list[str]] = {}
        tails: list[list[str]] = []
        for i, key in enumerate(keys):
            stop = starts[i + 1] if i + 1 < len(keys) else end
            column = self.source.keys[path + (key,)][1] - 1
            body_end = stop
            # Blank lines stay in their slot; after the last key, so do comments that belong to an
            # outer level (less indented than the keys).
            while body_end - 1 > self._key_line(path + (key,)) and (_is_blank(lines[body_end - 1]) or (
                    i + 1 == len(keys) and _is_comment(lines[body_end - 1]) and _indent(lines[body_end - 1]) < column)):
                body_end -= 1
            key_line = self._key_line(path + (key,))
            chunks[key] = lines[starts[i]:key_line] + self._entry(path + (key,), key_line, body_end)
            tails.append(lines[body_end:stop])
        if path == ():  # one blank line between the top-level tables, none at the end
            tails = [["\n"]] * (len(keys) - 1) + [[]]
        out = list(lines[begin:starts[0]])
        for slot, key in enumerate(canonical_keys(path, keys)):
            out.extend(chunks[key])
            out.extend(tails[slot])
        return out

    def _entry(self, path: tuple, key_line: int, end: int) -> list[str]:
        """A key's line and its value's lines, with the mappings inside put in order."""
        pattern = _pattern(path)
        if pattern in _ORDERS and self._block_mapping(path) and self._value_line(path) > key_line:
            return [self.lines[key_line]] + self._mapping(path, key_line + 1, end)
        if pattern in _LISTS and isinstance(self._value(path), list):
            return self._sequence(path, key_line, end)
        return self.lines[key_line:end]

    def _sequence(self, path: tuple, begin: int, end: int) -> list[str]:
        """Lines ``begin:end`` holding a key and its block list; each mapping item put in order."""
        items = self._value(path)
        firsts = [self._value_line(path + (i,)) for i in range(len(items))]
        if not firsts or firsts[0] <= begin:
            return self.lines[begin:end]  # a flow list on the key's line
        out = list(self.lines[begin:firsts[0]])
        for i, first in enumerate(firsts):
            stop = firsts[i + 1] if i + 1 < len(firsts) else end
            if self._block_mapping(path + (i,)):
                out.extend(self._item(path + (i,), first, stop))
            else:
                out.extend(self.lines[first:stop])
        return out

    def _item(self, path: tuple, begin: int, end: int) -> list[str]:
        """A block-mapping list item: the dash is lifted off, the keys ordered, the dash put back
        on the first key's line (a comment that moves first goes above it)."""
        first_key = path + (next(iter(self._value(path))),)
        dash = self.source.keys[first_key][1] - 3
        original = self.lines[begin]
        if dash < 0 or original[dash:dash + 2] != "- ":
            return self.lines[begin:end]
        self.lines[begin] = original[:dash] + "  " + original[dash + 2:]
        try:
            ordered = self._mapping(path, begin, end)
        finally:
            self.lines[begin] = original
        for n, line in enumerate(ordered):
            if not _is_comment(line) and not _is_blank(line):
                ordered[n] = line[:dash] + "- " + line[dash + 2:]
                break
        return ordered


# --------------------------------------------------------------------------- the whole file


@dataclass
class FormatResult:
    """One file: its text, its canonical text (None when skipped or not formattable) and findings."""

    path: Path
    shown: str
    original: str
    formatted: str | None
    findings: list[Diagnostic] = field(default_factory=list)
    skipped: str | None = None  # why the file was left alone

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.original

    @property
    def failed(self) -> bool:
        return self.formatted is None and self.skipped is None

    def diff(self) -> str:
        if not self.changed:
            return ""
        return "".join(difflib.unified_diff(self.original.splitlines(keepends=True),
                                            (self.formatted or "").splitlines(keepends=True),
                                            fromfile=f"a/{self.shown}", tofile=f"b/{self.shown}"))


def format_text(text: str, shown: str = "<rule>") -> tuple[str, list[Diagnostic]]:
    """The canonical form of a YAML rule file's text, and located reasons why ``text`` differs
    from it (empty when it does not). Raises DetectionError when the text does not load, or
    cannot be formatted without changing its data (FMT104)."""
    crlf = "\r\n" in text
    body = text.replace("\r\n", "\n") if crlf else text
    where = Path("rule.yaml")
    original, source = parse_document(body, where, shown)
    if not isinstance(original, Mapping):
        raise DetectionError([Diagnostic(Location(shown, 1, 1), CODE_UNSAFE, "not a rule file: the top level is not a mapping",
                                         hint="a rule file holds the tables metadata, rule and history")])
    from detection.rewrite import _load_yaml_rt  # the round-trip reader that keeps the file's own indentation

    reindented = False
    try:
        try:
            y, data = _load_yaml_rt(body, shown)
        except DetectionError:  # no indentation setting reproduces the file: use the canonical one
            y, reindented = _yaml(), True
            data = y.load(body)
    except Exception as exc:  # noqa: BLE001 - ruamel's errors have many classes; the loader accepted the file
        raise _unsafe(shown, 1, f"the round-trip YAML reader cannot read this file ({type(exc).__name__})") from None
    relaid = _dump(y, data) if reindented else body
    styler = _Styler(mapping=y.map_indent or 2, sequence=y.sequence_indent or 4)
    styler.walk(data, (), 0)
    styled = _dump(y, data) if styler.findings or reindented else body
    if reindented:
        styled = _realign_comments(styled, parse_document(styled, where, shown)[1], source)
    styled_doc, styled_source = parse_document(styled, where, shown)
    formatted = _Reorderer(styled, styled_doc, styled_source).render()
    final, final_source = parse_document(formatted, where, shown)
    if not _same(final, original):
        raise _unsafe(shown, 1, "formatting would change the file's data; nothing was written")
    left = order_findings(final, final_source, shown)
    if left:
        raise _unsafe(shown, left[0].location.line, "the keys cannot be put in canonical order automatically "
                      f"({left[0].message.split('(')[-1].rstrip(')')})")

    findings = order_findings(original, source, shown)
    for path, reason in styler.findings:
        line, column = source.value(path)
        findings.append(Diagnostic(Location(shown, line, column), CODE_STYLE, reason,
                                   hint="run `detection fmt` on the file to restyle it"))
    if reindented:
        findings.append(_layout_finding(body, relaid, shown))
    findings.extend(_spacing_findings(body, original, source, shown))
    if formatted != body and not findings:
        findings.append(_layout_finding(body, formatted, shown))
    findings.sort(key=lambda d: (d.location.line, d.location.column, d.code))
    return (formatted.replace("\n", "\r\n") if crlf else formatted), findings


def _realign_comments(text: str, source: Any, original: Any) -> str:
    """After re-indentation: ruamel keeps each comment's old column, so shift every comment block
    by as much as the key (or list item) right below it moved, keeping it with that key."""
    firsts: dict[int, tuple[int, tuple]] = {}
    for path, (line, column) in source.keys.items():
        if line not in firsts or column < firsts[line][0]:
            firsts[line] = (column, path)
    lines = text.splitlines(keepends=True)
    pending: list[int] = []
    for number, line in enumerate(lines):
        if _is_comment(line):
            pending.append(number)
            continue
        if _is_blank(line):
            continue
        target = firsts.get(number + 1)
        if pending and target is not None and target[1] in original.keys:
            shift = target[0] - original.keys[target[1]][1]
            for n in pending:
                indent = max(0, _indent(lines[n]) + shift)
                lines[n] = " " * indent + lines[n].lstrip(" ")
        pending = []
    return "".join(lines)


def _unsafe(shown: str, line: int, message: str) -> DetectionError:
    return DetectionError([Diagnostic(Location(shown, line, 1), CODE_UNSAFE, message,
                                      hint="format this file by hand (see `detection fmt --help` for the canonical form)")])


def _same(a: Any, b: Any) -> bool:
    """Equal data with equal types (``1`` is not ``True``, ``1.0`` is not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _spacing_findings(text: str, document: Mapping[str, Any], source: Any, shown: str) -> list[Diagnostic]:
    """FMT103 where the top-level tables are not separated by exactly one blank line."""
    lines = text.splitlines()
    out = []
    for key in list(document)[1:]:
        number = source.key((key,))[0] - 1
        while number > 0 and _is_comment(lines[number - 1]):
            number -= 1
        blanks = 0
        while number - blanks > 0 and _is_blank(lines[number - blanks - 1]):
            blanks += 1
        if blanks != 1:
            out.append(Diagnostic(Location(shown, number + 1, 1), CODE_LAYOUT,
                                  f"{blanks} blank lines before '{key}'; the top-level tables are separated by one",
                                  hint="run `detection fmt` on the file"))
    if text.endswith("\n\n"):
        out.append(Diagnostic(Location(shown, len(lines), 1), CODE_LAYOUT, "blank lines at the end of the file",
                              hint="run `detection fmt` on the file"))
    return out


def _layout_finding(before: str, after: str, shown: str) -> Diagnostic:
    old, new = before.splitlines(), after.splitlines()
    for number, (x, y) in enumerate(zip(old, new, strict=False), start=1):
        if x != y:
            what = "indentation" if x.strip() == y.strip() and _indent(x) != _indent(y) else "spacing or line breaks"
            if x.rstrip() == y.rstrip():
                what = "trailing whitespace"
            return Diagnostic(Location(shown, number, 1), CODE_LAYOUT, f"{what} differs from the canonical layout",
                              hint="run `detection fmt` on the file")
    number = min(len(old), len(new)) + 1
    return Diagnostic(Location(shown, number, 1), CODE_LAYOUT, "blank lines or the final newline differ from the "
                      "canonical layout", hint="run `detection fmt` on the file")


def format_file(path: Path | str, write: bool = False) -> FormatResult:
    """Format one rule file; with ``write`` the canonical text replaces it (atomically)."""
    path = Path(path)
    shown = display(path)
    try:
        text = read_text(path, shown)
    except DetectionError as exc:
        return FormatResult(path, shown, "", None, exc.diagnostics)
    if path.suffix == ".toml":
        return FormatResult(path, shown, text, None, skipped="TOML keeps the layout of its upstream formatter")
    try:
        if not _has_rule_table(text, shown):  # e.g. a fixture file passed by mistake
            return FormatResult(path, shown, text, None, skipped="not a rule file (no `rule` table)")
        formatted, findings = format_text(text, shown)
    except DetectionError as exc:
        return FormatResult(path, shown, text, None, exc.diagnostics)
    result = FormatResult(path, shown, text, formatted, findings)
    if write and result.changed:
        write_atomic(path, formatted)
    return result


def _has_rule_table(text: str, shown: str) -> bool:
    document, _ = parse_document(text.replace("\r\n", "\n"), Path("rule.yaml"), shown)
    return isinstance(document, Mapping) and isinstance(document.get("rule"), Mapping)


def format_paths(paths: Iterable[Path | str], write: bool = False) -> list[FormatResult]:
    """Every rule file under ``paths`` (files or folders), formatted (written with ``write``)."""
    return [format_file(p, write=write) for p in discover_rule_files([Path(p) for p in paths])]
