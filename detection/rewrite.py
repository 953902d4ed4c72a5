"""Edit rule files in place without disturbing them: round-trip YAML (ruamel.yaml) and TOML (tomlkit).

Comments, key order, quoting and layout survive, and only the lines an edit touches change. Two
guards make that a promise rather than a hope: the file must reproduce itself byte for byte when
loaded and dumped unchanged (else nothing is written and the error says why), and the edited text
is parsed again with the project's safe loaders and must hold exactly the intended data. Writes
go to a temporary file in the same folder and replace the original atomically.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detection.atomic_write import write_atomic
from detection.diagnostics import DetectionError, Diagnostic, Location

CODE_LAYOUT = "G120"
CODE_VERIFY = "G122"
FOLD_WIDTH = 96  # where long prose in new history entries is folded onto the next line


@dataclass(frozen=True)
class SetValue:
    """Set the value at ``path`` (a tuple of keys and list indexes); a missing key is added after
    the key ``after`` when given and present, else at the end of its mapping."""

    path: tuple
    value: Any
    after: str | None = None


@dataclass(frozen=True)
class InsertItem:
    """Insert ``value`` at ``index`` of the list at ``path``, creating the list when absent."""

    path: tuple
    index: int
    value: Any


Edit = SetValue | InsertItem


def edit_text(text: str, fmt: str, edits: Sequence[Edit], shown: str = "<rule>") -> str:
    """The text with ``edits`` applied, everything else byte for byte as it was."""
    crlf = "\r\n" in text
    body = text.replace("\r\n", "\n") if crlf else text
    if fmt == "toml":
        edits = [_without_nulls(e) for e in edits]
        out = _edit_toml(body, edits, shown)
    else:
        out = _edit_yaml(body, edits, shown)
    return out.replace("\n", "\r\n") if crlf else out


def edit_file(path: Path, edits: Sequence[Edit], shown: str | None = None) -> str:
    """Apply ``edits`` to the rule file at ``path`` and write it atomically; returns the new text."""
    path = Path(path)
    shown = shown or str(path)
    text = path.read_bytes().decode("utf-8")
    fmt = "toml" if path.suffix == ".toml" else "yaml"
    new = edit_text(text, fmt, edits, shown)
    if new != text:
        write_atomic(path, new)
    return new


# -- the intended data, for the verification step ---------------------------------------------

def apply_to_data(document: Any, edits: Sequence[Edit]) -> Any:
    """``edits`` applied to plain data (what the edited file must load as)."""
    data = copy.deepcopy(document)
    for e in edits:
        parent = _walk_plain(data, e.path[:-1])
        key = e.path[-1]
        if isinstance(e, SetValue):
            parent[key] = copy.deepcopy(e.value)
        else:
            if key not in parent or parent[key] is None:
                parent[key] = []
            parent[key].insert(e.index, copy.deepcopy(e.value))
    return data


def _walk_plain(data: Any, path: tuple) -> Any:
    for step in path:
        data = data[step]
    return data


def _without_nulls(e: Edit) -> Edit:
    """TOML has no null: a mapping entry whose value is null is left out (see detection.history)."""
    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return type(e)(**{**e.__dict__, "value": strip(e.value)})


def _verify(new_text: str, fmt: str, expected: Any, shown: str) -> None:
    from detection.loader import parse_document  # the loader imports much; only needed here

    suffix = ".toml" if fmt == "toml" else ".yaml"
    try:
        data, _ = parse_document(new_text, Path("edited" + suffix), shown)
    except DetectionError as exc:
        raise DetectionError([Diagnostic(Location(shown, 0, 0), CODE_VERIFY,
                                         f"the edited file would not load ({exc.diagnostics[0].message}); nothing was written",
                                         hint="please report this with the rule file")]) from None
    if data != expected:
        raise DetectionError([Diagnostic(Location(shown, 0, 0), CODE_VERIFY,
                                         "the edited file would not hold the intended values; nothing was written",
                                         hint="please report this with the rule file")])


def _first_difference(a: str, b: str) -> int:
    for number, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), start=1):
        if x != y:
            return number
    return min(len(a.splitlines()), len(b.splitlines())) + 1


# -- YAML ---------------------------------------------------------------------------------------

def _yaml(mapping: int, sequence: int, offset: int) -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap; long lines stay long
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    # Round-trip mode writes null as an empty value; spell it out, it is what the history means.
    y.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _indent_candidates(text: str) -> list[tuple[int, int, int]]:
    """(mapping, sequence, dash offset) settings to try, the layout seen in ``text`` first."""
    guesses = [_guess_indent(text)]
    for mapping in (2, 4):
        for offset in (2, 0, mapping):
            guesses.append((mapping, offset + 2, offset))
    seen: list[tuple[int, int, int]] = []
    for g in guesses:
        if g not in seen and g[1] >= g[2] + 2:
            seen.append(g)
    return seen


def _guess_indent(text: str) -> tuple[int, int, int]:
    """The first nested mapping's indent and the first block list's dash offset, read from the
    text (a scan, not a parse: a wrong guess only costs one more candidate)."""
    mapping = offset = None
    parent_indent: int | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if parent_indent is not None and indent > parent_indent:
            if stripped.startswith("- ") or stripped == "-":
                offset = indent - parent_indent if offset is None else offset
            elif mapping is None:
                mapping = indent - parent_indent
        if mapping is not None and offset is not None:
            break
        parent_indent = indent if stripped.endswith(":") and not stripped.startswith("- ") else None
    mapping = mapping or 2
    offset = mapping if offset is None else offset
    return mapping, offset + 2, offset


def _load_yaml_rt(text: str, shown: str) -> tuple[Any, Any]:
    """A ruamel round-trip loader whose output reproduces ``text`` exactly, with the loaded data."""
    best_line = 1
    for indent in _indent_candidates(text):
        y = _yaml(*indent)
        data = y.load(text)
        out = io.StringIO()
        y.dump(data, out)
        if out.getvalue() == text:
            return y, data
        best_line = max(best_line, _first_difference(text, out.getvalue()))
    raise DetectionError([Diagnostic(
        Location(shown, best_line, 1), CODE_LAYOUT,
        "cannot edit this file without re-indenting other lines; nothing was written",
        hint="use one indentation style in the file (e.g. mappings by 2, list dashes indented by 2), "
             "or make this change by hand")])


def _edit_yaml(text: str, edits: Sequence[Edit], shown: str) -> str:
    from detection.loader import parse_document

    original, _ = parse_document(text, Path("original.yaml"), shown)
    expected = apply_to_data(original, edits)
    y, data = _load_yaml_rt(text, shown)
    # First with readable styles (folded prose, literal blocks); if a string does not survive
    # them exactly (odd spacing), again with every new string in double quotes.
    for quoted in (False, True):
        if quoted:
            data = y.load(text)
        for e in edits:
            _apply_yaml(data, e, quoted)
        out = io.StringIO()
        y.dump(data, out)
        try:
            _verify(out.getvalue(), "yaml", expected, shown)
            return out.getvalue()
        except DetectionError:
            if quoted:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _apply_yaml(root: Any, e: Edit, quoted: bool) -> None:
    parent = _walk_plain(root, e.path[:-1])
    key = e.path[-1]
    if isinstance(e, SetValue):
        node = _yaml_node(e.value, quoted)
        if isinstance(parent, list) or key in parent:
            parent[key] = _same_quoting(parent[key], node)
        elif e.after is not None and e.after in parent:
            parent.insert(list(parent).index(e.after) + 1, key, node)
        else:
            parent[key] = node
        return
    from ruamel.yaml.comments import CommentedSeq

    if key not in parent or parent[key] is None:
        parent[key] = CommentedSeq()
    parent[key].insert(e.index, _yaml_node(e.value, quoted))


def _same_quoting(old: Any, new: Any) -> Any:
    """A replacement string keeps the old value's quotes (``"2024/06/14"`` stays quoted)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if type(new) is str and isinstance(old, (DoubleQuotedScalarString, SingleQuotedScalarString)):
        return type(old)(new)
    return new


def _yaml_node(value: Any, quoted: bool) -> Any:
    """Plain data as ruamel nodes, styled for reading: short scalar lists in flow style, long prose
    folded, multi-line text as a literal block; ``quoted`` falls back to double quotes."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString

    if isinstance(value, Mapping):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _yaml_node(v, quoted)
        return out
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_yaml_node(v, quoted) for v in value)
        if all(isinstance(v, (str, int, float, bool)) for v in value) and len(", ".join(map(str, value))) <= 60:
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str):
        if quoted and ("\n" in value or len(value) > FOLD_WIDTH or value != value.strip()):
            return DoubleQuotedScalarString(value)
        if "\n" in value:
            return LiteralScalarString(value)
        if len(value) > FOLD_WIDTH:
            folded = FoldedScalarString(value)
            folded.fold_pos = _fold_positions(value)
            return folded
    return value


def _fold_positions(text: str) -> list[int]:
    """Spaces to fold at so lines stay near FOLD_WIDTH; only single spaces between words fold
    back to exactly one space when read."""
    positions: list[int] = []
    line_start = 0
    last_ok = -1
    for i, ch in enumerate(text):
        if ch == " " and 0 < i < len(text) - 1 and text[i - 1] != " " and text[i + 1] != " ":
            last_ok = i
        if i - line_start >= FOLD_WIDTH and last_ok > line_start:
            positions.append(last_ok)
            line_start = last_ok + 1
    return positions


# -- TOML ---------------------------------------------------------------------------------------

def _edit_toml(text: str, edits: Sequence[Edit], shown: str) -> str:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from detection.loader import parse_document

    original, _ = parse_document(text, Path("original.toml"), shown)
    expected = apply_to_data(original, edits)
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:  # tomllib accepted it, so this is a tomlkit limitation
        raise DetectionError([Diagnostic(Location(shown, 1, 1), CODE_LAYOUT, f"cannot edit this TOML file: {exc}",
                                         hint="make this change by hand")]) from None
    if doc.as_string() != text:
        raise DetectionError([Diagnostic(Location(shown, _first_difference(text, doc.as_string()), 1), CODE_LAYOUT,
                                         "cannot edit this file without rewriting other lines; nothing was written",
                                         hint="make this change by hand")])
    for e in edits:
        _apply_toml(doc, e)
    out = doc.as_string()
    if out.endswith("\n\n") and not text.endswith("\n\n"):
        out = out.rstrip("\n") + "\n"  # the blank line after a new last entry is not needed at the end
    _verify(out, "toml", expected, shown)
    return out


def _apply_toml(doc: Any, e: Edit) -> None:
    import tomlkit

    parent = _walk_plain(doc, e.path[:-1])
    key = e.path[-1]
    if isinstance(e, SetValue):
        parent[key] = _toml_item(e.value, top=False)
        return
    table = _toml_item(e.value, top=True)
    if key not in parent:
        if not parent.as_string().endswith("\n\n"):
            parent.add(tomlkit.nl())  # a blank line before the new [[history]]
        parent[key] = tomlkit.aot()
    parent[key].insert(e.index, table)


def _toml_item(value: Any, top: bool) -> Any:
    """Plain data as tomlkit items: a history entry becomes a table (with ``previous`` as a
    sub-table and a blank line after it), multi-line text a literal block."""
    import tomlkit
    from tomlkit.items import String, StringType, Trivia

    if isinstance(value, Mapping):
        table = tomlkit.table()
        for k, v in value.items():
            table[k] = _toml_item(v, top=False)
        if top:
            last = table
            if isinstance(value.get("previous"), Mapping) and value["previous"]:
                last = table["previous"]
            last.add(tomlkit.nl())
        return table
    if isinstance(value, str) and "\n" in value:
        literal_ok = "'''" not in value and all(c in "\n\t" or ord(c) >= 32 for c in value) and "\x7f" not in value
        if literal_ok:
            # the newline right after the opening quotes is dropped by TOML readers; it keeps the
            # text starting on its own line
            return String(StringType.MLL, value, "\n" + value, Trivia())
        return tomlkit.string(value, multiline=True)
    if isinstance(value, (list, tuple)):
        return _inline(value)
    return tomlkit.item(value)


def _inline(value: Any) -> Any:
    """Values inside arrays: inline tables and arrays all the way down (no sub-table headers)."""
    import tomlkit

    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _inline(v)
        return table
    if isinstance(value, (list, tuple)):
        array = tomlkit.array()
        for v in value:
            array.append(_inline(v))
        return array
    return tomlkit.item(value)
